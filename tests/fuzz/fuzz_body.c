/* SPDX-License-Identifier: MIT */
/* fuzz_body.c: request_parse_body on arbitrary bytes */
#include "../../cgi-bin/request.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct body b;
	struct err e = {{0}};

	if (size > BODY_MAX)
		return 0;
	request_parse_body((const char *)data, size, &b, &e);
	request_body_free(&b);
	return 0;
}
