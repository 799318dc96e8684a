#!/usr/bin/env bats
# keycache.bats: the key cache directory on a shared host. The program
# runs as a CGI under a site user of its own (SITE_USER, default
# www-data) while another local user (OTHER_USER, default nobody) makes
# or fills the directory first, a symbolic link stands in its place, or
# it is group-writable: the request still gets its keys (fetched for that
# process alone) and the log says why the directory was not used.
#
# Everything the site user reads lives in a directory of the file's own
# under /tmp ($BATS_FILE_TMPDIR is closed to it): a copy of the program,
# the test CA, an empty settings file, and a parent directory per test.
# Each test has a case of its own on the JWKS server (helpers/jwks.bash).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/jwks

SITE_USER=${SITE_USER:-www-data}
OTHER_USER=${OTHER_USER:-nobody}

setup_file() {
	((EUID == 0)) || skip "needs root to run the program as one user and make files as another"
	id "$SITE_USER" >/dev/null && id "$OTHER_USER" >/dev/null ||
		die "no users $SITE_USER and $OTHER_USER" || return
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start
	jwks_setup "$BATS_FILE_TMPDIR/jwks"
	jwks_start
	PLACE=$(mktemp -d /tmp/chatkit-keycache.XXXXXX) || die "mktemp failed" || return
	chmod 0755 "$PLACE"
	cp "$CGI" "$PLACE/chatkit-session.cgi" || return
	cp "$JWKS_CA_FILE" "$PLACE/ca.crt" || return
	: >"$PLACE/empty.conf"
	# The program as the site user; TEST_UMASK (a CGI variable, which
	# the program ignores) is the umask it runs with.
	cat >"$PLACE/as-site" <<-EOF
		#!/bin/sh
		umask "\${TEST_UMASK:-022}"
		exec setpriv --reuid=$SITE_USER --regid=$(id -g "$SITE_USER") --clear-groups -- \\
			"$PLACE/chatkit-session.cgi" "\$@"
	EOF
	chmod -R a+rX "$PLACE" && chmod 0755 "$PLACE/as-site" || return
	export PLACE
}

teardown_file() {
	jwks_stop
	pg_stop
	[[ -z ${PLACE:-} ]] || rm -rf "$PLACE"
}

setup() {
	export CGI=$PLACE/as-site
	cgi_env_defaults
	local -a kept=()
	local kv
	for kv in "${cgi_env[@]}"; do
		[[ $kv == CLERK_JWT_KEY_FILE=* || $kv == CHATKIT_CONFIG=* ]] || kept+=("$kv")
	done
	cgi_env=("${kept[@]}")
	case=k$BATS_TEST_NUMBER
	url=$(jwks_case "$case")
	hash=$(printf '%s' "$url" | sha256sum | cut -c1-32)
	# The parent of the test's cache directory is like /tmp: root's, 1777,
	# so that either user may make the directory first.
	parent=$PLACE/t$BATS_TEST_NUMBER
	mkdir -m 1777 "$parent"
	cache=$parent/cache
	cgi_env+=("CLERK_JWKS_URL=$url" "CHATKIT_CACHE_DIR=$cache"
		"CHATKIT_CA_FILE=$PLACE/ca.crt" "CHATKIT_CONFIG=$PLACE/empty.conf")
	user=$(unique_id)
	pg_add_user "$user"
}

# A test that mounted a tmpfs (full_disk) sets mounted.
teardown() {
	[[ -z ${mounted:-} ]] || umount "$mounted"
}

# accepted [cgi_call ARGS...]: a valid token for $user opens a session.
accepted() {
	cgi_call --token "$(valid_token "$user")" "$@"
	assert_status 200
	assert_json .session.userId "$user"
}

# fetches N: the server has had N requests for this test's case.
fetches() {
	assert_that "$(jwks_count "$case")" == "$1" "JWKS fetches"
}

# as_other CMD...: CMD as the other local user.
as_other() {
	(cd / && runuser -u "$OTHER_USER" -- "$@")
}

# said_once REGEX: the last request logged one line matching REGEX.
said_once() {
	local n
	n=$(grep -c -E "$1" <<<"$cgi_stderr" || true)
	assert_that "$n" == 1 "log lines matching '$1' (stderr: $cgi_stderr)"
}

# untouched DIR: the program left nothing in DIR but what is listed after it.
untouched() {
	local dir=$1 got
	shift
	got=$(ls -A "$dir" | tr '\n' ' ')
	assert_that "$got" == "$*${*:+ }" "what $dir holds"
}

@test "a missing cache directory is made 0700 for the site user, whatever the umask" {
	accepted TEST_UMASK=000
	run -0 stat -c '%a %U' "$cache"
	assert_that "$output" == "700 $SITE_USER" "mode and owner of the directory"
	run -0 stat -c '%a %U' "$cache/$hash.json"
	assert_that "$output" == "600 $SITE_USER" "mode and owner of the cache file"
	accepted
	fetches 1
}

