#!/usr/bin/env bats
# cgi-manage.bats: managing sessions on the same URL: GET lists the
# caller's active sessions, DELETE revokes one device's or all, the device
# cap (CHATKIT_MAX_DEVICES), the creation rate (CHATKIT_CREATE_RATE, 429
# with Retry-After). fcgi-manage.bats is a link to this file: the same
# behaviours in FastCGI mode, over the process's kept connection. Which
# DELETE bodies are refused is tests/unit/body.txt; pgbouncer-session.bats
# makes each call once through pgbouncer.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# list [cgi_call ARGS...]: GET as $user.
list() {
	session_call "$user" -X GET "$@"
}

# revoke BODY [cgi_call ARGS...]: DELETE as $user with BODY.
revoke() {
	local body=$1
	shift
	session_call "$user" -X DELETE --body "$body" "$@"
}

# open DEVICE [cgi_call ARGS...]: a 200 POST for DEVICE as $user; sets
# sid to its chatKitSessionId.
open() {
	local device=$1
	shift
	session_call "$user" --body "{\"deviceId\":\"$device\"}" "$@"
	assert_status 200
	sid=$(json_field .session.chatKitSessionId)
}

# statuses: "device:status" of each of $user's rows, oldest first.
statuses() {
	pg_sql "select string_agg(device_id || ':' || status, ' ' order by created_at, device_id)
		  from chatkit_sessions where clerk_user_id = :'id'" id="$user"
}

# --- GET -------------------------------------------------------------------

@test "GET lists the caller's active sessions, newest first" {
	open dev-a --body '{"deviceId":"dev-a","metadata":{"n":1}}'
	open dev-b
	list
	assert_status 200
	assert_header Cache-Control '^no-store$'
	assert_header Content-Type '^application/json$'
	assert_json '.sessions | length' 2
	assert_json '[.sessions[].deviceId] | join(" ")' "dev-b dev-a"
	assert_json '.sessions[1].metadata.n' 1
	assert_json '.sessions[0].workflowId' "$CGI_WORKFLOW_ID"
}

@test "a listed session has deviceId, workflowId, the three times and metadata" {
	open dev-a
	list
	assert_status 200
	assert_json '.sessions[0] | keys_unsorted | join(",")' \
		"deviceId,workflowId,createdAt,expiresAt,lastActivityAt,metadata"
	assert_that "$(json_field '.sessions[0].createdAt')" =~ "$ISO_MS_RE" createdAt
	assert_that "$(json_field '.sessions[0].expiresAt')" =~ "$ISO_MS_RE" expiresAt
	assert_that "$(json_field '.sessions[0].lastActivityAt')" =~ "$ISO_MS_RE" lastActivityAt
}

@test "a list never carries the chatKitSessionId" {
	open dev-a
	list
	assert_status 200
	refute_contains "$sid" "$http_body" "GET body"
	refute_contains chatKitSessionId "$http_body" "GET body"
}

@test "GET leaves out revoked, expired and other users' sessions" {
	local other
	open dev-live
	open dev-revoked
	open dev-expired
	open dev-marked
	pg_sql "update chatkit_sessions set status = 'revoked'
		 where clerk_user_id = :'u' and device_id = 'dev-revoked';
		update chatkit_sessions set expires_at = now() - interval '1 second'
		 where clerk_user_id = :'u' and device_id = 'dev-expired';
		update chatkit_sessions set status = 'expired'
		 where clerk_user_id = :'u' and device_id = 'dev-marked'" u="$user"
	other=$(unique_id other)
	pg_add_user "$other"
	session_call "$other" --body '{"deviceId":"dev-other"}'
	assert_status 200
	list
	assert_status 200
	assert_json '[.sessions[].deviceId] | join(" ")' dev-live
}

@test "GET of a user with no sessions is an empty list and creates none" {
	list
	assert_status 200
	assert_json '.sessions | length' 0
	assert_rows "$user" 0
}

@test "GET ignores a body it is sent" {
	open dev-a
	list --body '{"deviceId":"dev-other","all":true}'
	assert_status 200
	assert_json '[.sessions[].deviceId] | join(" ")' dev-a
	assert_rows "$user" 1 "status = 'active'"
}

