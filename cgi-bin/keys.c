/* SPDX-License-Identifier: MIT */
/* keys.c: PEM text and JWKS documents to RSA public keys, and RS256 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * A key is its modulus and exponent as BIGNUMs, and a signature is
 * checked with BN_mod_exp_mont and a comparison: OpenSSL's EVP and RSA layers
 * would load its configuration and provider machinery on every CGI
 * request, and BIGNUM arithmetic needs neither (docs/performance.md).
 */
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "base64url.h"
#include "jsonstrict.h"
#include "keys.h"

#define JWKS_DEPTH_MAX 8
#define KEY_BITS_MAX 16384 /* bounds the work of one verification */
#define KEY_BYTES_MAX (KEY_BITS_MAX / 8)

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
		BN_free(ks->key[i].n);
		BN_free(ks->key[i].e);
		BN_MONT_CTX_free(ks->key[i].mont);
	}
	free(ks);
}

/*
 * Checks that the modulus n is odd and has KEY_BITS_MIN to KEY_BITS_MAX
 * bits, and that the public exponent is sane (odd, at least 3: e = 1
 * would make any "signature" valid), and appends the key to ks with a
 * copy of kid. Takes ownership of n and ex whatever happens.
 */
static bool
add_key(
    struct keyset *ks, BIGNUM *n, BIGNUM *ex, const char *kid, struct err *e)
{
	struct key k;
	bool ok = false;

