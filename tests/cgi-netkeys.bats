#!/usr/bin/env bats
# cgi-netkeys.bats: keys fetched from the network (CLERK_JWKS_URL,
# CLERK_PUBLISHABLE_KEY) against the tests' own HTTPS server on loopback
# (helpers/jwks.bash): one fetch, then the shared cache; rotation; the
# kid-miss rate limit; stale keys while the server is down; 503 when no
# key can be had; bad answers that never replace good keys.
#
# Each test has a case of its own on the server (its own URL, document,
# mode and request counter) and a cache directory of its own.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/jwks

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

setup() {
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

teardown() {
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

# --- one fetch, then the cache ---------------------------------------------

@test "the first request fetches the keys and the next one does not" {
	accepted
	fetches 1
	accepted
	fetches 1
}

@test "the cache is one file per URL, readable and writable by its owner only" {
	accepted
	run -0 stat -c '%a %U' "$(cache_file)"
	assert_that "$output" == "600 $(id -un)" "mode and owner of the cache file"
	run -0 stat -c '%a' "$cache"
	assert_that "$output" == 700 "mode of the cache directory it created"
	run -0 cmp "$(cache_file)" "$JWKS_MAIN_FILE"
}

@test "a stale cache is fetched again" {
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	accepted
	make_stale
	accepted
	fetches 2
	run -0 find "$(cache_file)" -mmin -1
	assert_that "$output" == "$(cache_file)" "the cache file was replaced just now"
}

@test "a cache file that others may write is not trusted and is fetched again" {
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	accepted
	chmod 0666 "$(cache_file)"
	accepted
	fetches 2
	assert_that "$cgi_stderr" =~ "not a file of this user" "the log says why"
}

@test "a FIFO planted in place of the cache file is passed over, not waited on" {
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	accepted
	local f
	f=$(cache_file)
	rm -f "$f"
	mkfifo -m 0600 "$f"
	accepted
	fetches 2
	run -0 stat -c %F "$f"
	assert_that "$output" == "regular file" "the fetch replaced the FIFO"
}

@test "a state file of another user is not locked: the process fetches for itself and says why" {
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	accepted
	local f
	f=$(cache_file)
	chown nobody "${f%.json}.state"
	make_stale
	accepted
	fetches 2
	assert_that "$cgi_stderr" =~ "state is not a file of this user: keys are fetched for this process alone" "the log says why"
	run -0 find "$f" -mmin +60
	assert_that "$output" == "$f" "the cache file was left as it was"
}

@test "a static key source wins over the network" {
	cgi_call --token "$(valid_token "$user")" "CLERK_JWT_KEY_FILE=$KEY_PUB"
	assert_status 200
	fetches 0
}

@test "a redirect to the same host is followed" {
	jwks_mode "$case" redirect-same
	accepted
	fetches 2
}

# --- rotation and unknown kids --------------------------------------------

@test "a new kid is accepted without a restart" {
	accepted
	jwks_serve "$case" "$JWKS_FILE" # kid-main and kid-other
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid kid-other --key "$OTHER_PRIV")"
	assert_status 200
	fetches 2
	# And the new set is what the next process reads.
	run -0 cmp "$(cache_file)" "$JWKS_FILE"
}

@test "a FastCGI process takes a new kid without a restart" {
	[[ $CGI_MODE == fastcgi ]] || skip "FastCGI only (fcgi-netkeys.bats)"
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
	[[ $CGI_MODE == fastcgi ]] || skip "FastCGI only (fcgi-netkeys.bats)"
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

@test "a flood of unknown kids makes one fetch a minute" {
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	local i
	accepted
	fetches 1
	for ((i = 0; i < 8; i++)); do
		cgi_call --token "$(mint_token --payload "$(claims "$user")" \
			--kid "forged-$i" --key "$FORGED_PRIV")"
		assert_error 401 Unauthorized
	done
	fetches 2
	# A minute later (as the state file tells it), one more.
	local f
	f=$(cache_file)
	printf 'v1 %s 0 %s\n' "$(($(now) - 61))" "$(($(now) - 61))" >"${f%.json}.state"
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid forged-late --key "$FORGED_PRIV")"
	assert_error 401 Unauthorized
	fetches 3
}

@test "a bad signature with a known kid gets 401" {
	accepted
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid kid-main --key "$FORGED_PRIV")"
	assert_error 401 Unauthorized
	assert_json .message "The session token signature is invalid."
}

