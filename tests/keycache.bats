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