	memset(&k, 0, sizeof(k));
	if (BN_num_bits(n) < KEY_BITS_MIN || BN_num_bits(n) > KEY_BITS_MAX) {
		err_set(e, "RSA key has %d bits, not %d to %d", BN_num_bits(n),
		    KEY_BITS_MIN, KEY_BITS_MAX);
		goto out;
	}
	if (!BN_is_odd(n)) {
		err_set(e, "RSA key has an even modulus");
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
		err_set(e, "out of memory");
		goto out;
	}
	k.n = n;
	k.e = ex;
	n = ex = NULL;
	ks->key[ks->n++] = k;
	memset(&k, 0, sizeof(k));
	ok = true;
out:
	free(k.kid);
	BN_free(n);
	BN_free(ex);
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
 * A DER INTEGER at *p that is positive and minimally encoded, as a
 * BIGNUM; NULL otherwise (or out of memory).
 */
static BIGNUM *
der_uint(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *c;
	size_t n;

	if (!der_take(p, end, 0x02, &c, &n) || n == 0 || n > INT_MAX ||
	    (c[0] & 0x80) != 0 || (n > 1 && c[0] == 0 && (c[1] & 0x80) == 0))
		return NULL;
	return BN_bin2bn(c, (int)n, NULL);
}

/*
 * SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL? },
 * BIT STRING { RSAPublicKey { modulus, publicExponent } } } to *n and
 * *ex; anything else is false.
 */
static bool
spki_to_rsa(const unsigned char *der, size_t len, BIGNUM **n, BIGNUM **ex)
{
	static const unsigned char rsa_oid[] = {
	    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
	const unsigned char *p = der, *end = der + len, *spki, *alg, *bits;
	const unsigned char *key;
	size_t spki_len, alg_len, bits_len, key_len;

	*n = *ex = NULL;
	if (!der_take(&p, end, 0x30, &spki, &spki_len) || p != end)
		return false;
	p = spki;
	end = spki + spki_len;
	if (!der_take(&p, end, 0x30, &alg, &alg_len) ||
	    !der_take(&p, end, 0x03, &bits, &bits_len) || p != end)
		return false;
	/* rsaEncryption, then nothing or NULL parameters. */
	if (alg_len < sizeof(rsa_oid) ||
	    memcmp(alg, rsa_oid, sizeof(rsa_oid)) != 0 ||
	    !(alg_len == sizeof(rsa_oid) ||
		(alg_len == sizeof(rsa_oid) + 2 &&
		    alg[sizeof(rsa_oid)] == 0x05 &&
		    alg[sizeof(rsa_oid) + 1] == 0x00)))
		return false;
	/* A BIT STRING of whole bytes holding one SEQUENCE, all of it. */
	if (bits_len < 2 || bits[0] != 0)
		return false;
	p = bits + 1;
	end = bits + bits_len;
	if (!der_take(&p, end, 0x30, &key, &key_len) || p != end)
		return false;
	p = key;
	end = key + key_len;
	if ((*n = der_uint(&p, end)) == NULL ||
	    (*ex = der_uint(&p, end)) == NULL || p != end) {
		BN_free(*n);
		BN_free(*ex);
		*n = *ex = NULL;
		return false;
	}
	return true;
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
	BIGNUM *mod = NULL, *ex = NULL;
	size_t n = 0;
	int dlen;
	bool ok;

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
	if (dlen <= 0 || !spki_to_rsa(der, (size_t)dlen, &mod, &ex)) {
		err_set(e, "PEM body is not an RSA public key");
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		err_set(e, "calloc failed");
		goto out;
	}
	ok = add_key(ks, mod, ex, NULL, e);
	mod = ex = NULL; /* owned by add_key */
	if (!ok)
		goto out;
	ret = ks;
	ks = NULL;
out:
	BN_free(mod);
	BN_free(ex);
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
	bn = len > 0 && len <= KEY_BYTES_MAX ? BN_bin2bn(bin, (int)len, NULL)
					     : NULL;
	free(bin);
	return bn;
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
	BIGNUM *mod, *ex;
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
		    (kid != NULL && strlen(kid) > KEYS_KID_MAX))
			continue;
		mod = jwk_bignum(jwk, "n");
		ex = jwk_bignum(jwk, "e");
		if (mod == NULL || ex == NULL) {
			err_set(e, "JWK n or e is missing or not base64url");
			BN_free(mod);
			BN_free(ex);
			goto out;
		}
		if (!add_key(ks, mod, ex, kid, e))
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

struct key *
keys_find(struct keyset *ks, const char *kid)
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

/* DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1): then the hash. */
static const unsigned char sha256_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
    0x20};

/*
 * RSASSA-PKCS1-v1_5 verification as RFC 8017 (8.2.2) describes it: the
 * signature, as long as the modulus and below it, raised to e mod n must
 * equal the encoding 00 01 FF..FF 00 DigestInfo hash built here. Nothing
 * of the recovered block is parsed, so no padding or ASN.1 trick can pass.
 * Only public values are involved: no constant-time concern.
 */
bool
keys_verify_sha256(struct key *k, const unsigned char md[KEYS_SHA256_LEN],
    const unsigned char *sig, size_t sig_len, struct err *e)
{
	unsigned char em[KEY_BYTES_MAX], want[KEY_BYTES_MAX];
	size_t klen = (size_t)BN_num_bytes(k->n), ps;
	BN_CTX *ctx = NULL;
	BN_MONT_CTX *mont;
	BIGNUM *s = NULL, *m = NULL;
	bool ok = false, ossl_failed = false;

	/* add_key saw to this; checked again, since the buffers depend on it.
	 */
	if (klen < KEY_BITS_MIN / 8 || klen > KEY_BYTES_MAX) {
		err_set(e, "RSA key of %zu bytes", klen);
		return false;
	}
	if (sig_len != klen) {
		err_set(e, "token signature is %zu bytes, the key's are %zu",
		    sig_len, klen);
		return false;
	}
	ps = klen - 3 - sizeof(sha256_info) - KEYS_SHA256_LEN;
	want[0] = 0x00;
	want[1] = 0x01;
	memset(want + 2, 0xff, ps);
	want[2 + ps] = 0x00;
	memcpy(want + 3 + ps, sha256_info, sizeof(sha256_info));
	memcpy(want + 3 + ps + sizeof(sha256_info), md, KEYS_SHA256_LEN);

	if ((ctx = BN_CTX_new()) == NULL || (m = BN_new()) == NULL ||
	    (s = BN_bin2bn(sig, (int)sig_len, NULL)) == NULL) {
		err_set(e, "out of memory checking the signature");
		ossl_failed = true;
		goto out;
	}
	if (BN_cmp(s, k->n) >= 0) {
		err_set(e, "token signature is not below the key's modulus");
		goto out;
	}
	/* The modulus's Montgomery form, made once per key: BN_mod_exp
	 * would make it again on every call (a division and a modular
	 * inverse), which a FastCGI process checking a new token on nearly
	 * every request would pay each time (docs/performance.md). */
	if ((mont = k->mont) == NULL) {
		if ((mont = BN_MONT_CTX_new()) == NULL ||
		    BN_MONT_CTX_set(mont, k->n, ctx) != 1) {
			BN_MONT_CTX_free(mont);
			err_set(e, "RSA arithmetic failed");
			ossl_failed = true;
			goto out;
		}
		k->mont = mont;
	}
	if (BN_mod_exp_mont(m, s, k->e, k->n, ctx, mont) != 1 ||
	    BN_bn2binpad(m, em, (int)klen) != (int)klen) {
		err_set(e, "RSA arithmetic failed");
		ossl_failed = true;
		goto out;
	}
	if (CRYPTO_memcmp(em, want, klen) != 0) {
		err_set(e, "token signature does not verify");
		goto out;
	}
	ok = true;
out:
	BN_free(m);
	BN_free(s);
	BN_CTX_free(ctx);
	/*
	 * Only after a failure: the first call sets up OpenSSL's error
	 * machinery, which a request that verifies need not pay for.
	 */
	if (ossl_failed)
		ERR_clear_error();
	return ok;
}
