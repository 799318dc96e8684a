/* SPDX-License-Identifier: MIT */
/* keys.c: PEM text and JWKS documents to RSA public keys (json-c, OpenSSL) */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base64url.h"
#include "jsonstrict.h"
#include "keys.h"

#define JWKS_DEPTH_MAX 8
#define KID_MAX 256

struct keyset {
	struct key key[KEYS_MAX];
	size_t n;
};

static const char pem_begin[] = "-----BEGIN PUBLIC KEY-----";
static const char pem_end[] = "-----END PUBLIC KEY-----";

void
keys_free(struct keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++) {
		free(ks->key[i].kid);
		free(ks->key[i].pem);
		EVP_PKEY_free(ks->key[i].pkey);
	}
	free(ks);
}

/*
 * Checks that pkey is an RSA key of at least KEY_BITS_MIN bits, renders it
 * as PEM and appends it to ks with a copy of kid. Takes ownership of pkey
 * whatever happens.
 */
static bool
add_key(struct keyset *ks, EVP_PKEY *pkey, const char *kid, struct err *e)
{
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	struct key k;
	bool ok = false;

	memset(&k, 0, sizeof(k));
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		err_set(e, "key is not an RSA key");
		goto out;
	}
	if (EVP_PKEY_get_bits(pkey) < KEY_BITS_MIN) {
		err_set(e, "RSA key has %d bits, fewer than %d",
		    EVP_PKEY_get_bits(pkey), KEY_BITS_MIN);
		goto out;
	}
	if (ks->n == KEYS_MAX) {
		err_set(e, "more than %d keys", KEYS_MAX);
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, pkey) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL) {
		err_set(e, "cannot render the key as PEM");
		goto out;
	}
	if ((k.pem = malloc(mem->length + 1)) == NULL) {
		err_set(e, "malloc failed");
		goto out;
	}
	memcpy(k.pem, mem->data, mem->length);
	k.pem[mem->length] = '\0';
	k.pem_len = mem->length;
	if (kid != NULL && (k.kid = strdup(kid)) == NULL) {
		err_set(e, "strdup failed");
		goto out;
	}
	k.pkey = pkey;
	pkey = NULL;
	ks->key[ks->n++] = k;
	memset(&k, 0, sizeof(k));
	ok = true;
out:
	free(k.pem);
	free(k.kid);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return ok;
}

/*
 * Accepts the PEM however its lines were folded (one line, "\n"s, CRLF,
 * or the base64 body alone, as Clerk's own SDKs do): strips the armour
 * and all blanks, decodes the DER and parses a SubjectPublicKeyInfo.
 */
struct keyset *
keys_from_pem(const char *text, size_t len, struct err *e)
{
	struct keyset *ks = NULL, *ret = NULL;
	const char *start = text, *end = text + len, *p;
	unsigned char *b64 = NULL, *der = NULL;
	const unsigned char *dp;
	EVP_PKEY *pkey = NULL;
	size_t n = 0;
	int dlen;

	if ((p = memmem(text, len, pem_begin, sizeof(pem_begin) - 1)) != NULL) {
		start = p + sizeof(pem_begin) - 1;
		if ((p = memmem(start, (size_t)(end - start), pem_end,
			 sizeof(pem_end) - 1)) == NULL) {
			err_set(e, "PEM has no END PUBLIC KEY line");
			goto out;
		}
		end = p;
	} else if (memmem(text, len, "-----BEGIN", 10) != NULL) {
		err_set(e, "not a PEM public key (BEGIN PUBLIC KEY expected)");
		goto out;
	}
	if ((b64 = malloc((size_t)(end - start) + 1)) == NULL ||
	    (der = malloc((size_t)(end - start) + 1)) == NULL) {
		err_set(e, "malloc failed");
		goto out;
	}
	for (p = start; p < end; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (p + 1 < end && p[0] == '\\' && p[1] == 'n') {
			p++;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '/' &&
		    *p != '=') {
			err_set(e, "PEM body has a non-base64 character");
			goto out;
		}
		b64[n++] = (unsigned char)*p;
	}
	if (n == 0 || n % 4 != 0) {
		err_set(e, "PEM body is empty or truncated");
		goto out;
	}
	if ((dlen = EVP_DecodeBlock(der, b64, (int)n)) < 0) {
		err_set(e, "PEM body is not base64");
		goto out;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	dlen -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
	dp = der;
	if ((pkey = d2i_PUBKEY(NULL, &dp, dlen)) == NULL || dp != der + dlen) {
		err_set(e, "PEM body is not a public key");
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		err_set(e, "calloc failed");
		goto out;
	}
	if (!add_key(ks, pkey, NULL, e)) {
		pkey = NULL;
		goto out;
	}
	pkey = NULL;
	ret = ks;
	ks = NULL;
out:
	EVP_PKEY_free(pkey);
	keys_free(ks);
	free(b64);
	free(der);
	return ret;
}

/* A member that must be a string if present; NULL when absent. */
static bool
opt_string(json_object *o, const char *name, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, name, &v))
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	*out = json_object_get_string(v);
	return true;
}

