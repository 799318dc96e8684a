/* SPDX-License-Identifier: MIT */
/*
 * wycheproof.c: every RSASSA-PKCS1-v1_5 SHA-256 vector of Wycheproof's
 * rsa_signature_<bits>_sha256_test.json files through the program's key
 * loaders and its RS256 check, each group's key once as PEM
 * (keys_from_pem) and once as a one-key JWKS (keys_from_jwks).
 *
 * "valid" must verify and "invalid" must not. "acceptable" (Wycheproof
 * lets a verifier decide; here only MissingNull, a DigestInfo without the
 * NULL parameters) must not either: keys_verify_sha256 compares the whole
 * RFC 8017 EMSA-PKCS1-v1_5 encoding, NULL included.
 *
 * Usage: wycheproof [FILE.json...]; without FILEs, the four files in
 * $TOP_SRCDIR/tests/vectors/wycheproof/. Prints the counts per file and
 * key form and names every failing tcId; exits 1 on any failure.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "../cgi-bin/keys.h"

#define SIG_MAX 2048 /* bytes: 16384-bit keys */
#define MSG_MAX 4096

enum form { FORM_PEM, FORM_JWK, FORM_COUNT };
static const char *const form_name[FORM_COUNT] = {"PEM", "JWK"};

struct tally {
	int vectors;
	int valid_ok;	   /* valid, accepted */
	int invalid_ok;	   /* invalid, refused */
	int acceptable_ok; /* acceptable, refused */
	int failed;
};

static const char *
str(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Hex to bytes; -1 when malformed or longer than max. */
static long
unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t len = strlen(hex), i;
	unsigned int b;

	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return (long)(len / 2);
}

/* The group's key in the given form, or NULL (reason printed). */
static struct keyset *
group_keys(json_object *group, enum form f, const char *file)
{
	struct err e = {{0}};
	struct keyset *ks = NULL;
	json_object *jwk, *doc = NULL, *arr;
	const char *text;

	if (f == FORM_PEM) {
		text = str(group, "publicKeyPem");
		if (text == NULL)
			text = str(group, "keyPem");
		if (text != NULL)
			ks = keys_from_pem(text, strlen(text), &e);
	} else if (json_object_object_get_ex(group, "publicKeyJwk", &jwk) ||
		   json_object_object_get_ex(group, "keyJwk", &jwk)) {
		doc = json_object_new_object();
		arr = json_object_new_array();
		json_object_array_add(arr, json_object_get(jwk));
		json_object_object_add(doc, "keys", arr);
		text =
		    json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
		ks = keys_from_jwks(text, strlen(text), &e);
		json_object_put(doc);
	}
	if (ks == NULL)
		printf("# %s: a %s key did not load: %s\n", file, form_name[f],
		    e.msg[0] != '\0' ? e.msg : "no key in the group");
	return ks;
}

/* One vector: true when the program decided as the file expects. */
static bool
run_vector(struct key *k, json_object *t, struct tally *n,
    const char *file, enum form f)
{
	static unsigned char msg[MSG_MAX], sig[SIG_MAX];
	unsigned char md[KEYS_SHA256_LEN];
	struct err e = {{0}};
	const char *result = str(t, "result");
	const char *hmsg = str(t, "msg"), *hsig = str(t, "sig");
	int id = json_object_get_int(json_object_object_get(t, "tcId"));
	long mlen, slen;
	bool accepted = false, ok;

	n->vectors++;
	if (result == NULL || hmsg == NULL || hsig == NULL ||
	    (mlen = unhex(hmsg, msg, sizeof(msg))) < 0) {
		printf("# %s %s tcId %d: cannot read the vector\n", file,
		    form_name[f], id);
		n->failed++;
		return false;
	}
	SHA256(msg, (size_t)mlen, md);
	/* A signature longer than any key can only be refused. */
	slen = unhex(hsig, sig, sizeof(sig));
	if (k != NULL && slen >= 0)
		accepted = keys_verify_sha256(k, md, sig, (size_t)slen, &e);
	if (strcmp(result, "valid") == 0) {
		ok = accepted;
		n->valid_ok += ok;
	} else if (strcmp(result, "invalid") == 0) {
		ok = !accepted;
		n->invalid_ok += ok;
	} else if (strcmp(result, "acceptable") == 0) {
		ok = !accepted;
		n->acceptable_ok += ok;
	} else {
		ok = false;
	}
	if (!ok) {
		printf("# FAIL %s %s tcId %d: %s vector %s (%s)%s%s\n", file,
		    form_name[f], id, result, accepted ? "accepted" : "refused",
		    str(t, "comment"), e.msg[0] != '\0' ? ": " : "", e.msg);
		n->failed++;
	}
	return ok;
}

/* All vectors of one file in one key form; the number that failed. */
static int
run_file(json_object *root, const char *file, enum form f)
{
	struct tally n = {0};
	json_object *groups, *group, *tests;
	struct keyset *ks;
	size_t g, i;

	if (!json_object_object_get_ex(root, "testGroups", &groups) ||
	    !json_object_is_type(groups, json_type_array)) {
		printf("# %s: no testGroups\n", file);
		return 1;
	}
	for (g = 0; g < json_object_array_length(groups); g++) {
		group = json_object_array_get_idx(groups, g);
		if (!json_object_object_get_ex(group, "tests", &tests))
			continue;
		ks = group_keys(group, f, file);
		for (i = 0; i < json_object_array_length(tests); i++)
			run_vector(ks != NULL ? keys_find(ks, NULL) : NULL,
			    json_object_array_get_idx(tests, i), &n, file, f);
		keys_free(ks);
	}
	printf("%s, %s key: %d vectors: %d valid accepted, %d invalid "
	       "refused, %d acceptable refused, %d failed\n",
	    file, form_name[f], n.vectors, n.valid_ok, n.invalid_ok,
	    n.acceptable_ok, n.failed);
	return n.failed + (n.vectors == 0);
}

int
main(int argc, char **argv)
{
	static const char *const files[] = {
	    "rsa_signature_2048_sha256_test.json",
	    "rsa_signature_3072_sha256_test.json",
	    "rsa_signature_4096_sha256_test.json",
	    "rsa_signature_8192_sha256_test.json",
	};
	const char *top = getenv("TOP_SRCDIR");
	char path[4096];
	json_object *root;
	int failed = 0, count, i, total = 0;
	enum form f;

	count = argc > 1 ? argc - 1 : (int)(sizeof(files) / sizeof(files[0]));
	for (i = 0; i < count; i++) {
		if (argc > 1)
			snprintf(path, sizeof(path), "%s", argv[i + 1]);
		else
			snprintf(path, sizeof(path),
			    "%s/tests/vectors/wycheproof/%s",
			    top != NULL ? top : ".", files[i]);
		root = json_object_from_file(path);
		if (root == NULL) {
			printf("# cannot read %s: %s\n", path,
			    json_util_get_last_err());
			failed++;
			continue;
		}
		total += json_object_get_int(
		    json_object_object_get(root, "numberOfTests"));
		for (f = 0; f < FORM_COUNT; f++)
			failed += run_file(root,
			    strrchr(path, '/') != NULL ? strrchr(path, '/') + 1
						       : path,
			    f);
		json_object_put(root);
	}
	printf("%d vectors in %d files, each with both key forms: %s\n", total,
	    count, failed == 0 ? "all as expected" : "FAILURES above");
	return failed == 0 ? 0 : 1;
}
