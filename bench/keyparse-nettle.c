/* SPDX-License-Identifier: MIT */
/* keyparse-nettle.c: profiling aid for bench/profile, the counterpart of
 * keyparse.c with Nettle/hogweed instead of OpenSSL (libpq's own
 * dependencies already load them into the program): a SubjectPublicKeyInfo
 * DER into an RSA public key, then optionally one RS256 verification.
 *
 * Usage: keyparse-nettle KEY.der [INPUT SIGNATURE]
 * Exit 0 when the key parsed (and the signature verified). */
#include <stdio.h>
#include <stdlib.h>

#include <nettle/asn1.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>

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

int
main(int argc, char *argv[])
{
	static unsigned char der[FILE_MAX], in[FILE_MAX], sig[FILE_MAX];
	struct asn1_der_iterator it;
	struct rsa_public_key pub;
	struct sha256_ctx sha;
	long dlen, ilen, slen;
	mpz_t s;
	int rc = 1;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: keyparse-nettle KEY.der [INPUT SIGNATURE]\n");
		return 2;
	}
	if ((dlen = slurp(argv[1], der)) <= 0)
		return 2;
	rsa_public_key_init(&pub);
	/* SEQUENCE { AlgorithmIdentifier, BIT STRING { RSAPublicKey } } */
	if (asn1_der_iterator_first(&it, (size_t)dlen, der) !=
		ASN1_ITERATOR_CONSTRUCTED ||
	    asn1_der_decode_constructed_last(&it) != ASN1_ITERATOR_CONSTRUCTED ||
	    asn1_der_iterator_next(&it) != ASN1_ITERATOR_PRIMITIVE ||
	    it.type != ASN1_BITSTRING ||
	    asn1_der_decode_bitstring_last(&it) != ASN1_ITERATOR_CONSTRUCTED ||
	    !rsa_public_key_from_der_iterator(&pub, 0, &it))
		goto out;
	if (argc == 4) {
		if ((ilen = slurp(argv[2], in)) < 0 ||
		    (slen = slurp(argv[3], sig)) <= 0)
			goto out;
		sha256_init(&sha);
		sha256_update(&sha, (size_t)ilen, in);
		nettle_mpz_init_set_str_256_u(s, (size_t)slen, sig);
		rc = rsa_sha256_verify(&pub, &sha, s) ? 0 : 1;
		mpz_clear(s);
		goto out;
	}
	rc = 0;
out:
	rsa_public_key_clear(&pub);
	return rc;
}