/* A base64url member as a BIGNUM, or NULL. */
static BIGNUM *
jwk_bignum(json_object *o, const char *name)
{
	const char *s;
	unsigned char *bin;
	size_t len;
	BIGNUM *bn;

	if (!opt_string(o, name, &s) || s == NULL)
		return NULL;
	if ((bin = base64url_decode(s, strlen(s), &len)) == NULL)
		return NULL;
	bn = len > 0 && len <= 2048 ? BN_bin2bn(bin, (int)len, NULL) : NULL;
	free(bin);
	return bn;
}

/* One JWK {kty:RSA, n, e} as an EVP_PKEY, or NULL with e set. */
static EVP_PKEY *
jwk_to_pkey(json_object *jwk, struct err *e)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *ex = NULL;

	if ((n = jwk_bignum(jwk, "n")) == NULL ||
	    (ex = jwk_bignum(jwk, "e")) == NULL) {
		err_set(e, "JWK n or e is missing or not base64url");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ex) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		err_set(e, "JWK is not a usable RSA key");
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(ex);
	return pkey;
}

/*
 * Keeps the JWKS's RSA signing keys (kty RSA; use absent or "sig"; alg
 * absent or RS256); other keys are skipped. No usable key is an error.
 */
struct keyset *
keys_from_jwks(const char *json, size_t len, struct err *e)
{
	json_object *doc = NULL, *arr, *jwk;
	struct keyset *ks = NULL, *ret = NULL;
	const char *kty, *use, *alg, *kid;
	EVP_PKEY *pkey;
	size_t i, count;

	if (len > KEYS_FILE_MAX || memchr(json, '\0', len) != NULL) {
		err_set(e, "JWKS is too large or has a NUL byte");
		goto out;
	}
	doc = json_parse_strict(json, len, JWKS_DEPTH_MAX);
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		err_set(e, "JWKS is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(doc, "keys", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		err_set(e, "JWKS has no \"keys\" array");
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		err_set(e, "calloc failed");
		goto out;
	}
	count = json_object_array_length(arr);
	for (i = 0; i < count; i++) {
		jwk = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(jwk, json_type_object) ||
		    !opt_string(jwk, "kty", &kty) ||
		    !opt_string(jwk, "use", &use) ||
		    !opt_string(jwk, "alg", &alg) ||
		    !opt_string(jwk, "kid", &kid))
			continue;
		if (kty == NULL || strcmp(kty, "RSA") != 0 ||
		    (use != NULL && strcmp(use, "sig") != 0) ||
		    (alg != NULL && strcmp(alg, "RS256") != 0) ||
		    (kid != NULL && strlen(kid) > KID_MAX))
			continue;
		if ((pkey = jwk_to_pkey(jwk, e)) == NULL)
			goto out;
		if (!add_key(ks, pkey, kid, e))
			goto out;
	}
	if (ks->n == 0) {
		err_set(e, "JWKS holds no RSA signing key");
		goto out;
	}
	ret = ks;
	ks = NULL;
out:
	keys_free(ks);
	json_object_put(doc);
	return ret;
}

const struct key *
keys_find(const struct keyset *ks, const char *kid)
{
	size_t i;

	if (ks == NULL || ks->n == 0)
		return NULL;
	/* A PEM key (no kid) verifies whatever kid the token names. */
	if (ks->n == 1 && ks->key[0].kid == NULL)
		return &ks->key[0];
	if (kid == NULL)
		return ks->n == 1 ? &ks->key[0] : NULL;
	for (i = 0; i < ks->n; i++)
		if (ks->key[i].kid != NULL && strcmp(ks->key[i].kid, kid) == 0)
			return &ks->key[i];
	return NULL;
}
