/* SPDX-License-Identifier: MIT */
/* fuzz_body.c: request_parse_body and request_parse_revoke (the POST and
 * DELETE bodies) on arbitrary bytes */
#include "../../cgi-bin/request.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct body b;
	struct revoke r;
	struct err e = {{0}}, re = {{0}};

	if (size > BODY_MAX)
		return 0;
	request_parse_body((const char *)data, size, &b, &e);
	request_body_free(&b);
	request_parse_revoke((const char *)data, size, &r, &re);
	return 0;
}