@test "GET without a token gets 401 with a challenge" {
	cgi_call -X GET
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer '
	assert_header Cache-Control '^no-store$'
}

@test "GET with a token signed by another key gets 401" {
	cgi_call -X GET --token "$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")"
	assert_error 401 Unauthorized
}

@test "GET for a user without a users row gets 403 User role not found" {
	user=$(unique_id stranger)
	list
	assert_error 403 Forbidden '^User role not found$'
	assert_header Cache-Control '^no-store$'
}

@test "GET for an inactive user gets 403" {
	open dev-a
	pg_sql "update users set is_active = false where clerk_user_id = :'u'" u="$user"
	list
	assert_error 403 Forbidden
	refute_contains dev-a "$http_body" "403 body"
}

@test "GET for a role left out of CHATKIT_ALLOWED_ROLES gets 403" {
	list CHATKIT_ALLOWED_ROLES=admin
	assert_error 403 Forbidden
}

# --- DELETE ----------------------------------------------------------------

@test "DELETE with a deviceId revokes that device's session and answers revoked 1" {
	open dev-a
	open dev-b
	revoke '{"deviceId":"dev-a"}'
	assert_status 200
	assert_header Cache-Control '^no-store$'
	assert_json .revoked 1
	assert_that "$(statuses)" == "dev-a:revoked dev-b:active" "rows after the DELETE"
}

@test "DELETE with all true revokes every active session of the caller" {
	local other
	open dev-a
	open dev-b
	open dev-c
	other=$(unique_id other)
	pg_add_user "$other"
	session_call "$other" --body '{"deviceId":"dev-a"}'
	assert_status 200
	revoke '{"all":true}'
	assert_status 200
	assert_json .revoked 3
	assert_that "$(statuses)" == "dev-a:revoked dev-b:revoked dev-c:revoked" "rows after the DELETE"
	assert_rows "$other" 1 "status = 'active'"
}

@test "DELETE of a device with no active session answers revoked 0" {
	open dev-a
	revoke '{"deviceId":"dev-none"}'
	assert_status 200
	assert_json .revoked 0
	assert_that "$(statuses)" == "dev-a:active" "rows after the DELETE"
}

@test "a second DELETE of the same device answers revoked 0" {
	open dev-a
	revoke '{"deviceId":"dev-a"}'
	assert_json .revoked 1
	revoke '{"deviceId":"dev-a"}'
	assert_status 200
	assert_json .revoked 0
}

@test "DELETE all of a user with no sessions answers revoked 0" {
	revoke '{"all":true}'
	assert_status 200
	assert_json .revoked 0
}

@test "DELETE leaves expired rows as they are" {
	open dev-a
	pg_sql "update chatkit_sessions set expires_at = now() - interval '1 second'
		 where clerk_user_id = :'u'" u="$user"
	revoke '{"all":true}'
	assert_json .revoked 0
	assert_that "$(statuses)" == "dev-a:active" "rows after the DELETE"
}

@test "DELETE of a device revokes only the caller's session of that deviceId" {
	local other
	other=$(unique_id other)
	pg_add_user "$other"
	session_call "$other" --body '{"deviceId":"shared-name"}'
	assert_status 200
	open shared-name
	revoke '{"deviceId":"shared-name"}'
	assert_json .revoked 1
	assert_rows "$other" 1 "status = 'active'"
}

# Each row: a DELETE body the program must refuse with 400, changing
# nothing. One test walks them and names the row that fails.

@test "DELETE with no body gets 400 and changes nothing" {
	open dev-a
	session_call "$user" -X DELETE
	assert_error 400 'Bad Request'
	assert_that "$(statuses)" == "dev-a:active" "rows after the DELETE"
}

@test "a 400 for a DELETE body says what shape is expected" {
	revoke '{"all":false}'
	assert_error 400 'Bad Request' 'deviceId.*all'
}

