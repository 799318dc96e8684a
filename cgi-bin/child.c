/* SPDX-License-Identifier: MIT */
/* child.c: a short task in a child process, its message read by a
 * deadline; the child is killed and reaped whatever it does */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "child.h"
#include "log.h"

/*
 * The parent only waits on a pipe. End of file is the child's exit, so
 * a message that fills buf is an error too: the child may still run.
 * _exit in the child flushes nothing of the parent's (FastCGI streams,
 * stdio).
 */
enum child_result
child_run(child_fn fn, void *arg, long long wait_ms, char *buf, size_t size,
    size_t *len, struct err *e)
{
	long long deadline = deadline_now_ms() + wait_ms;
	int fds[2] = {-1, -1}, rc = -1;
	enum child_result cr = CHILD_LOST;
	size_t got = 0;
	ssize_t n;
	pid_t pid = -1;
	bool ended = false;

	*len = 0;
	buf[0] = '\0';
	if (wait_ms <= 0)
		return CHILD_TIMEOUT;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		err_set(e, "pipe: %s", strerror(errno));
		cr = CHILD_UNSTARTED;
		goto out;
	}
	if ((pid = fork()) == -1) {
		err_set(e, "fork: %s", strerror(errno));
		cr = CHILD_UNSTARTED;
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		fn(arg, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	fds[1] = -1;
	while (got < size - 1 &&
	       (rc = deadline_poll(fds[0], POLLIN, deadline)) > 0) {
		n = read(fds[0], buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ended = n == 0;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	if (ended)
		cr = CHILD_DONE;
	else if (rc == 0)
		cr = CHILD_TIMEOUT;
	else if (got == size - 1)
		err_set(e, "its message is longer than %zu bytes", size - 1);
	else
		err_set(e, "waiting for its process: %s", strerror(errno));
	if (!ended && kill(pid, SIGKILL) == -1)
		log_warnx("kill of child process %ld: %s", (long)pid,
		    strerror(errno));
out:
	/* With SIGCHLD ignored the system reaps it: ECHILD, once it ended. */
	while (pid > 0 && waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return cr;
}
