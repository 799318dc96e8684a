/* SPDX-License-Identifier: MIT */
/* keyparse.c: profiling aid for bench/profile: one way of turning an RSA
 * public key into an EVP_PKEY, optionally followed by one RS256
 * (RSA PKCS#1 v1.5, SHA-256) verification with OpenSSL's EVP API, so
 * callgrind can count each way's instructions in a fresh process.
 *
 * Usage: keyparse METHOD KEY.der [INPUT SIGNATURE]
 *   init        OPENSSL_init_crypto only (the baseline)
 *   d2i_PUBKEY  SubjectPublicKeyInfo DER through d2i_PUBKEY (keys.c today)
 *   pem_write   d2i_PUBKEY, then PEM_write_bio_PUBKEY (keys.c's copy for libjwt)
 *   fromdata    n and e into EVP_PKEY_fromdata (as keys.c does for a JWK)
 * Exit 0 when the key parsed (and the signature verified). */
#define OPENSSL_SUPPRESS_DEPRECATED /* d2i_RSA_PUBKEY, to get at n and e */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define FILE_MAX 8192

static long
slurp(const char *path, unsigned char *buf)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	n = fread(buf, 1, FILE_MAX, f);
	fclose(f);
	return (long)n;
}

static EVP_PKEY *
from_n_e(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	RSA *rsa;
	const BIGNUM *n, *e;
	unsigned char nb[1024], eb[16];
	int nl, el;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((rsa = d2i_RSA_PUBKEY(NULL, &p, len)) == NULL)
		return NULL;
	RSA_get0_key(rsa, &n, &e, NULL);
	nl = BN_bn2nativepad(n, nb, BN_num_bytes(n));
	el = BN_bn2nativepad(e, eb, BN_num_bytes(e));
	params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, nb, (size_t)nl);
	params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, eb, (size_t)el);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	RSA_free(rsa);
	return pkey;
}

int
main(int argc, char *argv[])
{
	static unsigned char der[FILE_MAX], in[FILE_MAX], sig[FILE_MAX];
	const unsigned char *p = der;
	long dlen, ilen, slen;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	BIO *bio = NULL;
	int rc = 1;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: keyparse METHOD KEY.der [INPUT SIGNATURE]\n");
		return 2;
	}
	if ((dlen = slurp(argv[2], der)) <= 0)
		return 2;
	if (strcmp(argv[1], "init") == 0)
		return OPENSSL_init_crypto(0, NULL) == 1 ? 0 : 1;
	if (strcmp(argv[1], "d2i_PUBKEY") == 0 ||
	    strcmp(argv[1], "pem_write") == 0)
		pkey = d2i_PUBKEY(NULL, &p, dlen);
	else if (strcmp(argv[1], "fromdata") == 0)
		pkey = from_n_e(der, dlen);
	else
		return 2;
	if (pkey == NULL)
		goto out;
	if (strcmp(argv[1], "pem_write") == 0 &&
	    ((bio = BIO_new(BIO_s_mem())) == NULL ||
		PEM_write_bio_PUBKEY(bio, pkey) != 1))
		goto out;
	if (argc == 5) {
		if ((ilen = slurp(argv[3], in)) < 0 ||
		    (slen = slurp(argv[4], sig)) <= 0 ||
		    (md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
		    EVP_DigestVerify(md, sig, (size_t)slen, in, (size_t)ilen) != 1)
			goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}
