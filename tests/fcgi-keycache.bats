#!/usr/bin/env bats
# fcgi-keycache.bats: the key cache as a FastCGI process sees it: with a
# cache directory it cannot use or a disk it cannot write, it keeps its
# keys and its fetch limits in memory, takes new kids and forgets
# withdrawn ones without a restart. Keys come from the tests' own
# HTTPS JWKS server (helpers/jwks.bash); each test has a case of its own
# there and a cache directory of its own.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/jwks
load helpers/netkeys

# netkeys.bash's fixture; $hash names the case's files in the cache.
setup() {
	netkeys_setup
	hash=$(printf '%s' "$url" | sha256sum | cut -c1-32)
}

teardown() {
	[[ -z ${mounted:-} ]] || umount "$mounted"
	netkeys_teardown
}

# forged KID: a token for $user signed with a key the server never serves.
forged() {
	mint_token --payload "$(claims "$user")" --kid "$1" --key "$FORGED_PRIV"
}

# logged N REGEX: the last request logged N lines matching REGEX.
logged() {
	local n
	n=$(grep -c -E "$2" <<<"$cgi_stderr" || true)
	assert_that "$n" == "$1" "log lines matching '$2' (stderr: $cgi_stderr)"
}

@test "with a cache directory of another user, a FastCGI process fetches once and says why once" {
	mkdir -m 0777 "$cache"
	chown nobody "$cache"
	accepted
	logged 1 "key cache directory $cache belongs to uid [0-9]+, not to this user \(uid 0\): not used"
	local i
	for ((i = 0; i < 4; i++)); do
		accepted
		logged 0 "key cache directory"
	done
	fetches 1
	run -0 ls -A "$cache"
	assert_that "$output" == "" "what the directory holds"
}

@test "with a cache directory it cannot use, a FastCGI process refetches for unknown kids once a minute" {
	mkdir -m 0770 "$cache"
	accepted
	local i
	for ((i = 0; i < 5; i++)); do
		cgi_call --token "$(forged "forged-$i")"
		assert_error 401 Unauthorized
	done
	fetches 2
}

@test "on a disk full before the first fetch, a FastCGI process fetches once and keeps the keys in memory" {
	mkdir -m 0700 "$cache"
	mount -t tmpfs -o size=16k,mode=0700 chatkit-test "$cache" 2>"$BATS_TEST_TMPDIR/mount.err" ||
		skip "cannot mount a tmpfs: $(<"$BATS_TEST_TMPDIR/mount.err")"
	mounted=$cache
	dd if=/dev/zero of="$cache/fill" bs=4096 2>/dev/null || true
	accepted
	assert_that "$cgi_stderr" =~ "No space left on device" "the log says why"
	local i
	for ((i = 0; i < 4; i++)); do
		accepted
	done
	fetches 1
}

# --- the cache file changed under a running process -------------------------

# other_token: a token for $user signed with the key kid-other.
other_token() {
	mint_token --payload "$(claims "$user")" --kid kid-other --key "$OTHER_PRIV"
}

@test "a FastCGI process fetches again on the next request when the cache file is deleted" {
	local tok
	tok=$(other_token)
	jwks_serve "$case" "$JWKS_FILE" # kid-main and kid-other
	cgi_call --token "$tok"
	assert_status 200
	fetches 1
	# kid-other is withdrawn; deleting the file is how to make it count.
	jwks_serve "$case" "$JWKS_MAIN_FILE"
	rm "$cache/$hash.json"
	cgi_call --token "$tok"
	assert_error 401 Unauthorized
	fetches 2
	run -0 cmp "$cache/$hash.json" "$JWKS_MAIN_FILE"
	accepted
	fetches 2
}

@test "a FastCGI process reads a replaced cache file on the next request: a key withdrawn from it is refused" {
	local tok
	tok=$(other_token)
	jwks_serve "$case" "$JWKS_FILE"
	cgi_call --token "$tok"
	assert_status 200
	jwks_serve "$case" "$JWKS_MAIN_FILE"
	install -m 0600 "$JWKS_MAIN_FILE" "$cache/$hash.json.new"
	mv "$cache/$hash.json.new" "$cache/$hash.json"
	cgi_call --token "$tok"
	assert_error 401 Unauthorized
	# The unknown kid made its one refetch; the file was read before it.
	fetches 2
}

@test "a FastCGI process does not read an unchanged cache file again" {
	accepted
	# Other bytes in the same file, with its size and time put back: a
	# process that read it again would pass it over and fetch.
	local f=$cache/$hash.json size
	size=$(stat -c %s "$f")
	touch -r "$f" "$BATS_TEST_TMPDIR/time"
	head -c "$size" /dev/zero | tr '\0' x >"$f"
	touch -r "$BATS_TEST_TMPDIR/time" "$f"
	accepted
	fetches 1
	assert_that "$cgi_stderr" !~ "key cache" "the log"
}

# --- rotation: new kids and withdrawn ones --------------------------------

@test "a FastCGI process takes a new kid without a restart" {
	accepted
	fetches 1
	accepted
	fetches 1
	jwks_serve "$case" "$JWKS_FILE"
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid kid-other --key "$OTHER_PRIV")"
	assert_status 200
	fetches 2
}

@test "a FastCGI process forgets the tokens it verified with a key that left the JWKS" {
	local tok
	jwks_serve "$case" "$JWKS_FILE" # kid-main and kid-other
	tok=$(mint_token --payload "$(claims "$user")" --kid kid-other --key "$OTHER_PRIV")
	cgi_call --token "$tok"
	assert_status 200
	# kid-other is withdrawn; an unknown kid makes the process fetch.
	jwks_serve "$case" "$JWKS_MAIN_FILE"
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid forged-1 --key "$FORGED_PRIV")"
	assert_error 401 Unauthorized
	fetches 2
	cgi_call --token "$tok"
	assert_error 401 Unauthorized
}
