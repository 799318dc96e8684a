#!/usr/bin/env bats
# fcgi-gate.bats: the gate, the program in the FastCGI AUTHORIZER role,
# asked as Apache's mod_authnz_fcgi asks (tests/helpers/fcgi-client.py:
# no FCGI_STDIN at all), by the same process that serves the endpoint in
# the RESPONDER role (cgi_call): every answer of docs/api.md's gate table.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/pgstop
load helpers/pglock
load helpers/gate

setup_file() {
	[[ ${HAVE_FASTCGI:-yes} == yes ]] || skip "built without FastCGI support"
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start
	fcgi_start
}

teardown_file() {
	resume_database
	fcgi_stop
	pg_stop
}

setup() {
	cgi_env_defaults
	gate_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
}

teardown() {
	resume_database
}

# assert_unauthorized: the gate's 401, its challenge exactly.
assert_unauthorized() {
	assert_gate_refusal 401 Unauthorized
	assert_that "$(header_value WWW-Authenticate)" == \
		'Bearer realm="chatkit-session", error="invalid_token"' \
		"WWW-Authenticate"
}

@test "a session that passes gets Status 200 first and exactly the four Variable- lines" {
	new_session "$user" dev-ok
	gate_call --token "$session_id"
	assert_status 200
	# Nothing else: Apache sends any other header on to the client.
	assert_that "$(cat -A "$gate_out")" == "$(printf '%s\r\n' \
		'Status: 200' \
		"Variable-CHATKIT_USER_ID: $user" \
		'Variable-CHATKIT_DEVICE_ID: dev-ok' \
		"Variable-CHATKIT_EXPIRES_AT: $session_expires" \
		'Variable-CHATKIT_ROLE: member' \
		'' | cat -A)" "the whole answer"
	assert_that "$gate_stderr" == "" "the log of a request that passed"
}

@test "no credential gets 401 with the gate's challenge" {
	gate_call
	assert_unauthorized
	assert_that "$gate_stderr" =~ 'gate: 401 no credential' "log"
}

@test "a value that is not a session id gets 401 and opens no database connection" {
	local tok value
	tok=$(valid_token "$user")
	gate_env=(CHATKIT_CONFIG="$BATS_FILE_TMPDIR/chatkit-empty.conf"
		CHATKIT_DATABASE_URL="$(pg_dead_url)")
	# A dead database would answer 503: 401 shows it was never asked.
	for value in "Bearer $tok" 'Bearer not-a-session' \
		'Bearer 2f1c0a47-5d7e-1b0e-9a51-7f0c2d9b6e13' \
		'Bearer 2f1c0a47-5d7e-4b0e-7a51-7f0c2d9b6e13' \
		'Bearer 2f1c0a475d7e4b0e9a517f0c2d9b6e13' \
		'Bearer 2f1c0a47-5d7e-4b0e-9a51-7f0c2d9b6e13x' \
		'Bearer 2f1c0a47-5d7e-4b0e-9a51-7f0c2d9b6e1g' \
		'Bearer' 'Bearer ' 'Basic dXNlcjpwYXNz' \
		'2f1c0a47-5d7e-4b0e-9a51-7f0c2d9b6e13' \
		'Bearer2f1c0a47-5d7e-4b0e-9a51-7f0c2d9b6e13'; do
		gate_call --authorization "$value"
		assert_unauthorized
		assert_that "$gate_stderr" =~ 'gate: 401 the credential is not a session id' \
			"log for '$value'"
		assert_that "$gate_stderr" !~ 'database' "log for '$value'"
	done
}

@test "an unknown session id gets 401, and the log never holds it whole" {
	local id
	id=$(cat /proc/sys/kernel/random/uuid)
	gate_call --token "$id"
	assert_unauthorized
	assert_json .message 'The ChatKit session is unknown, expired or revoked; get a new one.'
	assert_that "$gate_stderr" =~ "gate: 401 no active session has this token session=${id:0:8}\.\.\." "log"
	assert_that "$gate_stderr" !~ "${id:8}" "log"
}

