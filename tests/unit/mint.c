/* SPDX-License-Identifier: MIT */
/*
 * mint.c: test keys and tokens made with OpenSSL only, never with the
 * program's own base64url or key code, so a shared bug cannot hide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mint.h"

#define KEY_BITS 2048

char *
mint_b64url(const void *data, size_t len)
{
	unsigned char *out;
	size_t i, n;

	/* EVP_EncodeBlock writes 4 bytes per 3 and a NUL. */
	if ((out = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return NULL;
	n = (size_t)EVP_EncodeBlock(out, data, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return (char *)out;
}

/* The public key as PEM text, malloc'd, or NULL. */
static char *
public_pem(EVP_PKEY *pkey)
{
	BIO *bio = NULL;
	char *data, *out = NULL;
	long len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, pkey) != 1)
		goto out;
	if ((len = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (out = malloc((size_t)len + 1)) == NULL)
		goto out;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
out:
	BIO_free(bio);
	return out;
}

/* One RSA parameter (n or e) big-endian, malloc'd (*len bytes), or NULL. */
static unsigned char *
rsa_param(EVP_PKEY *pkey, const char *name, size_t *len)
{
	BIGNUM *bn = NULL;
	unsigned char *out = NULL;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return NULL;
	*len = (size_t)BN_num_bytes(bn);
	if ((out = malloc(*len > 0 ? *len : 1)) != NULL)
		BN_bn2bin(bn, out);
	BN_free(bn);
	return out;
}

bool
mint_key_new(struct mint_key *k, const char *kid)
{
	unsigned char *e = NULL;
	char *n64 = NULL, *e64 = NULL;
	size_t elen = 0, len;
	bool ok = false;

	memset(k, 0, sizeof(*k));
	if ((k->pkey = EVP_RSA_gen(KEY_BITS)) == NULL ||
	    (k->pem = public_pem(k->pkey)) == NULL ||
	    (k->n = rsa_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &k->nlen)) ==
		NULL ||
	    (e = rsa_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &elen)) == NULL ||
	    (n64 = mint_b64url(k->n, k->nlen)) == NULL ||
	    (e64 = mint_b64url(e, elen)) == NULL)
		goto out;
	len = strlen(kid) + strlen(n64) + strlen(e64) + 80;
	if ((k->jwk = malloc(len)) == NULL)
		goto out;
	snprintf(k->jwk, len,
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\","
	    "\"n\":\"%s\",\"e\":\"%s\"}",
	    kid, n64, e64);
	ok = true;
out:
	free(e);
	free(n64);
	free(e64);
	if (!ok)
		mint_key_free(k);
	return ok;
}

void
mint_key_free(struct mint_key *k)
{
	EVP_PKEY_free(k->pkey);
	free(k->pem);
	free(k->jwk);
	free(k->n);
	memset(k, 0, sizeof(*k));
}

unsigned char *
mint_sign(const char *input, size_t len, enum mint_sign how,
    const struct mint_key *k, size_t *siglen)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	unsigned int hlen;
	size_t n = 0;

	*siglen = 0;
	switch (how) {
	case MINT_NONE:
		return NULL;
	case MINT_HS256:
		if ((sig = malloc(EVP_MAX_MD_SIZE)) == NULL ||
		    HMAC(EVP_sha256(), k->pem, (int)strlen(k->pem),
			(const unsigned char *)input, len, sig,
			&hlen) == NULL) {
			free(sig);
			return NULL;
		}
		*siglen = hlen;
		return sig;
	case MINT_RS256:
	case MINT_RS512:
		break;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL,
		how == MINT_RS512 ? EVP_sha512() : EVP_sha256(), NULL,
		k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)input, len) !=
		1 ||
	    (sig = malloc(n)) == NULL ||
	    EVP_DigestSign(ctx, sig, &n, (const unsigned char *)input, len) !=
		1) {
		free(sig);
		sig = NULL;
		n = 0;
	}
	EVP_MD_CTX_free(ctx);
	*siglen = n;
	return sig;
}

char *
mint_token(const char *header, size_t hlen, const char *payload, size_t plen,
    enum mint_sign how, const struct mint_key *k)
{
	char *h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL, *out = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0, len;

	if ((h64 = mint_b64url(header, hlen)) == NULL ||
	    (p64 = mint_b64url(payload, plen)) == NULL)
		goto out;
	len = strlen(h64) + 1 + strlen(p64) + 1;
	if ((input = malloc(len)) == NULL)
		goto out;
	snprintf(input, len, "%s.%s", h64, p64);
	sig = mint_sign(input, strlen(input), how, k, &siglen);
	if (how != MINT_NONE && sig == NULL)
		goto out;
	if ((s64 = mint_b64url(sig, siglen)) == NULL)
		goto out;
	len = strlen(input) + 1 + strlen(s64) + 1;
	if ((out = malloc(len)) != NULL)
		snprintf(out, len, "%s.%s", input, s64);
out:
	free(h64);
	free(p64);
	free(s64);
	free(input);
	free(sig);
	return out;
}
