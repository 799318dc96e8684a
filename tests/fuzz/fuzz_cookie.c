/* SPDX-License-Identifier: MIT */
/* fuzz_cookie.c: credentials from arbitrary Cookie, Origin, Authorization */
#include <stdlib.h>
#include <string.h>

#include "../../cgi-bin/request.h"
#include "fuzz.h"

/* The input is split at the first two NUL bytes: cookie, origin, auth. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *parts[3] = {NULL, NULL, NULL};
	char *out[CREDENTIALS_MAX];
	int64_t uat[CREDENTIALS_MAX];
	char *parties[1] = {"https://app.example.com"};
	struct request req;
	struct err e = {{0}};
	size_t i, n = 0, used = 0;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i < 3 && used <= size; i++) {
		parts[i] = copy + used;
		used += strlen(copy + used) + 1;
	}
	memset(&req, 0, sizeof(req));
	req.cookie = parts[0];
	req.origin = parts[1] != NULL && *parts[1] != '\0' ? parts[1] : NULL;
	req.referer = parts[1];
	request_credentials(&req, parties, 1, out, uat, &n, &e);
	for (i = 0; i < n; i++)
		free(out[i]);
	req.authorization = parts[2];
	n = 0;
	request_credentials(&req, parties, 1, out, uat, &n, &e);
	for (i = 0; i < n; i++)
		free(out[i]);
	free(copy);
	return 0;
}
