/* SPDX-License-Identifier: MIT */
/*
 * cgi-cost: what one CGI process costs, without a web server in the way.
 *
 *   cgi-cost N ENV-FILE BODY-FILE PROGRAM
 *
 * Runs PROGRAM N times, one after the other, each with the environment
 * in ENV-FILE (one NAME=VALUE a line, nothing else inherited), stdin
 * opened afresh on BODY-FILE and stdout on /dev/null, and prints one line:
 *
 *   wall_us user_us sys_us minflt failed
 *
 * per run: wall clock, the children's CPU (getrusage RUSAGE_CHILDREN),
 * minor page faults, and how many runs exited non-zero or on a signal.
 * bench/ab drives it; `perf stat -r` is no substitute, since it gives
 * every run the same stdin and only the first one reads the body.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 256
#define MAX_LINE 65536

static double
usec(struct timeval tv)
{
	return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

int
main(int argc, char **argv)
{
	static char line[MAX_LINE];
	char *envp[MAX_ENV + 1];
	struct timespec t0, t1;
	struct rusage ru;
	long n, i, failed = 0;
	size_t ne = 0;
	FILE *f;
	double wall;

	if (argc != 5 || (n = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: %s N ENV-FILE BODY-FILE PROGRAM\n", argv[0]);
		return 2;
	}
	if ((f = fopen(argv[2], "r")) == NULL) {
		fprintf(stderr, "cgi-cost: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (ne == MAX_ENV || (envp[ne++] = strdup(line)) == NULL) {
			fprintf(stderr, "cgi-cost: %s: too many lines\n", argv[2]);
			return 1;
		}
	}
	fclose(f);
	envp[ne] = NULL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("cgi-cost: fork");
			return 1;
		}
		if (pid == 0) {
			int in = open(argv[3], O_RDONLY);
			int out = open("/dev/null", O_WRONLY);

			if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
				_exit(126);
			execve(argv[4], argv + 4, envp);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_CHILDREN, &ru);
	wall = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	printf("%.0f %.0f %.0f %.1f %ld\n", wall / (double)n,
	    usec(ru.ru_utime) / (double)n, usec(ru.ru_stime) / (double)n,
	    (double)ru.ru_minflt / (double)n, failed);
	return 0;
}
