/* SPDX-License-Identifier: MIT */
/* fetch.c: one bounded HTTPS GET with libcurl, loaded only when needed */
/*
 * The only file that knows libcurl. A dynamic build (FETCH_DLOPEN, the
 * default) is compiled against its headers but not linked with it: a CGI
 * process whose keys are fresh never fetches, and a plain link would make
 * the loader map libcurl and its dozen libraries on every request
 * (docs/performance.md). A static build links it (--with-libcurl=link),
 * which costs nothing at start.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#ifdef FETCH_DLOPEN
#include <dlfcn.h>
#endif

#include <curl/curl.h>

#include "deadline.h"
#include "fetch.h"

#ifndef CURL_SONAME
#define CURL_SONAME "libcurl.so.4"
#endif

#define AUTHORITY_MAX 262 /* a DNS name (253) and ":65535" */
#define FETCH_AGENT "chatkit-session/" PACKAGE_VERSION_STR

#ifdef PACKAGE_VERSION
#define PACKAGE_VERSION_STR PACKAGE_VERSION
#else
#define PACKAGE_VERSION_STR "0"
#endif

/*
 * Where Linux distributions keep a CA bundle: Debian, Ubuntu, Alpine,
 * Arch, Gentoo; RHEL, CentOS, AlmaLinux, CloudLinux, Fedora; openSUSE;
 * older RHEL and CentOS.
 */
#ifdef CK_PORTABLE
static const char *const ca_paths[] = {
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
    NULL,
};
#endif

/* The libcurl calls used, resolved once (by dlsym or by the linker). */
struct curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
};

static struct curl_api api;
static bool api_ready;

/*
 * A portable build carries no CA store: unless SSL_CERT_FILE is set,
 * points it at the first of ca_paths that exists, so OpenSSL's default
 * paths (which libcurl uses when CHATKIT_CA_FILE is unset) find one on
 * any host. Does nothing in a dynamic build.
 */
static void
ca_default(void)
{
#ifdef CK_PORTABLE
	size_t i;

	if (getenv("SSL_CERT_FILE") != NULL)
		return;
	for (i = 0; ca_paths[i] != NULL; i++)
		if (access(ca_paths[i], R_OK) == 0) {
			setenv("SSL_CERT_FILE", ca_paths[i], 0);
			return;
		}
#endif
}

/*
 * Resolves the calls and initialises libcurl once per process; the
 * library stays loaded for the process's life (a FastCGI process fetches
 * again later). False with the reason in e.
 */
static bool
api_load(struct err *e)
{
#ifdef FETCH_DLOPEN
	void *h;
#endif

	if (api_ready)
		return true;
	ca_default();
#ifdef FETCH_DLOPEN
	if ((h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		err_set(e, "cannot load %s (install libcurl4): %s", CURL_SONAME,
		    dlerror());
		return false;
	}
#define SYM(field, name)                                                       \
	do {                                                                   \
		if ((*(void **)&api.field = dlsym(h, name)) == NULL) {         \
			err_set(e, "%s has no %s", CURL_SONAME, name);         \
			return false;                                          \
		}                                                              \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_strerror, "curl_easy_strerror");
#undef SYM
#else
	api.global_init = curl_global_init;
	api.easy_init = curl_easy_init;
	api.easy_setopt = curl_easy_setopt;
	api.easy_perform = curl_easy_perform;
	api.easy_getinfo = curl_easy_getinfo;
	api.easy_cleanup = curl_easy_cleanup;
	api.easy_strerror = curl_easy_strerror;
#endif
	if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(e, "curl_global_init failed");
		return false;
	}
	api_ready = true;
	return true;
}

/*
 * The authority of an https:// URL, lowercased, with a ":443" dropped,
 * into out. False when url is not https://, names no host, carries user
 * information or does not fit.
 */
static bool
url_authority(const char *url, char *out, size_t outsz)
{
	const char *p, *end;
	size_t n, i;

	if (strncasecmp(url, "https://", 8) != 0)
		return false;
	p = url + 8;
	end = p + strcspn(p, "/?#");
	n = (size_t)(end - p);
	if (n == 0 || n >= outsz || memchr(p, '@', n) != NULL || p[0] == ':')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= ' ' || c >= 0x7f || c == '\\')
			return false;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	if (n > 4 && strcmp(out + n - 4, ":443") == 0)
		out[n - 4] = '\0';
	return true;
}

bool
fetch_url_ok(const char *url)
{
	char auth[AUTHORITY_MAX + 1];

	return url_authority(url, auth, sizeof(auth));
}

struct sink {
	char *p;      /* FETCH_BODY_MAX + 1 bytes */
	size_t len;   /* bytes kept */
	bool too_big; /* the body went over FETCH_BODY_MAX */
};