@test "DELETE with a body that is not application/json gets 415" {
	open dev-a
	revoke '{"deviceId":"dev-a"}' CONTENT_TYPE=text/plain
	assert_error 415 'Unsupported Media Type'
	assert_that "$(statuses)" == "dev-a:active" "rows after the DELETE"
}

@test "DELETE with a body over 64 KiB gets 413" {
	revoke '{"all":true}' CONTENT_LENGTH=70000
	assert_error 413 'Payload Too Large'
}

@test "DELETE without a token gets 401 and revokes nothing" {
	open dev-a
	cgi_call -X DELETE --body '{"all":true}'
	assert_error 401 Unauthorized
	assert_that "$(statuses)" == "dev-a:active" "rows after the DELETE"
}

@test "DELETE for an inactive user gets 403 and revokes nothing" {
	open dev-a
	pg_sql "update users set is_active = false where clerk_user_id = :'u'" u="$user"
	revoke '{"all":true}'
	assert_error 403 Forbidden
	assert_that "$(statuses)" == "dev-a:active" "rows after the DELETE"
}

@test "DELETE for a user without a users row gets 403 User role not found" {
	user=$(unique_id stranger)
	revoke '{"all":true}'
	assert_error 403 Forbidden '^User role not found$'
}

@test "DELETE for a role left out of CHATKIT_ALLOWED_ROLES gets 403 and revokes nothing" {
	open dev-a
	revoke '{"all":true}' CHATKIT_ALLOWED_ROLES=admin
	assert_error 403 Forbidden
	assert_that "$(statuses)" == "dev-a:active" "rows after the DELETE"
}

# --- after a revoke --------------------------------------------------------

@test "a POST after its device was revoked creates a new session" {
	local old
	open dev-a
	old=$sid
	revoke '{"deviceId":"dev-a"}'
	assert_json .revoked 1
	open dev-a
	assert_that "$sid" != "$old" "chatKitSessionId after the revoke"
	assert_rows "$user" 1 "status = 'active' and session_token = '$sid'"
	assert_rows "$user" 1 "status = 'revoked' and session_token = '$old'"
}

@test "a POST without deviceId after revoking all creates a new session" {
	local old
	session_call "$user"
	assert_status 200
	old=$(json_field .session.chatKitSessionId)
	revoke '{"all":true}'
	session_call "$user"
	assert_status 200
	assert_that "$(json_field .session.chatKitSessionId)" != "$old" "chatKitSessionId after the revoke"
	assert_rows "$user" 2
}

@test "a revoked session due for refresh is not refreshed" {
	local old
	open dev-a
	old=$sid
	pg_sql "update chatkit_sessions set expires_at = now() + interval '10 minutes'
		 where clerk_user_id = :'u'" u="$user"
	revoke '{"deviceId":"dev-a"}'
	open dev-a
	assert_that "$sid" != "$old" "chatKitSessionId"
	assert_rows "$user" 1 "status = 'revoked' and session_token = '$old'
		and expires_at < now() + interval '11 minutes'"
	assert_rows "$user" 2
}

# --- methods ---------------------------------------------------------------

@test "PUT, PATCH, HEAD and OPTIONS get 405 with Allow: GET, POST, DELETE" {
	local m
	open dev-a
	for m in PUT PATCH HEAD OPTIONS; do
		session_call "$user" -X "$m" --body '{"all":true}'
		assert_that "$http_status" == 405 "status of $m"
		assert_error 405 'Method Not Allowed'
		assert_header Allow '^GET, POST, DELETE$'
		assert_header Cache-Control '^no-store$'
	done
	assert_that "$(statuses)" == "dev-a:active" "rows after the refused methods"
}

@test "a lower-case delete gets 405" {
	open dev-a
	session_call "$user" -X delete --body '{"all":true}'
	assert_error 405 'Method Not Allowed'
	assert_that "$(statuses)" == "dev-a:active" "rows after the refused method"
}

# --- device cap ------------------------------------------------------------

@test "with CHATKIT_MAX_DEVICES=3 a fourth device revokes the least recently active session" {
	cgi_env+=(CHATKIT_MAX_DEVICES=3)
	open dev-1
	open dev-2
	open dev-3
	open dev-4
	assert_that "$(statuses)" == "dev-1:revoked dev-2:active dev-3:active dev-4:active" "rows"
	list
	assert_json '.sessions | length' 3
}