@test "an unknown kid gets 401, not 503, while the server is down" {
	accepted
	jwks_stop
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid forged --key "$FORGED_PRIV")"
	assert_error 401 Unauthorized
}

@test "an invalid token with network keys never opens a database connection" {
	accepted
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid kid-main --key "$FORGED_PRIV")" \
		"CHATKIT_DATABASE_URL=$(pg_dead_url)"
	assert_error 401 Unauthorized
}

@test "50 concurrent cold CGI requests make exactly one fetch" {
	skip_in_fastcgi "50 CGI processes"
	local i tok n200=0
	local -a envw
	jwks_delay "$case" 0.5
	tok=$(valid_token "$user")
	envw=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST
		"HTTP_AUTHORIZATION=Bearer $tok" "${cgi_env[@]}")
	for ((i = 0; i < 50; i++)); do
		timeout -k 5 30 env -i "${envw[@]}" "$CGI" </dev/null \
			>"$BATS_TEST_TMPDIR/out.$i" 2>"$BATS_TEST_TMPDIR/err.$i" &
	done
	wait
	for ((i = 0; i < 50; i++)); do
		grep -q '^Status: 200' "$BATS_TEST_TMPDIR/out.$i" && n200=$((n200 + 1))
	done
	assert_that "$n200" == 50 "requests answered 200 ($(cat "$BATS_TEST_TMPDIR"/err.* | sort | uniq -c | head -5))"
	fetches 1
}

# --- the server down -------------------------------------------------------

@test "with the server down a fresh cache still answers 200" {
	accepted
	jwks_stop
	accepted
}

@test "with the server down a stale cache within CLERK_JWKS_MAX_STALE answers 200" {
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	accepted
	make_stale
	jwks_stop
	accepted
	assert_that "$cgi_stderr" =~ "JWKS fetch from $url failed: .*connect" "the log says why"
	assert_that "$cgi_stderr" =~ "using keys fetched [0-9]+ s ago" "the log says how old"
}

@test "with the server down a cache older than CLERK_JWKS_MAX_STALE gets 503" {
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	accepted
	make_stale "3 days"
	jwks_stop
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	assert_header Retry-After '^[0-9]+$'
}

@test "with the server down and nothing cached the answer is 503 with Retry-After" {
	jwks_stop
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	assert_header Retry-After '^[0-9]+$'
	refute_header WWW-Authenticate
}

@test "a failed fetch is not repeated by every request: the next one within seconds makes none" {
	jwks_mode "$case" status500
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	fetches 1
}

# --- bad answers keep the old keys ---------------------------------------

# keeps_old_keys MODE REASON: good keys cached and stale, the server then
# answers in MODE: the request still gets 200 with the old keys, the
# cache file is unchanged and the log gives REASON.
keeps_old_keys() {
	local mode=$1 reason=$2
	skip_in_fastcgi "the process keeps its fresh keys in memory"
	accepted
	make_stale
	if [[ $mode == wrong-ca ]]; then
		jwks_cert wrong
	else
		jwks_mode "$case" "$mode"
	fi
	accepted
	# A refused certificate ends the fetch before any HTTP request.
	if [[ $mode == wrong-ca ]]; then fetches 1; else fetches 2; fi
	run -0 cmp "$(cache_file)" "$JWKS_MAIN_FILE"
	assert_that "$cgi_stderr" =~ "JWKS fetch from $url failed: .*$reason" "the log says why"
}

@test "an answer that is not JSON keeps the old keys" {
	keeps_old_keys invalid "not a usable JWKS"
}

@test "an answer over 256 KiB keeps the old keys" {
	keeps_old_keys oversized "larger than 262144 bytes"
}

@test "an answer slower than 5 seconds keeps the old keys" {
	keeps_old_keys slow "Timeout"
}

@test "a certificate from another CA keeps the old keys" {
	keeps_old_keys wrong-ca "certificate"
}

@test "an HTTP error status keeps the old keys" {
	keeps_old_keys status500 "HTTP status 500"
}