/* libcurl's write callback: keeps at most FETCH_BODY_MAX bytes. */
static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (n > FETCH_BODY_MAX - s->len) {
		s->too_big = true;
		return 0; /* anything but n aborts the transfer */
	}
	memcpy(s->p + s->len, ptr, n);
	s->len += n;
	return n;
}

/* The options every hop shares; false with e set if libcurl refused one. */
static bool
set_common(
    CURL *c, const char *ca_file, struct sink *s, char *errbuf, struct err *e)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (rc == CURLE_OK)                                            \
			rc = api.easy_setopt(c, opt, val);                     \
	} while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_FOLLOWLOCATION, 0L); /* redirects are checked here */
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "https");
#else
	SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL) {
		/* CHATKIT_CA_FILE replaces the system store, not adds to it. */
		SET(CURLOPT_CAINFO, ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	SET(CURLOPT_USERAGENT, FETCH_AGENT);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_BODY_MAX);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, s);
#undef SET
	if (rc != CURLE_OK) {
		err_set(
		    e, "libcurl refused an option: %s", api.easy_strerror(rc));
		return false;
	}
	return true;
}

bool
fetch_https(const char *url, const char *ca_file, char **body, size_t *len,
    struct err *e)
{
	char auth[AUTHORITY_MAX + 1], next_auth[AUTHORITY_MAX + 1];
	char errbuf[CURL_ERROR_SIZE];
	struct sink s = {NULL, 0, false};
	CURL *c = NULL;
	char *cur = NULL;
	const char *redirect;
	int64_t start = deadline_now_ms(), left;
	long code = 0;
	int hop;
	CURLcode rc;
	bool ok = false;

	if (!url_authority(url, auth, sizeof(auth))) {
		err_set(e, "not an https:// URL");
		goto out;
	}
	if (!api_load(e))
		goto out;
	if ((s.p = malloc(FETCH_BODY_MAX + 1)) == NULL ||
	    (cur = strdup(url)) == NULL) {
		err_set(e, "out of memory");
		goto out;
	}
	if ((c = api.easy_init()) == NULL) {
		err_set(e, "curl_easy_init failed");
		goto out;
	}
	if (!set_common(c, ca_file, &s, errbuf, e))
		goto out;
	for (hop = 0;; hop++) {
		if ((left = FETCH_TOTAL_MS - (deadline_now_ms() - start)) <=
		    0) {
			err_set(e, "no answer within %d ms", FETCH_TOTAL_MS);
			goto out;
		}
		s.len = 0;
		errbuf[0] = '\0';
		if (api.easy_setopt(c, CURLOPT_URL, cur) != CURLE_OK ||
		    api.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left) !=
			CURLE_OK ||
		    api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			(long)(left < FETCH_CONNECT_MS ? left
						       : FETCH_CONNECT_MS)) !=
			CURLE_OK) {
			err_set(e, "libcurl refused the URL");
			goto out;
		}
		if ((rc = api.easy_perform(c)) != CURLE_OK) {
			if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
				err_set(e, "the answer is larger than %d bytes",
				    FETCH_BODY_MAX);
			else
				err_set(e, "%s%s%s", api.easy_strerror(rc),
				    errbuf[0] != '\0' ? ": " : "", errbuf);
			goto out;
		}
		if (api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) !=
		    CURLE_OK)
			code = 0;
		if (code < 300 || code > 399)
			break;
		redirect = NULL;
		if (api.easy_getinfo(c, CURLINFO_REDIRECT_URL, &redirect) !=
			CURLE_OK ||
		    redirect == NULL) {
			err_set(e, "HTTP status %ld without a Location", code);
			goto out;
		}
		if (!url_authority(redirect, next_auth, sizeof(next_auth)) ||
		    strcmp(auth, next_auth) != 0) {
			err_set(e,
			    "HTTP status %ld redirects to another host "
			    "or scheme, not followed",
			    code);
			goto out;
		}
		if (hop == FETCH_REDIRECTS_MAX) {
			err_set(
			    e, "more than %d redirects", FETCH_REDIRECTS_MAX);
			goto out;
		}
		free(cur);
		if ((cur = strdup(redirect)) == NULL) {
			err_set(e, "out of memory");
			goto out;
		}
	}
	if (code != 200) {
		err_set(e, "HTTP status %ld", code);
		goto out;
	}
	s.p[s.len] = '\0';
	*body = s.p;
	*len = s.len;
	s.p = NULL;
	ok = true;
out:
	if (c != NULL)
		api.easy_cleanup(c);
	free(cur);
	free(s.p);
	return ok;
}