@test "the cap goes by last activity: a refreshed session outlives newer untouched ones" {
	cgi_env+=(CHATKIT_MAX_DEVICES=3)
	open dev-1
	open dev-2
	open dev-3
	# dev-1 is due for refresh; its refresh makes it the most recent.
	pg_sql "update chatkit_sessions set expires_at = now() + interval '10 minutes'
		 where clerk_user_id = :'u' and device_id = 'dev-1'" u="$user"
	open dev-1
	open dev-4
	assert_that "$(statuses)" == "dev-1:active dev-2:revoked dev-3:active dev-4:active" "rows"
}

@test "reusing a device under the cap revokes nothing" {
	cgi_env+=(CHATKIT_MAX_DEVICES=2)
	open dev-1
	open dev-2
	open dev-1
	open dev-2
	assert_that "$(statuses)" == "dev-1:active dev-2:active" "rows"
}

@test "a user over the cap from before is brought down to it by the next create" {
	seed "$user" 5 active "now() - interval '1 day'" "now() + interval '1 hour'" "now()"
	cgi_env+=(CHATKIT_MAX_DEVICES=3 CHATKIT_CREATE_RATE=0)
	open dev-new
	assert_rows "$user" 3 "status = 'active'"
	assert_rows "$user" 1 "status = 'active' and device_id = 'dev-new'"
}

@test "the device cap is 10 by default" {
	local i
	seed "$user" 10 active "now() - interval '2 hours'" "now() + interval '20 hours'" "now()"
	open dev-11
	assert_rows "$user" 10 "status = 'active'"
	assert_rows "$user" 1 "status = 'revoked'"
}

@test "a create under REPEATABLE READ is refused, so the cap and the rate cannot be outrun" {
	local call="select outcome from chatkit_acquire_session(:'u', :'d', 'wf_test',
		86400, 3600, '{}'::jsonb, null, gen_random_uuid(), gen_random_uuid(), 3, 5)"
	# Under READ COMMITTED (the default) the same call creates.
	run -0 pg_sql "$call" u="$user" d=dev-rc
	assert_output created
	run ! pg_sql "begin isolation level repeatable read; $call; commit;" u="$user" d=dev-rr
	assert_output --partial "needs READ COMMITTED isolation, not repeatable read"
	assert_rows "$user" 0 "device_id = 'dev-rr'"
}

@test "CHATKIT_MAX_DEVICES=0 sets no cap" {
	seed "$user" 12 active "now() - interval '2 hours'" "now() + interval '20 hours'" "now()"
	cgi_env+=(CHATKIT_MAX_DEVICES=0)
	open dev-13
	assert_rows "$user" 13 "status = 'active'"
}

@test "CHATKIT_MAX_DEVICES=1 keeps only the newest device" {
	cgi_env+=(CHATKIT_MAX_DEVICES=1)
	open dev-1
	open dev-2
	assert_that "$(statuses)" == "dev-1:revoked dev-2:active" "rows"
}

@test "a CHATKIT_MAX_DEVICES that is not a whole number gets 500 naming it" {
	cgi_env+=(CHATKIT_MAX_DEVICES=ten)
	session_call "$user"
	assert_error 500 'Configuration Error' CHATKIT_MAX_DEVICES
	assert_rows "$user" 0
}

@test "a negative CHATKIT_MAX_DEVICES gets 500 naming it" {
	cgi_env+=(CHATKIT_MAX_DEVICES=-1)
	list
	assert_error 500 'Configuration Error' CHATKIT_MAX_DEVICES
}

# --- creation rate ---------------------------------------------------------

@test "with CHATKIT_CREATE_RATE=2 the third create gets 429 with Retry-After and writes nothing" {
	cgi_env+=(CHATKIT_CREATE_RATE=2)
	open dev-1
	open dev-2
	session_call "$user" --body '{"deviceId":"dev-3"}'
	assert_error 429 'Too Many Requests'
	assert_header Retry-After '^[0-9]+$'
	assert_header Cache-Control '^no-store$'
	assert_near 3600 "$(header_value Retry-After)" 5 Retry-After
	assert_rows "$user" 2
}

