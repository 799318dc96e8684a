/* SPDX-License-Identifier: MIT */
/* keys.c: PEM text and JWKS documents to RSA public keys (json-c, OpenSSL) */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * OpenSSL 3's EVP key decoders and key management go through its
 * provider machinery: about 5 M instructions to load one public key in a
 * process that does it once (docs/performance.md). The RSA structure and
 * the DER templates for RSAPublicKey do the same job directly; they are
 * "deprecated" in 3.0, not removed.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

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
		RSA_free(ks->key[i].rsa);
	}
	free(ks);
}

/*
 * Checks that rsa has at least KEY_BITS_MIN bits and a sane public
 * exponent (odd, at least 3: e = 1 would make any "signature" valid) and
 * appends it to ks with a copy of kid. Takes ownership of rsa whatever
 * happens.
 */
static bool
add_key(struct keyset *ks, RSA *rsa, const char *kid, struct err *e)
{
	const BIGNUM *n = NULL, *ex = NULL;
	struct key k;
	bool ok = false;

	memset(&k, 0, sizeof(k));
	RSA_get0_key(rsa, &n, &ex, NULL);
	if (n == NULL || ex == NULL || RSA_bits(rsa) < KEY_BITS_MIN) {
		err_set(e, "RSA key has %d bits, fewer than %d", RSA_bits(rsa),
		    KEY_BITS_MIN);
		goto out;
	}
	if (!BN_is_odd(ex) || BN_is_one(ex) || BN_num_bits(ex) > 32) {
		err_set(e, "RSA key has an unusable public exponent");
		goto out;
	}
	if (ks->n == KEYS_MAX) {
		err_set(e, "more than %d keys", KEYS_MAX);
		goto out;
	}
	if (kid != NULL && (k.kid = strdup(kid)) == NULL) {
		err_set(e, "strdup failed");
		goto out;
	}
	k.rsa = rsa;
	rsa = NULL;
	ks->key[ks->n++] = k;
	memset(&k, 0, sizeof(k));
	ok = true;
out:
	free(k.kid);
	RSA_free(rsa);
	return ok;
}

/*
 * One DER element at *p (bounded by end) with the given tag: its content
 * in *body and *blen, *p moved past it. Definite lengths of at most four
 * bytes only, as DER requires for anything this size.
 */
static bool
der_take(const unsigned char **p, const unsigned char *end, unsigned char tag,
    const unsigned char **body, size_t *blen)
{
	const unsigned char *q = *p;
	size_t len, i, nlen;

	if (end - q < 2 || q[0] != tag)
		return false;
	q++;
	if (*q < 0x80)
		len = *q++;
	else {
		nlen = *q++ & 0x7f;
		if (nlen == 0 || nlen > 4 || (size_t)(end - q) < nlen)
			return false;
		for (len = 0, i = 0; i < nlen; i++)
			len = (len << 8) | *q++;
	}
	if ((size_t)(end - q) < len)
		return false;
	*body = q;
	*blen = len;
	*p = q + len;
	return true;
}

/*
 * SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL? },
 * BIT STRING { RSAPublicKey } } to an RSA key; anything else is NULL.
 */
static RSA *
spki_to_rsa(const unsigned char *der, size_t len)
{
	static const unsigned char rsa_oid[] = {
	    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
	const unsigned char *p = der, *end = der + len, *spki, *alg, *bits;
	size_t spki_len, alg_len, bits_len;
	const unsigned char *kp;
	RSA *rsa;

	if (!der_take(&p, end, 0x30, &spki, &spki_len) || p != end)
		return NULL;
	p = spki;
	end = spki + spki_len;
	if (!der_take(&p, end, 0x30, &alg, &alg_len) ||
	    !der_take(&p, end, 0x03, &bits, &bits_len) || p != end)
		return NULL;
	/* rsaEncryption, then nothing or NULL parameters. */
	if (alg_len < sizeof(rsa_oid) ||
	    memcmp(alg, rsa_oid, sizeof(rsa_oid)) != 0 ||
	    !(alg_len == sizeof(rsa_oid) ||
		(alg_len == sizeof(rsa_oid) + 2 &&
		    alg[sizeof(rsa_oid)] == 0x05 &&
		    alg[sizeof(rsa_oid) + 1] == 0x00)))
		return NULL;
	/* A BIT STRING of whole bytes. */
	if (bits_len < 2 || bits[0] != 0 || bits_len - 1 > LONG_MAX)
		return NULL;
	kp = bits + 1;
	if ((rsa = d2i_RSAPublicKey(NULL, &kp, (long)(bits_len - 1))) == NULL)
		return NULL;
	if (kp != bits + bits_len) {
		RSA_free(rsa);
		return NULL;
	}
	return rsa;
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
	RSA *rsa = NULL;
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
	if (dlen <= 0 || (rsa = spki_to_rsa(der, (size_t)dlen)) == NULL) {
		err_set(e, "PEM body is not an RSA public key");
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		err_set(e, "calloc failed");
		goto out;
	}
	if (!add_key(ks, rsa, NULL, e)) {
		rsa = NULL;
		goto out;
	}
	rsa = NULL;
	ret = ks;
	ks = NULL;
out:
	RSA_free(rsa);
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

/* One JWK {kty:RSA, n, e} as an RSA key, or NULL with e set. */
static RSA *
jwk_to_rsa(json_object *jwk, struct err *e)
{
	BIGNUM *n = NULL, *ex = NULL;
	RSA *rsa = NULL;

	if ((n = jwk_bignum(jwk, "n")) == NULL ||
	    (ex = jwk_bignum(jwk, "e")) == NULL) {
		err_set(e, "JWK n or e is missing or not base64url");
		goto out;
	}
	if ((rsa = RSA_new()) == NULL || RSA_set0_key(rsa, n, ex, NULL) != 1) {
		err_set(e, "JWK is not a usable RSA key");
		RSA_free(rsa);
		rsa = NULL;
		goto out;
	}
	n = ex = NULL; /* owned by rsa now */
out:
	BN_free(n);
	BN_free(ex);
	return rsa;
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
	RSA *rsa;
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
		if ((rsa = jwk_to_rsa(jwk, e)) == NULL)
			goto out;
		if (!add_key(ks, rsa, kid, e))
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
