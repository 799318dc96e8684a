/* SPDX-License-Identifier: MIT */
/* uuid.c: random bytes from the kernel, and random (version 4) UUIDs */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "uuid.h"

/*
 * getrandom(2), or /dev/urandom where it is missing (kernels before
 * 3.17, or a seccomp filter that refuses it with ENOSYS).
 */
bool
uuid_random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd = -1;

	while (got < len) {
		if (fd < 0) {
			n = getrandom(buf + got, len - got, 0);
			if (n < 0 && errno == ENOSYS) {
				fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					return false;
				continue;
			}
		} else {
			n = read(fd, buf + got, len - got);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			if (fd >= 0)
				close(fd);
			return false;
		}
		got += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	return true;
}

/*
 * One system call for all n: the id and the token of a row a call may
 * create come together. Not libuuid, which seeds its fallback generator
 * with several system calls per UUID.
 */
bool
uuid_v4(char (*out)[UUID_TEXT_SIZE], size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16 * UUID_BATCH_MAX], *u;
	char *o;
	size_t i, k;

	if (n > UUID_BATCH_MAX) {
		errno = EINVAL;
		return false;
	}
	if (!uuid_random_bytes(r, 16 * n))
		return false;
	for (k = 0; k < n; k++) {
		u = r + 16 * k;
		u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
		u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 */
		o = out[k];
		for (i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				*o++ = '-';
			*o++ = hex[u[i] >> 4];
			*o++ = hex[u[i] & 0x0f];
		}
		*o = '\0';
	}
	return true;
}

bool
uuid_v4_text(const char *s)
{
	size_t i;

	if (strnlen(s, UUID_TEXT_SIZE) != UUID_TEXT_SIZE - 1)
		return false;
	for (i = 0; i < UUID_TEXT_SIZE - 1; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return false; /* no NUL in s[0..36): strnlen */
	}
	return s[14] == '4' && strchr("89abAB", s[19]) != NULL;
}
