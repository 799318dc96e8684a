/* SPDX-License-Identifier: MIT */
/* mint.h: RSA keys made per run and tokens signed with OpenSSL alone */
#ifndef MINT_H
#define MINT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

/* A 2048-bit RSA pair made for this run (no key file is kept). */
struct mint_key {
	EVP_PKEY *pkey;	  /* owned */
	char *pem;	  /* the public key as PEM text, owned */
	char *jwk;	  /* the public key as one JWK with its kid, owned */
	unsigned char *n; /* the modulus, big-endian, owned */
	size_t nlen;
};

bool mint_key_new(struct mint_key *, const char *kid);
void mint_key_free(struct mint_key *);

enum mint_sign {
	MINT_RS256, /* RSASSA-PKCS1-v1_5 with SHA-256 (the right one) */
	MINT_RS512, /* the same with SHA-512 */
	MINT_HS256, /* HMAC-SHA256 keyed with the public key's PEM text */
	MINT_NONE,  /* no signature at all */
};

/* data as unpadded base64url, malloc'd; NULL when memory runs out. */
char *mint_b64url(const void *data, size_t len);

/*
 * The signature of input[0..len) made the way how says with k, malloc'd
 * (*siglen bytes; NULL with *siglen 0 for MINT_NONE or on failure).
 */
unsigned char *mint_sign(const char *input, size_t len, enum mint_sign how,
    const struct mint_key *k, size_t *siglen);

/*
 * "B64(header).B64(payload).B64(sig)" over the exact bytes given, never
 * parsed or re-encoded, so any text can be signed; malloc'd, or NULL.
 */
char *mint_token(const char *header, size_t hlen, const char *payload,
    size_t plen, enum mint_sign how, const struct mint_key *k);

#endif
