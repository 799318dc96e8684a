/* SPDX-License-Identifier: MIT */
/* keycache.c: network keys: the shared cache file, freshness, kid misses */
/*
 * CHATKIT_CACHE_DIR is used only when it is a directory of the program's
 * user, not a symbolic link, that group and others may not write. It is
 * opened and checked once per call, and every file in it is reached
 * through that descriptor (openat, renameat), so a directory put in its
 * place after the check is never used. In it, per URL (H: the first 16
 * bytes of its SHA-256 in hex):
 *   H.json   the last JWKS that fetched and parsed; its mtime is when.
 *            Replaced atomically (H.json.tmp, fsync, rename), so a
 *            reader never needs a lock. Used only when it is a regular
 *            file of ours that no one else may write.
 *   H.state  flock(2)ed by the one process that fetches; holds one line
 *            "v1 ATTEMPT FAILED KIDMISS": the time of the last fetch,
 *            whether it failed or left H.json as it was (a full disk, a
 *            read-only directory: then its keys serve that process
 *            alone, and others wait KEYCACHE_RETRY_S as after a failed
 *            fetch), and the time of the last refetch for an unknown kid
 *            (Unix seconds), each number in a fixed width.
 * A fresh H.json is read and parsed with no lock, no network and no
 * libcurl (fetch.c is called only when a fetch is due). A process keeps
 * what it read, and on each call compares H.json's identity (one
 * fstatat) with what it saw: when H.json has changed or gone, it drops
 * its keys and looks again as a new process would, so deleting or
 * replacing H.json reaches FastCGI processes on their next request.
 *
 * Without a directory that passes the check, or without an H.state of
 * its own to lock, a process works alone, as if there were no cache
 * directory: the reason is logged once, and the keys and the fetch times
 * live in its memory only. A FastCGI process keeps the fetch limits that
 * way; a CGI process forgets them with its one request.
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
#define NAME_LEN (NAME_HASH_BYTES * 2 + sizeof(".json.tmp"))
#define LOCK_POLL_MS 20
#define LOCK_WAIT_MS (FETCH_TOTAL_MS + 1000) /* one fetch, and a margin */
#define CLOCK_AHEAD_S 60 /* a cache file newer than this is not trusted */
#define STATE_MAX 128

struct state {
	int64_t attempt; /* last fetch, any reason */
	int failed;	 /* it failed */
	int64_t kidmiss; /* last fetch for an unknown kid */
};

