/* SPDX-License-Identifier: MIT */
/* keycache.c: network keys: the shared cache file, freshness, kid misses */
/*
 * In CHATKIT_CACHE_DIR, per URL (H: the first 16 bytes of its SHA-256 in
 * hex):
 *   H.json   the last JWKS that fetched and parsed; its mtime is when.
 *            Replaced atomically (temporary file, fsync, rename), so a
 *            reader never needs a lock. Used only when it is a regular
 *            file of ours that no one else may write.
 *   H.state  flock(2)ed by the one process that fetches; holds one line
 *            "v1 ATTEMPT FAILED KIDMISS": the time of the last fetch,
 *            whether it failed, and the time of the last refetch for an
 *            unknown kid (Unix seconds).
 * A fresh H.json is read and parsed with no lock, no network and no
 * libcurl (fetch.c is called only when a fetch is due).
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_*: see token.c */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "fetch.h"
#include "keycache.h"
#include "keys.h"
#include "log.h"

#define NAME_HASH_BYTES 16
#define PATH_MAX_LEN 4096
#define LOCK_POLL_MS 20
#define LOCK_WAIT_MS (FETCH_TOTAL_MS + 1000) /* one fetch, and a margin */
#define CLOCK_AHEAD_S 60 /* a cache file newer than this is not trusted */
#define STATE_MAX 128

struct keycache {
	char *url;		  /* the URL the members below are for */
	char json[PATH_MAX_LEN];  /* H.json */
	char state[PATH_MAX_LEN]; /* H.state */
	struct keyset *keys;	  /* NULL: none yet */
	time_t fetched;		  /* when keys were fetched */
	struct stat st;		  /* the H.json they came from */
	bool have_st;
	unsigned gen;	   /* counts replacements of keys */
	bool just_fetched; /* during this request (since keycache_get) */
};

struct state {
	int64_t attempt; /* last fetch, any reason */
	int failed;	 /* it failed */
	int64_t kidmiss; /* last fetch for an unknown kid */
};

struct keycache *
keycache_new(void)
{
	return calloc(1, sizeof(struct keycache));
}

static void
forget(struct keycache *kc)
{
	keys_free(kc->keys);
	free(kc->url);
	memset(kc, 0, sizeof(*kc));
}

void
keycache_free(struct keycache *kc)
{
	if (kc == NULL)
		return;
	forget(kc);
	free(kc);
}

/* Points kc at src->url and names its files; false when they don't fit. */
static bool
select_url(
    struct keycache *kc, const struct keycache_source *src, struct err *e)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[NAME_HASH_BYTES * 2 + 1];
	SHA256_CTX sha;
	size_t i;
	int n1, n2;

	if (kc->url != NULL && strcmp(kc->url, src->url) == 0)
		return true;
	forget(kc);
	if (SHA256_Init(&sha) != 1 ||
	    SHA256_Update(&sha, src->url, strlen(src->url)) != 1 ||
	    SHA256_Final(md, &sha) != 1) {
		err_set(e, "SHA-256 failed");
		return false;
	}
	for (i = 0; i < NAME_HASH_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	n1 = snprintf(kc->json, sizeof(kc->json), "%s/%s.json", src->dir, hex);
	n2 = snprintf(
	    kc->state, sizeof(kc->state), "%s/%s.state", src->dir, hex);
	if (n1 < 0 || (size_t)n1 >= sizeof(kc->json) || n2 < 0 ||
	    (size_t)n2 >= sizeof(kc->state)) {
		err_set(e, "CHATKIT_CACHE_DIR is too long");
		kc->json[0] = kc->state[0] = '\0';
		return false;
	}
	if ((kc->url = strdup(src->url)) == NULL) {
		err_set(e, "out of memory");
		return false;
	}
	return true;
}

/* Seconds since kc's keys were fetched; a time from the future is old. */
static int64_t
age(const struct keycache *kc, time_t now)
{
	if (kc->fetched > now + CLOCK_AHEAD_S)
		return INT64_MAX / 2;
	return kc->fetched > now ? 0 : (int64_t)(now - kc->fetched);
}

static bool
fresh(const struct keycache *kc, const struct keycache_source *src, time_t now)
{
	return kc->keys != NULL && age(kc, now) < src->ttl;
}