@test "an expired session gets 401" {
	new_session "$user"
	gate_call --token "$session_id"
	assert_status 200
	pg_sql "update chatkit_sessions set expires_at = now() - interval '1 second'
		 where session_token = :'t'" t="$session_id"
	gate_call --token "$session_id"
	assert_unauthorized
}

@test "a session revoked through the endpoint gets 401 on the very next request" {
	local tok
	new_session "$user" dev-revoke
	gate_call --token "$session_id"
	assert_status 200
	tok=$(valid_token "$user")
	cgi_call -X DELETE --token "$tok" --body '{"deviceId":"dev-revoke"}'
	assert_status 200
	assert_json .revoked 1
	gate_call --token "$session_id"
	assert_unauthorized
}

@test "one process serves both roles in turn" {
	local i
	for ((i = 0; i < 3; i++)); do
		new_session "$user" "dev-turn-$i"
		gate_call --token "$session_id"
		assert_status 200
		assert_that "$(header_value Variable-CHATKIT_DEVICE_ID)" == "dev-turn-$i" \
			"device of turn $i"
		cgi_call -X GET --token "$(valid_token "$user")"
		assert_status 200
		assert_json '.sessions | length' $((i + 1))
	done
	run -0 kill -0 "$FCGI_PID"
}

@test "an answered check frees the process at once, though the server still holds the connection" {
	# libfcgi's own close waits up to 2 s for the server to close first;
	# the gate closes after its answer, so the one process on
	# FCGI_SOCKET takes the next check while the first client holds on.
	local held=$BATS_TEST_TMPDIR/held i
	new_session "$user"
	mkdir -p "$held"
	(BATS_TEST_TMPDIR=$held gate_call --hold 6 --token "$session_id") >"$held/log" 2>&1 &
	for ((i = 0; i < 100; i++)); do
		grep -q '^Status: 200' "$held/gate-out" 2>/dev/null && break
		sleep 0.1
	done
	run -0 grep -q '^Status: 200' "$held/gate-out"
	gate_call --token "$session_id"
	assert_status 200
	((took < 1500)) || die "the next check took $took ms while the first connection was held"
	wait
}

@test "a user deactivated after a pass gets 403 on the next request" {
	new_session "$user"
	gate_call --token "$session_id"
	assert_status 200
	pg_sql "update users set is_active = false where clerk_user_id = :'id'" id="$user"
	gate_call --token "$session_id"
	assert_gate_refusal 403 Forbidden
	assert_json .message 'User account is inactive'
	refute_header WWW-Authenticate
}

@test "a role not in CHATKIT_ALLOWED_ROLES gets 403; an allowed one passes with its role" {
	local admin
	admin=$(unique_id admin)
	pg_add_user "$admin" admin
	new_session "$user"
	gate_call --token "$session_id" CHATKIT_ALLOWED_ROLES=admin,owner
	assert_gate_refusal 403 Forbidden
	assert_json .message 'User role not allowed'

	new_session "$admin"
	gate_call --token "$session_id" CHATKIT_ALLOWED_ROLES=admin,owner
	assert_status 200
	assert_that "$(header_value Variable-CHATKIT_ROLE)" == admin "role"
}

@test "with CHATKIT_SESSION_RATE=3 the 4th request gets 429 with Retry-After; another session still passes" {
	local i first
	new_session "$user" dev-a
	first=$session_id
	for ((i = 1; i <= 3; i++)); do
		gate_call --token "$first" CHATKIT_SESSION_RATE=3
		assert_status 200
	done
	gate_call --token "$first" CHATKIT_SESSION_RATE=3
	assert_gate_refusal 429 'Too Many Requests'
	assert_header Retry-After '^([1-9]|[1-5][0-9]|60)$'
	assert_json .message "Too many requests for this session: at most 3 a minute. Try again in $(header_value Retry-After) seconds."

	# The rate is per session, not per user.
	new_session "$user" dev-b
	gate_call --token "$session_id" CHATKIT_SESSION_RATE=3
	assert_status 200
}