@test "a redirect to another host is not followed and keeps the old keys" {
	keeps_old_keys redirect-other "redirects to another host"
}

@test "a certificate from another CA is refused on first use: 503" {
	jwks_cert wrong
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	fetches 0
}

# --- configuration ---------------------------------------------------------

@test "an http:// CLERK_JWKS_URL is a 500 Configuration Error naming the setting" {
	cgi_call --token "$(valid_token "$user")" "CLERK_JWKS_URL=http://localhost:$JWKS_PORT/$case/jwks.json"
	assert_error 500 "Configuration Error" "CLERK_JWKS_URL"
	fetches 0
}

@test "CLERK_PUBLISHABLE_KEY alone fetches from its Frontend API and checks the issuer" {
	local host=localhost:$JWKS_PORT
	url=$(jwks_case well-known)
	case=well-known
	cgi_call --token "$(valid_token "$user" iss="https://$host")" \
		-u CLERK_JWKS_URL "CLERK_PUBLISHABLE_KEY=$(publishable_key "$host")"
	assert_status 200
	fetches 1
	cgi_call --token "$(valid_token "$user")" \
		-u CLERK_JWKS_URL "CLERK_PUBLISHABLE_KEY=$(publishable_key "$host")"
	assert_error 401 Unauthorized
	assert_json .message "The session token has the wrong issuer."
}

@test "CLERK_JWKS_URL and CLERK_ISSUER win over what the publishable key implies" {
	cgi_call --token "$(valid_token "$user")" \
		"CLERK_ISSUER=$TOKEN_ISSUER" \
		"CLERK_PUBLISHABLE_KEY=$(publishable_key clerk.nowhere.invalid)"
	assert_status 200
	fetches 1
}

@test "a live publishable key (pk_live_) is read the same way" {
	local pk
	pk=$(publishable_key clerk.nowhere.invalid)
	cgi_call --token "$(valid_token "$user")" \
		"CLERK_ISSUER=$TOKEN_ISSUER" "CLERK_PUBLISHABLE_KEY=pk_live_${pk#pk_test_}"
	assert_status 200
}

# malformed_pk KEY: a 500 Configuration Error naming the setting.
malformed_pk() {
	cgi_call --token "$(valid_token "$user")" -u CLERK_JWKS_URL \
		"CLERK_PUBLISHABLE_KEY=$1"
	assert_error 500 "Configuration Error" "CLERK_PUBLISHABLE_KEY"
}

@test "a publishable key without the pk_test_/pk_live_ prefix is a 500 naming the setting" {
	malformed_pk "sk_test_$(printf 'clerk.example.com$' | base64)"
}

@test "a publishable key that is not base64 is a 500 naming the setting" {
	malformed_pk 'pk_test_not*base64!'
}

@test "a publishable key without the closing \$ is a 500 naming the setting" {
	malformed_pk "pk_test_$(printf 'clerk.example.com' | base64)"
}

@test "a publishable key whose host is not a DNS name is a 500 naming the setting" {
	malformed_pk "pk_test_$(printf 'clerk example/com$' | base64)"
}

@test "a publishable key with a bad port is a 500 naming the setting" {
	malformed_pk "pk_test_$(printf 'clerk.example.com:99999$' | base64)"
}

@test "CLERK_JWKS_TTL that is not a number of seconds is a 500 naming it" {
	cgi_call --token "$(valid_token "$user")" CLERK_JWKS_TTL=1h
	assert_error 500 "Configuration Error" "CLERK_JWKS_TTL"
}

@test "CLERK_JWKS_MAX_STALE that is negative is a 500 naming it" {
	cgi_call --token "$(valid_token "$user")" CLERK_JWKS_MAX_STALE=-1
	assert_error 500 "Configuration Error" "CLERK_JWKS_MAX_STALE"
}

@test "a cache directory that cannot be made is passed over with a reason in the log" {
	cache=$BATS_TEST_TMPDIR/missing/parent/cache
	accepted "CHATKIT_CACHE_DIR=$cache"
	fetches 1
	assert_that "$cgi_stderr" =~ "key cache directory $cache cannot be made: No such file or directory: not used" "the log says why"
}