@test "Retry-After counts the seconds until the oldest create of the hour leaves it" {
	cgi_env+=(CHATKIT_CREATE_RATE=2)
	open dev-1
	open dev-2
	pg_sql "update chatkit_sessions set created_at = now() - interval '50 minutes'
		 where clerk_user_id = :'u' and device_id = 'dev-1';
		update chatkit_sessions set created_at = now() - interval '20 minutes'
		 where clerk_user_id = :'u' and device_id = 'dev-2'" u="$user"
	session_call "$user" --body '{"deviceId":"dev-3"}'
	assert_error 429 'Too Many Requests'
	assert_near 600 "$(header_value Retry-After)" 3 Retry-After
}

@test "a create is allowed again once the oldest create is an hour old" {
	cgi_env+=(CHATKIT_CREATE_RATE=2)
	open dev-1
	open dev-2
	pg_sql "update chatkit_sessions set created_at = now() - interval '61 minutes'
		 where clerk_user_id = :'u' and device_id = 'dev-1'" u="$user"
	open dev-3
	assert_rows "$user" 3
}

@test "revoked sessions still count toward the creation rate" {
	cgi_env+=(CHATKIT_CREATE_RATE=2)
	open dev-1
	open dev-2
	revoke '{"all":true}'
	assert_json .revoked 2
	session_call "$user" --body '{"deviceId":"dev-3"}'
	assert_error 429 'Too Many Requests'
}

@test "reuse and refresh are never rate limited" {
	local first
	cgi_env+=(CHATKIT_CREATE_RATE=1)
	open dev-1
	first=$sid
	open dev-1
	assert_that "$sid" == "$first" "reused chatKitSessionId"
	pg_sql "update chatkit_sessions set expires_at = now() + interval '10 minutes'
		 where clerk_user_id = :'u'" u="$user"
	open dev-1
	assert_that "$sid" != "$first" "refreshed chatKitSessionId"
	assert_rows "$user" 1
	session_call "$user" --body '{"deviceId":"dev-2"}'
	assert_status 429
}

@test "GET and DELETE are never rate limited" {
	cgi_env+=(CHATKIT_CREATE_RATE=1)
	open dev-1
	list
	assert_status 200
	revoke '{"all":true}'
	assert_status 200
}

@test "the creation rate is 30 an hour by default" {
	seed "$user" 29 revoked "now() - interval '30 minutes'" "now() + interval '1 hour'" "now()"
	open dev-30
	session_call "$user" --body '{"deviceId":"dev-31"}'
	assert_error 429 'Too Many Requests'
	assert_near 1800 "$(header_value Retry-After)" 5 Retry-After
}

@test "CHATKIT_CREATE_RATE=0 sets no limit" {
	seed "$user" 40 revoked "now() - interval '10 minutes'" "now() + interval '1 hour'" "now()"
	cgi_env+=(CHATKIT_CREATE_RATE=0)
	open dev-41
	assert_rows "$user" 41
}

@test "the creation rate is per user" {
	local other
	cgi_env+=(CHATKIT_CREATE_RATE=1)
	open dev-1
	other=$(unique_id other)
	pg_add_user "$other"
	session_call "$other" --body '{"deviceId":"dev-1"}'
	assert_status 200
}

@test "a user refused by the user checks gets 403, not 429" {
	cgi_env+=(CHATKIT_CREATE_RATE=1)
	open dev-1
	pg_sql "update users set is_active = false where clerk_user_id = :'u'" u="$user"
	session_call "$user" --body '{"deviceId":"dev-2"}'
	assert_error 403 Forbidden
}

@test "a CHATKIT_CREATE_RATE that is not a whole number gets 500 naming it" {
	cgi_env+=(CHATKIT_CREATE_RATE=1.5)
	session_call "$user"
	assert_error 500 'Configuration Error' CHATKIT_CREATE_RATE
	assert_rows "$user" 0
}