@test "CHATKIT_SESSION_RATE=0 sets no limit" {
	local i
	new_session "$user"
	for ((i = 0; i < 5; i++)); do
		gate_call --token "$session_id" CHATKIT_SESSION_RATE=1
	done
	assert_status 429
	gate_call --token "$session_id" CHATKIT_SESSION_RATE=0
	assert_status 200
}

@test "a database that stops answering gets 503 with Retry-After within CHATKIT_DB_TIMEOUT, never 401" {
	new_session "$user"
	gate_call --token "$session_id" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	stop_database_after 0
	wait "$stopper"
	# Another URL: the process opens a new connection for it (the
	# postmaster is stopped, the backend of the kept one is not).
	gate_call --token "$session_id" CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="$CHATKIT_DATABASE_URL connect_timeout=30"
	assert_gate_refusal 503 'Service Unavailable'
	assert_header Retry-After '^[0-9]+$'
	refute_header WWW-Authenticate
	# 2 s, the cancel's 1 s and room for a loaded machine.
	((took <= 5000)) || fail "the answer took $took ms"
	((took >= 1900)) || fail "answered after $took ms, before the 2 s timeout"
	assert_that "$gate_stderr" =~ 'gate: 503 database connection timed out' "log"
}

@test "the gate needs no workflow id and no key, and never reads the body" {
	new_session "$user"
	# gate_env has neither; CONTENT_LENGTH says a body comes, none does.
	gate_call --timeout 5 --token "$session_id" CONTENT_LENGTH=100000
	assert_status 200
	((took < 4000)) || fail "the answer took $took ms"
}

@test "a setting the gate uses that does not parse gets 500 Configuration Error" {
	new_session "$user"
	gate_call --token "$session_id" CHATKIT_SESSION_RATE=fast
	assert_gate_refusal 500 'Configuration Error'
	assert_json .message 'Setting CHATKIT_SESSION_RATE is invalid.'
	assert_that "$gate_stderr" =~ 'CHATKIT_SESSION_RATE="fast" is not a whole number' "log"
}

@test "on a kept connection of its own the gate's check and the endpoint's call both run as named statements" {
	local url="$CHATKIT_DATABASE_URL connect_timeout=8" mark
	new_session "$user" dev-named
	pg_sql "alter role chatkit set log_statement = 'all'" >/dev/null
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	# A new connection: its first call is unnamed, the next prepare.
	gate_call --token "$session_id" CHATKIT_DATABASE_URL="$url"
	assert_status 200
	gate_call --token "$session_id" CHATKIT_DATABASE_URL="$url"
	assert_status 200
	session_call "$user" --body '{"deviceId":"dev-named"}' CHATKIT_DATABASE_URL="$url"
	assert_status 200
	session_call "$user" --body '{"deviceId":"dev-named"}' CHATKIT_DATABASE_URL="$url"
	assert_status 200
	gate_call --token "$session_id" CHATKIT_DATABASE_URL="$url"
	assert_status 200
	pg_sql "alter role chatkit reset log_statement" >/dev/null
	tail -n +"$((mark + 1))" "$PG_TEST_DIR/server.log" >"$BATS_TEST_TMPDIR/log"
	assert_that "$(grep -c 'execute chatkit_check_[0-9a-f]*:' "$BATS_TEST_TMPDIR/log")" == 2 \
		"executions of the gate's named statement"
	assert_that "$(grep -c 'execute chatkit_acquire_[0-9a-f]*:' "$BATS_TEST_TMPDIR/log")" == 2 \
		"executions of the endpoint's named statement"
}
