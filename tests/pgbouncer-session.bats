#!/usr/bin/env bats
# pgbouncer-session.bats: every database call of the program once through
# pgbouncer in transaction pooling (a pool of 2 server connections, as
# helpers/pg.bash starts it for a pgbouncer-* file): create, reuse and
# refresh, the user checks, list and revoke, the device cap and the
# creation rate, and --cleanup. No call may lean on session state, so a
# call that works straight to PostgreSQL must work here too; the cases of
# each call are cgi-session.bats and cgi-manage.bats, concurrency through
# the pool is pgbouncer-concurrency.bats (a link to cgi-concurrency.bats).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# open DEVICE [cgi_call ARGS...]: a 200 POST for DEVICE as $user; sets sid
# to its chatKitSessionId.
open() {
	session_call "$user" --body "{\"deviceId\":\"$1\"}" "${@:2}"
	assert_status 200
	assert_json .session.deviceId "$1"
	sid=$(json_field .session.chatKitSessionId)
}

# statuses: "device:status" of each of $user's rows, oldest first.
statuses() {
	pg_sql "select string_agg(device_id || ':' || status, ' ' order by created_at, device_id)
		  from chatkit_sessions where clerk_user_id = :'id'" id="$user"
}

@test "a session is created, then reused, then refreshed when due" {
	local first
	open d1
	first=$sid
	open d1
	assert_that "$sid" == "$first" "chatKitSessionId of the second request"
	pg_sql "update chatkit_sessions set expires_at = now() + interval '30 minutes'
		 where clerk_user_id = :'id'" id="$user" >/dev/null
	open d1
	assert_that "$sid" != "$first" "chatKitSessionId after the refresh"
	assert_rows "$user" 1 "status = 'active'"
}

@test "a user without a users row gets 403 User role not found" {
	user=$(unique_id nouser)
	session_call "$user"
	assert_error 403 Forbidden '^User role not found'
	assert_rows "$user" 0
}

@test "GET lists the caller's sessions and DELETE revokes one" {
	open dev-a
	open dev-b
	session_call "$user" -X GET
	assert_status 200
	assert_json '[.sessions[].deviceId] | join(" ")' "dev-b dev-a"
	session_call "$user" -X DELETE --body '{"deviceId":"dev-a"}'
	assert_status 200
	assert_json .revoked 1
	assert_that "$(statuses)" == "dev-a:revoked dev-b:active" "rows after the DELETE"
}

@test "with CHATKIT_MAX_DEVICES=2 a third device revokes the least recently active session" {
	cgi_env+=(CHATKIT_MAX_DEVICES=2)
	open dev-1
	open dev-2
	open dev-3
	assert_that "$(statuses)" == "dev-1:revoked dev-2:active dev-3:active" "rows"
}

@test "with CHATKIT_CREATE_RATE=2 the third create gets 429 with Retry-After" {
	cgi_env+=(CHATKIT_CREATE_RATE=2)
	open dev-1
	open dev-2
	session_call "$user" --body '{"deviceId":"dev-3"}'
	assert_error 429 'Too Many Requests'
	assert_near 3600 "$(header_value Retry-After)" 5 Retry-After
	assert_rows "$user" 2
}

@test "--cleanup marks expired sessions and deletes old revoked rows" {
	seed "$user" 2 active "now() - interval '2 days'" "now() - interval '1 day'" "now() - interval '1 day'"
	seed "$user" 3 revoked "now() - interval '40 days'" "now() + interval '1 day'" "now() - interval '31 days'"
	run --separate-stderr timeout -k 5 120 env -i PATH=/usr/bin:/bin \
		"${cgi_env[@]}" "$CGI" --cleanup
	assert_success
	assert_output --regexp '^cleanup: [0-9]+ marked expired, [0-9]+ expired and [0-9]+ revoked rows deleted'
	assert_rows "$user" 2 "status = 'expired'"
	assert_rows "$user" 0 "status = 'revoked'"
}
