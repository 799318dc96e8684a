/* SPDX-License-Identifier: MIT */
/* fuzz_config.c: the KEY=VALUE config file parser on arbitrary bytes */
#include <string.h>

#include "../../cgi-bin/config.h"
#include "fuzz.h"

static void
pair(const char *key, const char *value, void *arg)
{
	size_t *n = arg;

	*n += strlen(key) + strlen(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {{0}};
	size_t n = 0;

	config_parse_text((const char *)data, size, pair, &n, &e);
	return 0;
}
