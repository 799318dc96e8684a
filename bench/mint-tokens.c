/* SPDX-License-Identifier: MIT */
/*
 * mint-tokens.c: many Clerk-like RS256 session tokens for bench/run's
 * fresh-token mode, one per line, every line the same length.
 *
 *   mint-tokens KEY.pem FIRST COUNT USERS IAT EXP ISS AZP
 *
 * Token i (FIRST <= i < FIRST + COUNT) is for user
 * "bench_fresh_<i % USERS + 1, 6 digits>" with sid "sess_<i, 10 digits>",
 * so no two tokens are alike. The same claims as tests/helpers/tokens.bash
 * (sub, sid, iat, nbf = iat - 5, exp, iss, azp) and header (alg RS256,
 * typ JWT, kid kid-main). Signed with libcrypto's EVP interface, not the
 * program's code; the OpenSSL 3 command line signs one input per process
 * (milliseconds a token), too slow for 10^5 tokens. bench/run checks the
 * first and last line with `openssl dgst -verify`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

static size_t
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)in[i] << 16;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

int
main(int argc, char **argv)
{
	static const char header[] =
	    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\"}";
	char payload[512], input[2048], line[4096];
	unsigned char sig[1024];
	size_t hlen, plen, slen;
	long long first, count, users, iat, exp, i;
	EVP_PKEY *key;
	EVP_MD_CTX *md;
	FILE *f;
	int n;

	if (argc != 9) {
		fprintf(stderr, "usage: mint-tokens KEY.pem FIRST COUNT USERS "
				"IAT EXP ISS AZP\n");
		return 2;
	}
	first = atoll(argv[2]);
	count = atoll(argv[3]);
	users = atoll(argv[4]);
	iat = atoll(argv[5]);
	exp = atoll(argv[6]);
	if (first < 0 || count < 0 || users < 1 || users > 999999 ||
	    first + count > 9999999999LL || strlen(argv[7]) > 128 ||
	    strlen(argv[8]) > 128) {
		fprintf(stderr, "mint-tokens: argument out of range\n");
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL || (md = EVP_MD_CTX_new()) == NULL) {
		fprintf(stderr, "mint-tokens: cannot read %s\n", argv[1]);
		return 1;
	}
	hlen = b64url((const unsigned char *)header, sizeof(header) - 1, input);
	input[hlen++] = '.';
	for (i = first; i < first + count; i++) {
		n = snprintf(payload, sizeof(payload),
		    "{\"sub\":\"bench_fresh_%06lld\",\"sid\":\"sess_%010lld\","
		    "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
		    "\"iss\":\"%s\",\"azp\":\"%s\"}",
		    i % users + 1, i, iat, iat - 5, exp, argv[7], argv[8]);
		if (n < 0 || (size_t)n >= sizeof(payload))
			return 1;
		plen = hlen + b64url((unsigned char *)payload, (size_t)n,
				  input + hlen);
		slen = sizeof(sig);
		if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) !=
			1 ||
		    EVP_DigestSign(
			md, sig, &slen, (unsigned char *)input, plen) != 1) {
			fprintf(stderr, "mint-tokens: signing failed\n");
			return 1;
		}
		memcpy(line, input, plen);
		line[plen] = '.';
		b64url(sig, slen, line + plen + 1);
		if (puts(line) == EOF)
			return 1;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return fflush(stdout) == 0 ? 0 : 1;
}
