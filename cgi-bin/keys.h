/* SPDX-License-Identifier: MIT */
/* keys.h: RSA public keys from PEM text or a JWKS document, by kid */
#ifndef KEYS_H
#define KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define KEYS_FILE_MAX (256 * 1024) /* bytes in a PEM or JWKS file */
#define KEYS_MAX 16		   /* keys kept from one JWKS */
#define KEY_BITS_MIN 2048
#define KEYS_SHA256_LEN 32
#define KEYS_KID_MAX 256 /* bytes in a kid; a longer one names no key */

struct keyset;

struct key {
	char *kid;  /* NULL for a PEM key: it matches any kid */
	void *n;    /* BIGNUM *, owned: the modulus */
	void *e;    /* BIGNUM *, owned: the public exponent */
	void *mont; /* BN_MONT_CTX *, owned: n's Montgomery form, NULL
		     * until the first verification makes it (a FastCGI
		     * process checks many tokens with one key) */
};

/* Each returns a keyset the caller frees with keys_free, or NULL + e. */
struct keyset *keys_from_pem(const char *text, size_t len, struct err *e);
struct keyset *keys_from_jwks(const char *json, size_t len, struct err *e);

/*
 * The key for a token's kid (NULL: none in the header), borrowed from ks
 * for as long as ks lives; NULL when no key fits. Not const: verifying
 * with the key fills its Montgomery form.
 */
struct key *keys_find(struct keyset *ks, const char *kid);
void keys_free(struct keyset *ks);

/*
 * RS256: true when sig is k's RSASSA-PKCS1-v1_5 signature of the SHA-256
 * digest md; false with the reason in e otherwise. The first call with k
 * makes k->mont, which later ones reuse.
 */
bool keys_verify_sha256(struct key *k, const unsigned char md[KEYS_SHA256_LEN],
    const unsigned char *sig, size_t sig_len, struct err *e);

#endif
