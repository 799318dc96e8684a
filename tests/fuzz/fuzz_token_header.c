/* SPDX-License-Identifier: MIT */
/* fuzz_token_header.c: token_verify on arbitrary bytes (shape, header) */
#include <stdlib.h>
#include <string.h>

#include "../../cgi-bin/keys.h"
#include "../../cgi-bin/token.h"
#include "fuzz.h"

/* A fixed 2048-bit test key, so inputs reach the kid and signature steps. */
static const char pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz6AFw+essPB5Dm4cc+31\n"
    "0Zs7+p5NPIqSXHN6WG1efcNpz0JQm5FkPVysi9qTh821fu+0vM8k75i020GrB+1u\n"
    "Udebd+830NGlLJlil0y6LddXkIxHW6qFq33zEV2Dvqt3VKpF15CrDmo2nqwfMvLI\n"
    "HmCLPImWXUFUAH2CcCv4YzzXK8TRwNtt/+RoY4PPB74vnKrGHGT4h7en7dPYO045\n"
    "PN8pJY5I+sURefdf6gxG2KaLOZlDjjnCCZRpvw2yFskeXQ2kUiEQFxrCXzV73607\n"
    "Wfx5gjWLRco0RMVR0jeLTOmaYjdztFNejXU9JTwwAoHVNaUgWflz2DU5Hz7kRAa3\n"
    "vwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keyset *ks;
	struct token_rules rules;
	struct principal p;
	struct err e = {{0}};
	char *tok;

	if (ks == NULL && (ks = keys_from_pem(pem, strlen(pem), &e)) == NULL)
		abort();
	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	memset(&rules, 0, sizeof(rules));
	rules.keys = ks;
	rules.skew = 5;
	rules.now = 1700000000;
	if (token_verify(tok, &rules, &p, &e) == TOK_OK)
		abort(); /* nobody can sign for this key's private half */
	free(tok);
	return 0;
}
