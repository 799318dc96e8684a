# netkeys.bash: the fixture of the files whose keys come from the network
# (cgi-netkeys.bats, its link fcgi-netkeys.bats, cgi-keycache.bats,
# fcgi-keycache.bats),
# loaded after helpers/common and helpers/jwks: keys, a throwaway
# PostgreSQL and the tests' own HTTPS JWKS server per file (and, run as
# fcgi-*.bats, the file's FastCGI processes); per test a case of its own
# on the server ($case, $url), a cache directory of its own ($cache), the
# settings without a key file, and a fresh user in $user. FORGED_PRIV is
# a key whose public half the server never serves.

setup_file() {
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start
	jwks_setup "$BATS_FILE_TMPDIR/jwks"
	jwks_start
	# A second pair whose public key the server never serves.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$BATS_FILE_TMPDIR/keys/forged.key" 2>/dev/null
	export FORGED_PRIV=$BATS_FILE_TMPDIR/keys/forged.key
	[[ $CGI_MODE != fastcgi ]] || fcgi_start
}

teardown_file() {
	[[ $CGI_MODE != fastcgi ]] || fcgi_stop
	jwks_stop
	pg_stop
}

# netkeys_setup, netkeys_teardown: setup's and teardown's work, for a
# file that adds its own to them.
setup() { netkeys_setup; }
teardown() { netkeys_teardown; }

netkeys_setup() {
	cgi_env_defaults
	# No key file: the keys come from the network.
	local -a kept=()
	local kv
	for kv in "${cgi_env[@]}"; do
		[[ $kv == CLERK_JWT_KEY_FILE=* ]] || kept+=("$kv")
	done
	cgi_env=("${kept[@]}")
	case=c$BATS_TEST_NUMBER
	url=$(jwks_case "$case")
	cache=$BATS_TEST_TMPDIR/cache
	cgi_env+=("CLERK_JWKS_URL=$url" "CHATKIT_CACHE_DIR=$cache"
		"CHATKIT_CA_FILE=$JWKS_CA_FILE")
	user=$(unique_id)
	pg_add_user "$user"
}

netkeys_teardown() {
	# A test that stopped the server or switched its certificate leaves
	# it as the next test expects it.
	jwks_cert good
	jwks_running || jwks_start
}

# accepted [cgi_call ARGS...]: a valid token for $user opens a session.
accepted() {
	cgi_call --token "$(valid_token "$user")" "$@"
	assert_status 200
	assert_json .session.userId "$user"
}

# cache_file: the one JWKS file in the test's cache directory.
cache_file() {
	local f
	for f in "$cache"/*.json; do
		[[ -f $f ]] && printf '%s\n' "$f"
	done
}

# make_stale [AGE]: the cached keys were fetched AGE ago (default 2
# hours: past CLERK_JWKS_TTL's 3600 s, within CLERK_JWKS_MAX_STALE).
make_stale() {
	touch -d "-${1:-2 hours}" "$(cache_file)"
}

# fetches N: the server has had N requests for this test's case.
fetches() {
	assert_that "$(jwks_count "$case")" == "$1" "JWKS fetches"
}

