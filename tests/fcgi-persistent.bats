#!/usr/bin/env bats
# fcgi-persistent.bats: one long-lived FastCGI process of the program:
# it keeps serving, notices changed configuration and keys, survives a
# PostgreSQL restart and a server that stops answering, and does not
# grow.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/pglock
load helpers/pgstop
load helpers/timeout
load helpers/fixture

teardown() {
	resume_database
	unlock_users
	# A test that started one and failed before stopping it.
	pgb_stop
}

# fcgi_children_fds: "CHILDREN FDS" of the file's FastCGI process.
fcgi_children_fds() {
	local pid children
	read -r pid <"$(_fcgi_dir)/0.pid"
	children=$(cat /proc/"$pid"/task/*/children)
	printf '%s %s\n' "$(wc -w <<<"$children")" "$(ls /proc/"$pid"/fd | wc -l)"
}

# rss_kb: the FastCGI process's resident set, in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$FCGI_PID/status"
}

@test "one FastCGI process answers many requests with the same session" {
	local first i
	session_call "$user"
	assert_status 200
	first=$(json_field .session.chatKitSessionId)
	for ((i = 0; i < 30; i++)); do
		session_call "$user"
		assert_status 200
		assert_json .session.chatKitSessionId "$first"
	done
	run -0 kill -0 "$FCGI_PID"
}

@test "a changed CHATKIT_CONFIG file is read again without a restart" {
	local conf=$BATS_TEST_TMPDIR/chatkit.conf
	printf 'CHATKIT_WORKFLOW_ID=wf_before\n' >"$conf"
	session_call "$user" -u CHATKIT_WORKFLOW_ID CHATKIT_CONFIG="$conf" \
		--body '{"deviceId":"before"}'
	assert_status 200
	assert_json .session.workflowId wf_before

	printf 'CHATKIT_WORKFLOW_ID=wf_after_the_change\n' >"$conf"
	session_call "$user" -u CHATKIT_WORKFLOW_ID CHATKIT_CONFIG="$conf" \
		--body '{"deviceId":"after"}'
	assert_status 200
	assert_json .session.workflowId wf_after_the_change
}

@test "a replaced key file is read again: the old key's tokens stop working" {
	local keyfile=$BATS_TEST_TMPDIR/clerk.pem tok_main tok_other
	cp "$KEY_PUB" "$keyfile"
	tok_main=$(valid_token "$user")
	tok_other=$(mint_token --key "$OTHER_PRIV" --payload "$(claims "$user")")

	cgi_call --token "$tok_main" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 200
	cgi_call --token "$tok_other" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 401

	cp "$OTHER_PUB" "$keyfile.new" && mv "$keyfile.new" "$keyfile"
	cgi_call --token "$tok_main" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 401
	cgi_call --token "$tok_other" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 200
}

# other_token: a token for $user signed with the second key, kid-other.
other_token() {
	mint_token --key "$OTHER_PRIV" --kid kid-other --payload "$(claims "$user")"
}

@test "a key removed from CLERK_JWKS_FILE stops verifying without a restart" {
	local jwks=$BATS_TEST_TMPDIR/jwks.json tok
	cp "$JWKS_FILE" "$jwks"
	tok=$(other_token)
	cgi_call --token "$tok" -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$jwks"
	assert_status 200

	cp "$JWKS_MAIN_FILE" "$jwks.new" && mv "$jwks.new" "$jwks"
	cgi_call --token "$tok" -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$jwks"
	assert_error 401 Unauthorized
}

@test "a kid added to CLERK_JWKS_FILE is accepted without a restart" {
	local jwks=$BATS_TEST_TMPDIR/jwks.json tok
	cp "$JWKS_MAIN_FILE" "$jwks"
	tok=$(other_token)
	cgi_call --token "$tok" -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$jwks"
	assert_error 401 Unauthorized

	cp "$JWKS_FILE" "$jwks.new" && mv "$jwks.new" "$jwks"
	cgi_call --token "$tok" -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$jwks"
	assert_status 200
}

@test "a settings change sent as FastCGI params takes effect at once" {
	session_call "$user" CHATKIT_WORKFLOW_ID=wf_param_one --body '{"deviceId":"p1"}'
	assert_status 200
	assert_json .session.workflowId wf_param_one
	session_call "$user" CHATKIT_WORKFLOW_ID=wf_param_two --body '{"deviceId":"p2"}'
	assert_status 200
	assert_json .session.workflowId wf_param_two
	session_call "$user" -u CHATKIT_WORKFLOW_ID --body '{"deviceId":"p3"}'
	assert_error 500 "Configuration Error" "workflow ID not configured"
}

@test "after a PostgreSQL restart the next request succeeds on a new connection" {
	local id
	session_call "$user"
	assert_status 200
	id=$(json_field .session.chatKitSessionId)

	pg_restart
	session_call "$user"
	assert_status 200
	assert_json .session.chatKitSessionId "$id"
	assert_that "$(rows "$user" "status = 'active'")" == 1 "active rows"
}

@test "a server that stops answering leaves the FastCGI process no child and no descriptor" {
	local before
	session_call "$user" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	before=$(fcgi_children_fds)
	stopped_within 4000
	resume_database
	unlock_users
	session_call "$user" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	assert_equal "$(fcgi_children_fds)" "$before"
}

# log_since MARK: the server log after its first MARK lines.
log_since() {
	tail -n +"$(($1 + 1))" "$PG_TEST_DIR/server.log"
}

# four_requests URL: four reuse requests over one new connection to URL
# (a URL the process has not seen yet opens one), all 200, one session.
four_requests() {
	local i first
	for ((i = 0; i < 4; i++)); do
		session_call "$user" CHATKIT_DATABASE_URL="$1"
		assert_status 200
		[[ -n ${first:-} ]] || first=$(json_field .session.chatKitSessionId)
		assert_json .session.chatKitSessionId "$first"
	done
}

@test "on a backend of its own the call runs as a named statement" {
	local mark
	pg_sql "alter role chatkit set log_statement = 'all'" >/dev/null
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	four_requests "$CHATKIT_DATABASE_URL connect_timeout=9"
	pg_sql "alter role chatkit reset log_statement" >/dev/null
	# The first request on a new connection takes the plain-SQL first step
	# (and, the user having no session yet, an unnamed acquire call); the
	# second prepares, it and the next two execute the named statement.
	assert_that "$(log_since "$mark" | grep -c 'execute chatkit_acquire_[0-9a-f]*:')" == 3 \
		"executions of the named statement"
}

@test "behind pgbouncer the call stays an unnamed statement" {
	local mark
	pg_sql "alter role chatkit set log_statement = 'all'" >/dev/null
	pgb_start 1
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	four_requests "$PGB_URL"
	pg_sql "alter role chatkit reset log_statement" >/dev/null
	pgb_stop
	log_since "$mark" >"$BATS_TEST_TMPDIR/log"
	assert_that "$(grep -c 'chatkit_acquire_[0-9a-f]' "$BATS_TEST_TMPDIR/log")" == 0 \
		"named statements through pgbouncer"
	# At most one look at the backend's pid: pgbouncer's made-up one is
	# no process id at all (above 4194304) 999 times in 1000, and then
	# needs no asking. The acquire call of the first request (the user
	# has no session yet) and of the three after it, all unnamed.
	assert_that "$(grep -c 'SELECT pg_backend_pid()' "$BATS_TEST_TMPDIR/log")" =~ '^[01]$' \
		"checks whose backend it is"
	assert_that "$(grep -c 'execute <unnamed>: SELECT .* FROM chatkit_acquire_session' \
		"$BATS_TEST_TMPDIR/log")" == 4 "unnamed acquire calls"
}

# named_and_unnamed MARK: "N M", executions of the named acquire statement
# and of the unnamed acquire call in the server log after line MARK.
named_and_unnamed() {
	log_since "$1" >"$BATS_TEST_TMPDIR/log"
	printf '%s %s\n' \
		"$(grep -c 'execute chatkit_acquire_[0-9a-f]*:' "$BATS_TEST_TMPDIR/log")" \
		"$(grep -c 'execute <unnamed>: SELECT .* FROM chatkit_acquire_session' \
			"$BATS_TEST_TMPDIR/log")"
}

# two_then_locked URL: on a new connection to URL, two requests (the
# second prepares the named statement), then one while users is locked,
# which must get 503 within 12 s.
two_then_locked() {
	local start took
	session_call "$user" CHATKIT_DATABASE_URL="$1" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	session_call "$user" CHATKIT_DATABASE_URL="$1" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	lock_users
	start=$(now_ms)
	CGI_TIMEOUT=25 session_call "$user" CHATKIT_DATABASE_URL="$1" \
		CHATKIT_DB_TIMEOUT=2
	took=$(($(now_ms) - start))
	assert_error 503 'Service Unavailable'
	((took <= 12000)) || fail "the answer took $took ms"
	unlock_users
}

@test "after a call cancelled at CHATKIT_DB_TIMEOUT the connection serves the next request with the named statement" {
	local mark
	pg_sql "alter role chatkit set log_statement = 'all'" >/dev/null
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	two_then_locked "$CHATKIT_DATABASE_URL connect_timeout=7"
	session_call "$user" CHATKIT_DATABASE_URL="$CHATKIT_DATABASE_URL connect_timeout=7" \
		CHATKIT_DB_TIMEOUT=2
	pg_sql "alter role chatkit reset log_statement" >/dev/null
	assert_status 200
	# The first request's acquire call is unnamed; the second, the
	# cancelled third and the fourth run the named statement.
	assert_equal "$(named_and_unnamed "$mark")" "3 1"
}

@test "a server-side statement timeout on the named statement is neither run again nor the end of it" {
	local mark url
	url="$CHATKIT_DATABASE_URL connect_timeout=6 options='-c statement_timeout=1500'"
	pg_sql "alter role chatkit set log_statement = 'all'" >/dev/null
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	two_then_locked "$url"
	session_call "$user" CHATKIT_DATABASE_URL="$url" CHATKIT_DB_TIMEOUT=2
	pg_sql "alter role chatkit reset log_statement" >/dev/null
	assert_status 200
	assert_equal "$(log_since "$mark" |
		grep -c 'canceling statement due to statement timeout')" 1
	assert_equal "$(named_and_unnamed "$mark")" "3 1"
}

# raw_requests N OUT: N requests straight to the file's FastCGI process
# with cgi-fcgi, in turn a new session's POST, a bad token, a body that is
# not JSON and a GET without credentials; the answers are appended to OUT
# unparsed (cgi_call's checks and log would cost more than the requests).
raw_requests() {
	local n=$1 out=$2 i tok dir=$BATS_TEST_TMPDIR/raw
	local -a base=(GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1
		SCRIPT_NAME=/api/chatkit/session REQUEST_URI=/api/chatkit/session
		REMOTE_ADDR=127.0.0.1 "${cgi_env[@]}")
	mkdir -p "$dir"
	# Valid for an hour, whatever the machine's load makes of the run.
	tok=$(valid_token "$user" exp:=$(($(now) + 3600)))
	printf '{"metadata":{"k":"v"}}' >"$dir/good"
	printf '[1,2' >"$dir/bad"
	for ((i = 0; i < n; i++)); do
		case $((i % 4)) in
		0) env -i "${base[@]}" REQUEST_METHOD=POST "HTTP_AUTHORIZATION=Bearer $tok" \
			CONTENT_TYPE=application/json CONTENT_LENGTH=22 \
			cgi-fcgi -bind -connect "$FCGI_SOCKET" <"$dir/good" ;;
		1) env -i "${base[@]}" REQUEST_METHOD=POST "HTTP_AUTHORIZATION=Bearer x$tok" \
			cgi-fcgi -bind -connect "$FCGI_SOCKET" </dev/null ;;
		2) env -i "${base[@]}" REQUEST_METHOD=POST "HTTP_AUTHORIZATION=Bearer $tok" \
			CONTENT_TYPE=application/json CONTENT_LENGTH=4 \
			cgi-fcgi -bind -connect "$FCGI_SOCKET" <"$dir/bad" ;;
		3) env -i "${base[@]}" REQUEST_METHOD=GET \
			cgi-fcgi -bind -connect "$FCGI_SOCKET" </dev/null ;;
		esac
	done >>"$out" 2>&1
}

@test "memory stays flat over 2000 requests" {
	# AddressSanitizer keeps freed memory in quarantine on purpose; its
	# LeakSanitizer checks leaks in that build instead.
	[[ ${SANITIZERS:-no} != yes ]] || skip "RSS is not meaningful under AddressSanitizer"
	local before after out=$BATS_TEST_TMPDIR/answers
	raw_requests 200 "$BATS_TEST_TMPDIR/warm-up"
	before=$(rss_kb)
	raw_requests 2000 "$out"
	after=$(rss_kb)
	run -0 kill -0 "$FCGI_PID"
	# Every request was answered, each kind as it should be.
	assert_that "$(grep -c '^Status: 200' "$out")" == 500 "answers 200"
	assert_that "$(grep -c '^Status: 401' "$out")" == 1000 "answers 401"
	assert_that "$(grep -c '^Status: 400' "$out")" == 500 "answers 400"
	# Allocator noise is a few pages; a leak of even 100 bytes a request
	# would add about 200 KiB here.
	((after - before < 200)) ||
		die "RSS grew by $((after - before)) KiB ($before -> $after KiB)"
}

@test "a token that passed once is still refused once it expires" {
	local tok
	tok=$(valid_token "$user" exp:=$(($(now) + 2)))
	cgi_call --token "$tok" CLERK_CLOCK_SKEW=0
	assert_status 200
	cgi_call --token "$tok" CLERK_CLOCK_SKEW=0
	assert_status 200
	sleep 3
	cgi_call --token "$tok" CLERK_CLOCK_SKEW=0
	assert_error 401 Unauthorized "expired"
}