static bool
usable(const struct keycache *kc, const struct keycache_source *src, time_t now)
{
	return kc->keys != NULL && age(kc, now) < src->ttl + src->max_stale;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Reads H.json into kc unless kc already holds what it holds. Returns
 * true when kc's keys changed. A missing file changes nothing; one that
 * is not ours, writable by others, too large or not a JWKS is logged and
 * ignored (the next fetch replaces it).
 */
static bool
load_file(struct keycache *kc)
{
	struct err ke = {{0}};
	struct keyset *ks = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;
	bool changed = false;

	if ((fd = open(kc->json,
		 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			log_warnx(
			    "key cache %s: %s", kc->json, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0)
		goto out;
	if (kc->have_st && same_file(&st, &kc->st))
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warnx("key cache %s is not a file of this user that "
			  "only it may write: ignored",
		    kc->json);
		goto out;
	}
	if (st.st_size > KEYS_FILE_MAX) {
		log_warnx("key cache %s is larger than %d bytes: ignored",
		    kc->json, KEYS_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (len != (size_t)st.st_size) {
		log_warnx("key cache %s: short read", kc->json);
		goto out;
	}
	buf[len] = '\0';
	if ((ks = keys_from_jwks(buf, len, &ke)) == NULL) {
		log_warnx("key cache %s: %s: ignored", kc->json, ke.msg);
		goto out;
	}
	keys_free(kc->keys);
	kc->keys = ks;
	kc->gen++;
	kc->fetched = st.st_mtim.tv_sec;
	kc->st = st;
	kc->have_st = true;
	changed = true;
out:
	free(buf);
	close(fd);
	return changed;
}

/* Reads H.state (fd locked); an empty or unreadable one is all zero. */
static void
state_read(int fd, struct state *s)
{
	char buf[STATE_MAX];
	long long a, k;
	int f;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "v1 %lld %d %lld", &a, &f, &k) != 3)
		return;
	s->attempt = a;
	s->failed = f != 0;
	s->kidmiss = k;
}

static void
state_write(int fd, const struct state *s, const char *path)
{
	char buf[STATE_MAX];
	int n;

	n = snprintf(buf, sizeof(buf), "v1 %lld %d %lld\n",
	    (long long)s->attempt, s->failed, (long long)s->kidmiss);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warnx(
		    "key cache %s: cannot write: %s", path, strerror(errno));
}

/*
 * Writes body to H.json atomically: a temporary file beside it, fsync,
 * rename, fsync of the directory. Returns the new file's stat in *st.
 */
static bool
write_cache(const struct keycache *kc, const char *dir, const char *body,
    size_t len, struct stat *st, struct err *e)
{
	char tmp[PATH_MAX_LEN + 16];
	size_t off = 0;
	ssize_t w;
	int fd = -1, dfd;
	bool ok = false;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", kc->json);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		err_set(e, "cannot create %s: %s", tmp, strerror(errno));
		return false;
	}
	while (off < len) {
		w = write(fd, body + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_set(e, "cannot write %s: %s", tmp,
			    w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || fstat(fd, st) != 0) {
		err_set(e, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, kc->json) != 0) {
		err_set(e, "cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	ok = true;
out:
	if (tmp[0] != '\0')
		unlink(tmp);
	close(fd);
	return ok;
}

/* Opens (creating dir and file if needed) and locks H.state: fd or -1. */
static int
lock_state(const struct keycache *kc, const struct keycache_source *src,
    bool wait, bool *busy, struct err *e)
{
	struct stat st;
	int fd, waited = 0;

	*busy = false;
	fd = open(kc->state, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && mkdir(src->dir, 0700) == 0)
		fd = open(
		    kc->state, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set(e, "cannot open %s: %s (CHATKIT_CACHE_DIR)", kc->state,
		    strerror(errno));
		return -1;
	}
	/* A state file planted by another user could hold its lock forever. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		err_set(e, "%s is not a file of this user (CHATKIT_CACHE_DIR)",
		    kc->state);
		close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			err_set(e, "cannot lock %s: %s", kc->state,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (!wait || waited >= LOCK_WAIT_MS) {
			*busy = true;
			close(fd);
			return -1;
		}
		usleep(LOCK_POLL_MS * 1000);
		waited += LOCK_POLL_MS;
	}
	return fd;
}

enum refresh_why { WHY_STALE, WHY_KID };

/*
 * One fetch for kc's URL if no other process has just done it, under
 * H.state's lock: waits for the lock (at most LOCK_WAIT_MS) when wait is
 * set, else leaves a fetch in progress to its process. Reads H.json again
 * first: whoever held the lock may have replaced it. Good keys replace
 * kc's and H.json; bad ones replace nothing. Returns KC_CACHE_DIR when the
 * directory cannot be used, KC_OK otherwise.
 */
static enum keycache_result
refresh(struct keycache *kc, const struct keycache_source *src, time_t now,
    bool wait, enum refresh_why why, struct err *e)
{
	struct err fe = {{0}}, we = {{0}};
	struct keyset *ks = NULL;
	struct state s;
	struct stat st;
	char *body = NULL;
	size_t len = 0;
	bool busy;
	int fd;

	if ((fd = lock_state(kc, src, wait, &busy, e)) < 0)
		return busy ? KC_OK : KC_CACHE_DIR;
	if (load_file(kc) && (why == WHY_KID || fresh(kc, src, now)))
		goto out; /* someone fetched while we waited */
	state_read(fd, &s);
	if (why == WHY_KID && s.kidmiss <= now &&
	    now - s.kidmiss < KEYCACHE_KID_MISS_S)
		goto out;
	if (why == WHY_STALE && s.failed && s.attempt <= now &&
	    now - s.attempt < KEYCACHE_RETRY_S)
		goto out;
	s.attempt = now;
	if (why == WHY_KID)
		s.kidmiss = now;
	s.failed = 1;
	if (!fetch_https(src->url, src->ca_file, &body, &len, &fe)) {
		log_warnx("JWKS fetch from %s failed: %s", src->url, fe.msg);
		goto save;
	}
	if ((ks = keys_from_jwks(body, len, &fe)) == NULL) {
		log_warnx("JWKS fetch from %s failed: not a usable JWKS: %s",
		    src->url, fe.msg);
		goto save;
	}
	s.failed = 0;
	keys_free(kc->keys);
	kc->keys = ks;
	kc->gen++;
	kc->fetched = now;
	kc->just_fetched = true;
	kc->have_st = false;
	if (write_cache(kc, src->dir, body, len, &st, &we)) {
		kc->st = st;
		kc->fetched = st.st_mtim.tv_sec;
		kc->have_st = true;
	} else
		log_warnx("key cache: %s", we.msg);
save:
	state_write(fd, &s, kc->state);
out:
	free(body);
	close(fd); /* and the lock with it */
	return KC_OK;
}

enum keycache_result
keycache_get(struct keycache *kc, const struct keycache_source *src, time_t now,
    const struct keyset **keys, struct err *e)
{
	enum keycache_result r;

	*keys = NULL;
	kc->just_fetched = false;
	if (!select_url(kc, src, e))
		return KC_CACHE_DIR;
	if (fresh(kc, src, now)) {
		*keys = kc->keys; /* a FastCGI process: no system call */
		return KC_OK;
	}
	load_file(kc);
	if (!fresh(kc, src, now)) {
		r = refresh(kc, src, now, !usable(kc, src, now), WHY_STALE, e);
		if (r != KC_OK)
			return r;
	}
	if (!usable(kc, src, now)) {
		err_set(e, "no usable keys from %s", src->url);
		return KC_UNAVAILABLE;
	}
	if (!fresh(kc, src, now))
		log_warnx("JWKS from %s: using keys fetched %lld s ago",
		    src->url, (long long)age(kc, now));
	*keys = kc->keys;
	return KC_OK;
}

unsigned
keycache_generation(const struct keycache *kc)
{
	return kc->gen;
}

bool
keycache_kid_miss(struct keycache *kc, const struct keycache_source *src,
    time_t now, const struct keyset **keys, struct err *e)
{
	unsigned gen = kc->gen;

	if (kc->url == NULL || kc->just_fetched)
		return false;
	if (refresh(kc, src, now, true, WHY_KID, e) != KC_OK)
		return false;
	*keys = kc->keys;
	return kc->gen != gen;
}