@test "a 0777 cache directory another user made first, with a state file in it, is not used" {
	as_other mkdir -m 0777 "$cache"
	as_other sh -c 'umask 077; echo "v1 0 0 0" >"$1"' sh "$cache/$hash.state"
	accepted
	fetches 1
	said_once "key cache directory $cache belongs to uid $(id -u "$OTHER_USER"), not to this user \(uid $(id -u "$SITE_USER")\): not used, keys are fetched for this process alone"
	untouched "$cache" "$hash.state"
}

@test "a sticky world-writable directory like /tmp, with another user's state file, is not used" {
	mkdir -m 1777 "$cache"
	as_other sh -c 'umask 077; : >"$1"' sh "$cache/$hash.state"
	accepted
	fetches 1
	said_once "key cache directory $cache belongs to uid 0, not to this user"
	untouched "$cache" "$hash.state"
}

@test "a cache directory that is a symbolic link, even to a directory of the site user, is not used" {
	mkdir -m 0700 "$parent/real"
	chown "$SITE_USER:" "$parent/real"
	ln -s real "$cache"
	accepted
	fetches 1
	said_once "key cache directory $cache is a symbolic link: not used"
	untouched "$parent/real"
}

@test "a group-writable cache directory of the site user is not used" {
	mkdir -m 0770 "$cache"
	chown "$SITE_USER:" "$cache"
	accepted
	fetches 1
	said_once "key cache directory $cache may be written by group or others \(mode 0770\): not used"
	untouched "$cache"
}

@test "a cache directory that is not used costs each CGI request a fetch of its own" {
	as_other mkdir -m 0777 "$cache"
	accepted
	accepted
	fetches 2
	said_once "key cache directory $cache belongs to uid"
}

# --- a cache file that cannot be written ------------------------------------

# make_stale: the cached keys were fetched two hours ago.
make_stale() {
	touch -d "-2 hours" "$cache/$hash.json"
}

# five_requests STATUS...: five requests in a row with a valid token,
# answered with the statuses given (the last one given repeats); then
# $cgi_stderr holds what all five logged. Skips when they took longer
# than the 5 s a process waits after a fetch that failed or could not be
# kept, which would allow a second fetch.
five_requests() {
	local -a want=("$@")
	local i t0 ms all=
	t0=$(date +%s%N)
	for ((i = 0; i < 5; i++)); do
		cgi_call --token "$(valid_token "$user")"
		assert_status "${want[i < $# ? i : $# - 1]}"
		all+=$cgi_stderr$'\n'
	done
	cgi_stderr=$all
	ms=$((($(date +%s%N) - t0) / 1000000))
	((ms < 4500)) || skip "five requests took $ms ms, too close to the 5 s between fetches to count them"
}

# full_disk: the test's cache directory on a tmpfs of 64 KiB of the site
# user's, unmounted by teardown. Skips when mount is refused.
full_disk() {
	mkdir -m 0700 "$cache"
	mount -t tmpfs -o "size=64k,mode=0700,uid=$(id -u "$SITE_USER"),gid=$(id -g "$SITE_USER")" \
		chatkit-test "$cache" 2>"$BATS_TEST_TMPDIR/mount.err" ||
		skip "cannot mount a tmpfs: $(<"$BATS_TEST_TMPDIR/mount.err")"
	mounted=$cache
}

# fill: write to the tmpfs until it has no space left.
fill() {
	dd if=/dev/zero of="$cache/fill" bs=4096 2>/dev/null || true
	run -0 df --output=avail -B1 "$cache"
	assert_that "${lines[1]// /}" == 0 "bytes left on $cache"
}

@test "on a full disk, five requests with stale keys make one fetch, and the others use the stale keys" {
	full_disk
	accepted
	jwks_serve "$case" "$JWKS_FILE" # new keys: the file cannot simply be renewed
	make_stale
	fill
	five_requests 200
	fetches 2
	said_once "key cache: cannot write $cache/$hash.json.tmp: No space left on device; the keys serve this process alone, others fetch again after 5 s"
	run -0 cmp "$cache/$hash.json" "$JWKS_MAIN_FILE"
}

@test "on a full disk with nothing cached, one request fetches and the next ones within 5 s get 503" {
	full_disk
	accepted
	rm "$cache/$hash.json"
	fill
	five_requests 200 503
	assert_header Retry-After '^[0-9]+$'
	fetches 2
}

@test "on a full disk, a fetch of the same keys renews the stale cache file for every process" {
	full_disk
	accepted
	make_stale
	fill
	five_requests 200
	fetches 2
	run -0 find "$cache/$hash.json" -mmin -1
	assert_that "$output" == "$cache/$hash.json" "the cache file is fresh again"
}

@test "with a read-only cache directory, five requests with stale keys make one fetch" {
	accepted
	jwks_serve "$case" "$JWKS_FILE"
	make_stale
	chmod 0500 "$cache"
	five_requests 200
	fetches 2
	said_once "key cache: cannot create $cache/$hash.json.tmp: Permission denied; the keys serve this process alone"
}

@test "a read-only cache directory with no state file in it leaves each CGI request to fetch for itself" {
	mkdir -m 0500 "$cache"
	chown "$SITE_USER:" "$cache"
	accepted
	said_once "key cache $cache/$hash.state cannot be opened: Permission denied: keys are fetched for this process alone"
	accepted
	fetches 2
}
