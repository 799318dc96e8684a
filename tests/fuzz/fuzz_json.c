/* SPDX-License-Identifier: MIT */
/* fuzz_json.c: the strict scanner against json-c on arbitrary bytes */
#include <stdlib.h>

#include "../../cgi-bin/jsonstrict.h"
#include "fuzz.h"

#define DEPTH 8

/*
 * What the scanner accepts, json-c must read (an object or array: json-c
 * cannot tell where a bare number at the end of the text ends), and a
 * text with bounded numbers is a strict text.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	bool strict, bounded;
	json_object *o;
	size_t i = 0;

	if (size > 65536)
		return 0;
	strict = json_valid(text, size, DEPTH, 0);
	bounded = json_valid(text, size, DEPTH, JSON_BOUNDED_NUMBERS);
	if (bounded && !strict)
		abort();
	while (i < size && (text[i] == ' ' || text[i] == '\t' ||
			       text[i] == '\n' || text[i] == '\r'))
		i++;
	if (!strict || (text[i] != '{' && text[i] != '['))
		return 0;
	if ((o = json_parse_strict(text, size, DEPTH)) == NULL)
		abort();
	json_object_put(o);
	return 0;
}
