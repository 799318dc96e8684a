/* SPDX-License-Identifier: MIT */
/* fuzz_jwks.c: keys_from_jwks and keys_from_pem on arbitrary bytes */
#include "../../cgi-bin/keys.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {{0}};
	struct keyset *ks;

	ks = keys_from_jwks((const char *)data, size, &e);
	if (ks != NULL)
		(void)keys_find(ks, "kid");
	keys_free(ks);
	ks = keys_from_pem((const char *)data, size, &e);
	keys_free(ks);
	return 0;
}
