#!/usr/bin/env bats
# cgi-keycache.bats: the key cache file as CGI processes share it, each
# request a process of its own that reads the file, and refetches when it
# is stale, untrusted or not a file: the kid-miss rate limit kept in the
# state file, stale keys while the server is down, bad answers that never
# replace good keys, and one fetch for many cold processes. CGI mode only:
# a FastCGI process keeps fresh keys in memory (fcgi-keycache.bats). The
# cache directory on a host shared with other users is keycache.bats.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/jwks
load helpers/netkeys

# keeps_old_keys MODE REASON: good keys cached and stale, the server then
# answers in MODE: the request still gets 200 with the old keys, the
# cache file is unchanged and the log gives REASON.
keeps_old_keys() {
	local mode=$1 reason=$2
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

@test "a stale cache is fetched again" {
	accepted
	make_stale
	accepted
	fetches 2
	run -0 find "$(cache_file)" -mmin -1
	assert_that "$output" == "$(cache_file)" "the cache file was replaced just now"
}

@test "a cache file that others may write is not trusted and is fetched again" {
	accepted
	chmod 0666 "$(cache_file)"
	accepted
	fetches 2
	assert_that "$cgi_stderr" =~ "not a file of this user" "the log says why"
}

@test "a FIFO planted in place of the cache file is passed over, not waited on" {
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

@test "a flood of unknown kids makes one fetch a minute" {
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

@test "50 concurrent cold CGI requests make exactly one fetch" {
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

@test "with the server down a stale cache within CLERK_JWKS_MAX_STALE answers 200" {
	accepted
	make_stale
	jwks_stop
	accepted
	assert_that "$cgi_stderr" =~ "JWKS fetch from $url failed: .*connect" "the log says why"
	assert_that "$cgi_stderr" =~ "using keys fetched [0-9]+ s ago" "the log says how old"
}

@test "with the server down a cache older than CLERK_JWKS_MAX_STALE gets 503" {
	accepted
	make_stale "3 days"
	jwks_stop
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	assert_header Retry-After '^[0-9]+$'
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