struct keycache {
	char *url;	      /* the URL the members below are for */
	char json[NAME_LEN];  /* H.json, in the directory */
	char tmp[NAME_LEN];   /* H.json.tmp, the next H.json being written */
	char state[NAME_LEN]; /* H.state */
	struct keyset *keys;  /* NULL: none yet */
	time_t fetched;	      /* when keys were fetched */
	struct stat seen;     /* H.json as last read, written or passed over */
	bool have_seen;	      /* false: there was none */
	struct state mem;     /* this process's own fetch times */
	char said_dir[256];   /* the directory's problem, as last logged */
	char said_state[256]; /* H.state's problem, as last logged */
	unsigned gen;	      /* counts replacements of keys */
	bool just_fetched;    /* during this request (since keycache_get) */
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

/* Points kc at src->url and names its files; false on SHA-256 or memory. */
static bool
select_url(
    struct keycache *kc, const struct keycache_source *src, struct err *e)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[NAME_HASH_BYTES * 2 + 1];
	SHA256_CTX sha;
	size_t i;

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
	snprintf(kc->json, sizeof(kc->json), "%s.json", hex);
	snprintf(kc->tmp, sizeof(kc->tmp), "%s.json.tmp", hex);
	snprintf(kc->state, sizeof(kc->state), "%s.state", hex);
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

/* A regular file of this user that group and others may not write. */
static bool
trusted_file(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
	       (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Logs msg unless it is what said holds (the last thing logged there). */
static void
say_once(char said[256], const char *msg)
{
	if (strncmp(said, msg, 255) == 0)
		return;
	log_warnx("%s", msg);
	snprintf(said, 256, "%s", msg);
}

/*
 * Opens CHATKIT_CACHE_DIR, making it (mode 0700) when it is missing, and
 * checks it: a directory, not a symbolic link, of this process's
 * effective user, that group and others may not write. Returns its
 * descriptor, which the caller closes, or -1 after logging why not (once
 * per process while the reason stays the same).
 */
static int
dir_open(struct keycache *kc, const char *dir)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	char why[160], msg[256];
	struct stat st;
	int fd;

	why[0] = '\0';
	if ((fd = open(dir, flags)) < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) == 0 || errno == EEXIST)
			fd = open(dir, flags);
		else
			snprintf(why, sizeof(why), "cannot be made: %s",
			    strerror(errno));
	}
	if (fd < 0 && why[0] == '\0') {
		if (errno == ENOTDIR && lstat(dir, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			snprintf(why, sizeof(why), "is a symbolic link");
		else
			snprintf(why, sizeof(why), "%s", strerror(errno));
	} else if (fd >= 0 && fstat(fd, &st) != 0)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	else if (fd >= 0 && st.st_uid != geteuid())
		snprintf(why, sizeof(why),
		    "belongs to uid %lu, not to this user (uid %lu)",
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
	else if (fd >= 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		snprintf(why, sizeof(why),
		    "may be written by group or others (mode %04o)",
		    (unsigned)(st.st_mode & 07777));
	if (why[0] == '\0') {
		kc->said_dir[0] = '\0';
		return fd;
	}
	if (fd >= 0)
		close(fd);
	snprintf(msg, sizeof(msg),
	    "key cache directory %s %s: not used, keys are fetched for "
	    "this process alone",
	    dir, why);
	say_once(kc->said_dir, msg);
	return -1;
}

/*
 * Reads H.json (in the directory dfd) into kc unless it is the file kc
 * last saw. Returns true when kc's keys changed. A missing file changes
 * nothing; one that is not ours, writable by others, too large or not a
 * JWKS is logged and ignored (the next fetch replaces it), and not read
 * again while it stays the same.
 */
static bool
load_file(struct keycache *kc, int dfd, const char *dir)
{
	struct err ke = {{0}};
	struct keyset *ks = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;
	bool changed = false;

	if ((fd = openat(dfd, kc->json,
		 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			log_warnx("key cache %s/%s: %s", dir, kc->json,
			    strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0)
		goto out;
	if (kc->have_seen && same_file(&st, &kc->seen))
		goto out;
	kc->seen = st;
	kc->have_seen = true;
	if (!trusted_file(&st)) {
		log_warnx("key cache %s/%s is not a file of this user that "
			  "only it may write: ignored",
		    dir, kc->json);
		goto out;
	}
	if (st.st_size > KEYS_FILE_MAX) {
		log_warnx("key cache %s/%s is larger than %d bytes: ignored",
		    dir, kc->json, KEYS_FILE_MAX);
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
		log_warnx("key cache %s/%s: short read", dir, kc->json);
		goto out;
	}
	buf[len] = '\0';
	if ((ks = keys_from_jwks(buf, len, &ke)) == NULL) {
		log_warnx(
		    "key cache %s/%s: %s: ignored", dir, kc->json, ke.msg);
		goto out;
	}
	keys_free(kc->keys);
	kc->keys = ks;
	kc->gen++;
	kc->fetched = st.st_mtim.tv_sec;
	changed = true;
out:
	free(buf);
	close(fd);
	return changed;
}

/*
 * Compares H.json with what kc last saw of it. When it has changed,
 * appeared or gone since, kc's keys go (they may hold a key withdrawn
 * since) and H.json is read as a new process would read it.
 */
static void
look(struct keycache *kc, int dfd, const char *dir)
{
	struct stat st;
	bool there;

	there = fstatat(dfd, kc->json, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (there ? kc->have_seen && same_file(&st, &kc->seen) : !kc->have_seen)
		return;
	if (kc->keys != NULL) {
		keys_free(kc->keys);
		kc->keys = NULL;
		kc->gen++;
	}
	kc->have_seen = false;
	if (there)
		load_file(kc, dfd, dir);
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

/*
 * Writes s over H.state's line in place. The line has one length
 * whatever the numbers, so a file that holds one needs no new disk block
 * for the next: the fetch times are kept on a full disk too.
 */
static void
state_write(int fd, const struct state *s, const char *dir, const char *name)
{
	char buf[STATE_MAX];
	int n;

	n = snprintf(buf, sizeof(buf), "v1 %020lld %d %020lld\n",
	    (long long)s->attempt, s->failed, (long long)s->kidmiss);
	if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) != 0)
		log_warnx("key cache %s/%s: cannot write: %s", dir, name,
		    strerror(errno));
}

/* The later of the two attempts, and the later kid-miss refetch. */
static void
state_merge(struct state *s, const struct state *other)
{
	if (other->attempt > s->attempt) {
		s->attempt = other->attempt;
		s->failed = other->failed;
	}
	if (other->kidmiss > s->kidmiss)
		s->kidmiss = other->kidmiss;
}

/*
 * Writes body to H.json atomically: H.json.tmp beside it (made afresh:
 * only the holder of H.state's lock writes it), fsync, renameat, fsync
 * of the directory. Returns the new file's stat in *st.
 */
static bool
write_cache(const struct keycache *kc, int dfd, const char *dir,
    const char *body, size_t len, struct stat *st, struct err *e)
{
	size_t off = 0;
	ssize_t w;
	int fd;
	bool ok = false, made = false;

	if (unlinkat(dfd, kc->tmp, 0) != 0 && errno != ENOENT) {
		err_set(e, "cannot remove %s/%s: %s", dir, kc->tmp,
		    strerror(errno));
		return false;
	}
	if ((fd = openat(dfd, kc->tmp,
		 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) <
	    0) {
		err_set(e, "cannot create %s/%s: %s", dir, kc->tmp,
		    strerror(errno));
		return false;
	}
	made = true;
	while (off < len) {
		w = write(fd, body + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_set(e, "cannot write %s/%s: %s", dir, kc->tmp,
			    w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || fstat(fd, st) != 0) {
		err_set(
		    e, "cannot sync %s/%s: %s", dir, kc->tmp, strerror(errno));
		goto out;
	}
	if (renameat(dfd, kc->tmp, dfd, kc->json) != 0) {
		err_set(e, "cannot rename %s/%s: %s", dir, kc->tmp,
		    strerror(errno));
		goto out;
	}
	made = false;
	(void)fsync(dfd);
	ok = true;
out:
	if (made)
		unlinkat(dfd, kc->tmp, 0);
	close(fd);
	return ok;
}

/*
 * When H.json is a file of ours holding exactly body, renews its time
 * (futimens, which needs no disk space), so that it is fresh again for
 * every process: true, with its stat in *st. For when no new H.json can
 * be written; the keys seldom change.
 */
static bool
renew_same(const struct keycache *kc, int dfd, const char *body, size_t len,
    struct stat *st)
{
	char buf[4096];
	size_t off = 0, n;
	ssize_t r;
	int fd;
	bool same = false;

	if ((fd = openat(dfd, kc->json,
		 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return false;
	if (fstat(fd, st) != 0 || !trusted_file(st) ||
	    st->st_size != (off_t)len)
		goto out;
	while (off < len) {
		n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || memcmp(buf, body + off, (size_t)r) != 0)
			goto out;
		off += (size_t)r;
	}
	same = futimens(fd, NULL) == 0 && fstat(fd, st) == 0;
out:
	close(fd);
	return same;
}

/*
 * Opens (creating it if needed) and locks H.state in the directory dfd:
 * its descriptor, or -1. *busy when another process holds the lock
 * (longer than LOCK_WAIT_MS when wait is set); otherwise -1 means the
 * file cannot be used, which is logged once per process.
 */
static int
lock_state(struct keycache *kc, int dfd, const char *dir, bool wait, bool *busy)
{
	const int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	char msg[256];
	struct stat st;
	int fd, waited = 0;

	*busy = false;
	if ((fd = openat(dfd, kc->state, flags, 0600)) < 0) {
		snprintf(msg, sizeof(msg),
		    "key cache %s/%s cannot be opened: %s: keys are fetched "
		    "for this process alone",
		    dir, kc->state, strerror(errno));
		goto refused;
	}
	/* A state file planted by another user could hold its lock forever. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		snprintf(msg, sizeof(msg),
		    "key cache %s/%s is not a file of this user: keys are "
		    "fetched for this process alone",
		    dir, kc->state);
		goto refused;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			snprintf(msg, sizeof(msg),
			    "key cache %s/%s cannot be locked: %s: keys are "
			    "fetched for this process alone",
			    dir, kc->state, strerror(errno));
			goto refused;
		}
		if (!wait || waited >= LOCK_WAIT_MS) {
			*busy = true;
			close(fd);
			return -1;
		}
		usleep(LOCK_POLL_MS * 1000);
		waited += LOCK_POLL_MS;
	}
	kc->said_state[0] = '\0';
	return fd;
refused:
	if (fd >= 0)
		close(fd);
	say_once(kc->said_state, msg);
	return -1;
}

/*
 * Puts the body of the keys kc has just fetched in H.json when this
 * process holds H.state's lock: written anew, or, when that fails, the
 * old H.json renewed if it holds the same bytes. False when H.json was
 * left as it was; kc then marks it seen, so that its older keys are not
 * read over these.
 */
static bool
keep(struct keycache *kc, const struct keycache_source *src, int dfd,
    bool locked, const char *body, size_t len)
{
	struct err we = {{0}};
	struct stat st;
	bool saved = false;

	if (locked && write_cache(kc, dfd, src->dir, body, len, &st, &we))
		saved = true;
	else if (locked && (saved = renew_same(kc, dfd, body, len, &st)))
		log_warnx("key cache: %s; %s/%s holds the same keys: kept, its "
			  "time renewed",
		    we.msg, src->dir, kc->json);
	else if (locked)
		log_warnx("key cache: %s; the keys serve this process alone, "
			  "others fetch again after %d s",
		    we.msg, KEYCACHE_RETRY_S);
	if (saved) {
		kc->seen = st;
		kc->have_seen = true;
		kc->fetched = st.st_mtim.tv_sec;
	} else if (dfd >= 0)
		kc->have_seen =
		    fstatat(dfd, kc->json, &kc->seen, AT_SYMLINK_NOFOLLOW) == 0;
	return saved;
}

enum refresh_why { WHY_STALE, WHY_KID };

/*
 * One fetch for kc's URL if no other process has just done it. With the
 * cache directory dfd (-1: none to use), under H.state's lock: waits for
 * the lock (at most LOCK_WAIT_MS) when wait is set, else leaves a fetch
 * in progress to its process; reads H.json again first, as whoever held
 * the lock may have replaced it. Without the directory or H.state, the
 * fetch times in kc's memory decide alone. Good keys replace kc's (and
 * H.json under the lock); bad ones replace nothing.
 */
static void
refresh(struct keycache *kc, const struct keycache_source *src, int dfd,
    time_t now, bool wait, enum refresh_why why)
{
	struct err fe = {{0}};
	struct keyset *ks = NULL;
	struct state s;
	char *body = NULL;
	size_t len = 0;
	bool busy = false;
	int fd = -1;

	memset(&s, 0, sizeof(s));
	if (dfd >= 0 && (fd = lock_state(kc, dfd, src->dir, wait, &busy)) < 0 &&
	    busy)
		return;
	if (fd >= 0) {
		if (load_file(kc, dfd, src->dir) &&
		    (why == WHY_KID || fresh(kc, src, now)))
			goto out; /* someone fetched while we waited */
		state_read(fd, &s);
	}
	state_merge(&s, &kc->mem);
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
	/* Others would fetch again and again: they wait as after a failed
	 * fetch, with the keys they have. */
	if (!keep(kc, src, dfd, fd >= 0, body, len) && fd >= 0)
		s.failed = 1;
save:
	kc->mem = s;
	if (fd >= 0)
		state_write(fd, &s, src->dir, kc->state);
out:
	free(body);
	if (fd >= 0)
		close(fd); /* and the lock with it */
}

enum keycache_result
keycache_get(struct keycache *kc, const struct keycache_source *src, time_t now,
    struct keyset **keys, struct err *e)
{
	int dfd;

	*keys = NULL;
	kc->just_fetched = false;
	if (!select_url(kc, src, e))
		return KC_UNAVAILABLE;
	if ((dfd = dir_open(kc, src->dir)) >= 0)
		look(kc, dfd, src->dir);
	if (!fresh(kc, src, now))
		refresh(kc, src, dfd, now, !usable(kc, src, now), WHY_STALE);
	if (dfd >= 0)
		close(dfd);
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
    time_t now, struct keyset **keys)
{
	unsigned gen = kc->gen;
	int dfd;

	if (kc->url == NULL || kc->just_fetched)
		return false;
	dfd = dir_open(kc, src->dir);
	refresh(kc, src, dfd, now, true, WHY_KID);
	if (dfd >= 0)
		close(dfd);
	*keys = kc->keys;
	return kc->gen != gen;
}
