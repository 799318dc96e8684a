#!/usr/bin/env bats
# cgi-session.bats: reuse, refresh and create, device scoping, settings
# that shape a session, and the user checks (403). The database is looked
# at directly (pg_sql) to see what a request left behind.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# open_session [cgi_call ARGS...]: a 200 session for $user; sets sid,
# device, created and expires from it.
open_session() {
	session_call "$user" "$@"
	assert_status 200
	assert_json .session.userId "$user"
	assert_header Cache-Control '^no-store$'
	sid=$(json_field .session.chatKitSessionId)
	device=$(json_field .session.deviceId)
	created=$(json_field .session.createdAt)
	expires=$(json_field .session.expiresAt)
}

# set_rows SQL-ASSIGNMENTS: UPDATE all of $user's rows.
set_rows() {
	pg_sql "update chatkit_sessions set $1 where clerk_user_id = :'id'" \
		id="$user" >/dev/null
}

# row_id TOKEN: the id of the row whose session_token is TOKEN.
row_id() {
	pg_sql "select id from chatkit_sessions where session_token = :'t'" t="$1"
}

# --- reuse, refresh, create ------------------------------------------------

@test "a second request reuses the active session" {
	local first
	open_session
	first=$sid
	open_session
	assert_that "$sid" == "$first" "chatKitSessionId of the second request"
	assert_header Cache-Control '^no-store$'
	assert_rows "$user" 1
}

@test "every new row gets its own random v4 UUIDs as id and token" {
	local i v
	for ((i = 0; i < 10; i++)); do
		open_session --body "{\"deviceId\":\"uuid-$i\"}"
	done
	# Ids and tokens of the ten rows, all twenty different.
	pg_sql "select id::text, session_token from chatkit_sessions
		where clerk_user_id = :'id'" id="$user" | tr '|' '\n' >"$BATS_TEST_TMPDIR/u"
	assert_that "$(sort -u "$BATS_TEST_TMPDIR/u" | wc -l)" == 20 "distinct ids and tokens"
	while read -r v; do
		assert_that "$v" =~ "$UUID_V4_RE" "id or token is a v4 UUID"
	done <"$BATS_TEST_TMPDIR/u"
}

@test "a reused session keeps createdAt and expiresAt" {
	local c e
	open_session
	c=$created e=$expires
	open_session
	assert_that "$created" == "$c" createdAt
	assert_that "$expires" == "$e" expiresAt
}

@test "a session with 30 minutes left is refreshed with a new chatKitSessionId" {
	local first
	open_session --body '{"deviceId":"d-refresh"}'
	first=$sid
	set_rows "expires_at = now() + interval '30 minutes'"
	open_session --body '{"deviceId":"d-refresh"}'
	assert_that "$sid" != "$first" "chatKitSessionId after refresh"
	assert_that "$sid" =~ "$UUID_V4_RE" "chatKitSessionId is a v4 UUID"
	assert_header Content-Type '^application/json$'
}

@test "a refreshed session keeps its deviceId and createdAt" {
	local d c
	open_session
	d=$device c=$created
	set_rows "expires_at = now() + interval '30 minutes'"
	open_session
	assert_that "$device" == "$d" deviceId
	assert_that "$created" == "$c" createdAt
}

@test "a refreshed session expires a full TTL from now" {
	local t
	open_session
	set_rows "expires_at = now() + interval '30 minutes'"
	t=$(now_ms)
	open_session
	assert_near $((t + 86400000)) "$(iso_ms "$expires")" 5000 "expiresAt in ms"
}

@test "a refresh updates the same row" {
	local id
	open_session
	id=$(row_id "$sid")
	set_rows "expires_at = now() + interval '30 minutes'"
	open_session
	assert_that "$(row_id "$sid")" == "$id" "row id holding the new token"
	assert_rows "$user" 1
	assert_rows "$user" 1 "status = 'active' and expires_at > now() + interval '23 hours'"
}

@test "a refresh sets last_activity_at to now" {
	open_session
	set_rows "expires_at = now() + interval '30 minutes',
		last_activity_at = now() - interval '5 hours'"
	open_session
	assert_rows "$user" 1 "last_activity_at > now() - interval '1 minute'"
}

@test "an expired session is replaced by a new one" {
	local first
	open_session
	first=$sid
	set_rows "expires_at = now() - interval '1 minute'"
	open_session
	assert_that "$sid" != "$first" "chatKitSessionId after expiry"
	assert_near "$(now_ms)" "$(iso_ms "$created")" 5000 "createdAt of the new session"
	assert_header Content-Type '^application/json$'
}

@test "an expired session row stays in the database, marked expired" {
	local first
	open_session
	first=$sid
	set_rows "expires_at = now() - interval '1 minute'"
	open_session
	assert_rows "$user" 2
	assert_that "$(pg_sql "select status from chatkit_sessions where session_token = :'t'" t="$first")" == \
		expired \
		"status of the old row"
	assert_rows "$user" 1 "status = 'active'"
}

@test "a revoked session is replaced by a new one" {
	local first
	open_session
	first=$sid
	set_rows "status = 'revoked'"
	open_session
	assert_that "$sid" != "$first" "chatKitSessionId after revocation"
	assert_rows "$user" 2
	assert_that "$(pg_sql "select status from chatkit_sessions where session_token = :'t'" t="$first")" == \
		revoked \
		"status of the revoked row"
}

@test "a session row marked expired is not reused even if its time is not up" {
	local first
	open_session
	first=$sid
	set_rows "status = 'expired'"
	open_session
	assert_that "$sid" != "$first" "chatKitSessionId"
	assert_rows "$user" 1 "status = 'active'"
}

@test "another user's active session is never returned" {
	local other theirs
	other=$(unique_id)
	pg_add_user "$other"
	session_call "$other" --body '{"deviceId":"shared-device"}'
	assert_status 200
	theirs=$(json_field .session.chatKitSessionId)
	open_session --body '{"deviceId":"shared-device"}'
	assert_that "$sid" != "$theirs" "chatKitSessionId"
	assert_json .session.userId "$user"
}

# --- devices ---------------------------------------------------------------

@test "two devices of one user get different sessions" {
	local a
	open_session --body '{"deviceId":"device-a"}'
	a=$sid
	open_session --body '{"deviceId":"device-b"}'
	assert_that "$sid" != "$a" "chatKitSessionId of device-b"
	assert_json .session.deviceId device-b
	assert_rows "$user" 2 "status = 'active'"
}

@test "each device gets its own session back" {
	local a
	open_session --body '{"deviceId":"device-a"}'
	a=$sid
	open_session --body '{"deviceId":"device-b"}'
	open_session --body '{"deviceId":"device-a"}'
	assert_that "$sid" == "$a" "chatKitSessionId of device-a again"
	assert_rows "$user" 2
}

@test "without deviceId the newest active session of any device is returned" {
	open_session --body '{"deviceId":"device-old"}'
	set_rows "created_at = now() - interval '1 hour'"
	open_session --body '{"deviceId":"device-new"}'
	local newest=$sid
	open_session
	assert_that "$sid" == "$newest" "chatKitSessionId without deviceId"
	assert_json .session.deviceId device-new
	assert_rows "$user" 2
}

@test "without deviceId an expired newest session does not hide an active older one" {
	open_session --body '{"deviceId":"device-old"}'
	local old=$sid
	set_rows "created_at = now() - interval '1 hour'"
	open_session --body '{"deviceId":"device-new"}'
	pg_sql "update chatkit_sessions set expires_at = now() - interval '1 minute'
		 where clerk_user_id = :'id' and device_id = 'device-new'" id="$user"
	open_session
	assert_that "$sid" == "$old" "chatKitSessionId without deviceId"
	assert_json .session.deviceId device-old
}

@test "without deviceId and no session a default deviceId is made" {
	local t
	t=$(now_ms)
	open_session
	assert_that "$device" =~ "^device_${user}_[0-9]{13}\$" deviceId
	assert_near "$t" "${device##*_}" 5000 "milliseconds in deviceId"
}

@test "a deviceId with no session of its own gets a new one beside other devices" {
	open_session --body '{"deviceId":"device-a"}'
	local a=$sid
	open_session --body '{"deviceId":"device-c"}'
	assert_that "$sid" != "$a" "chatKitSessionId"
	assert_json .session.deviceId device-c
}

# --- metadata --------------------------------------------------------------

@test "a reused session keeps the metadata it was created with" {
	open_session --body '{"metadata":{"first":1}}'
	open_session --body '{"metadata":{"second":2}}'
	assert_that "$(jq -c .session.metadata <<<"$http_body")" == '{"first":1}' metadata
	assert_that "$(pg_sql "select metadata::text from chatkit_sessions
		where clerk_user_id = :'id'" id="$user")" == '{"first": 1}' "metadata in the database"
}

@test "a refreshed session keeps the metadata it was created with" {
	open_session --body '{"metadata":{"first":1}}'
	set_rows "expires_at = now() + interval '30 minutes'"
	open_session --body '{"metadata":{"second":2}}'
	assert_that "$(jq -c .session.metadata <<<"$http_body")" == '{"first":1}' metadata
}

@test "a session created after expiry takes the new request's metadata" {
	open_session --body '{"metadata":{"first":1}}'
	set_rows "expires_at = now() - interval '1 minute'"
	open_session --body '{"metadata":{"second":2}}'
	assert_that "$(jq -c .session.metadata <<<"$http_body")" == '{"second":2}' metadata
}

# --- settings --------------------------------------------------------------

@test "CHATKIT_SESSION_TTL sets the lifetime of a new session" {
	open_session CHATKIT_SESSION_TTL=900 CHATKIT_REFRESH_THRESHOLD=60
	assert_that "$(($(iso_ms "$expires") - $(iso_ms "$created")))" == 900000 \
		"expiresAt - createdAt in ms"
	assert_rows "$user" 1 "expires_at - created_at = interval '900 seconds'"
}

@test "CHATKIT_SESSION_TTL sets the lifetime of a refreshed session" {
	local t
	open_session
	set_rows "expires_at = now() + interval '30 minutes'"
	t=$(now_ms)
	open_session CHATKIT_SESSION_TTL=7200 CHATKIT_REFRESH_THRESHOLD=3599
	assert_near $((t + 7200000)) "$(iso_ms "$expires")" 5000 "expiresAt in ms"
}

@test "a session with more than the default threshold left is reused" {
	local first
	open_session
	first=$sid
	set_rows "expires_at = now() + interval '2 hours'"
	open_session
	assert_that "$sid" == "$first" "chatKitSessionId with 2 h left"
}

@test "CHATKIT_REFRESH_THRESHOLD makes a session with 2 hours left refresh" {
	local first
	open_session
	first=$sid
	set_rows "expires_at = now() + interval '2 hours'"
	open_session CHATKIT_REFRESH_THRESHOLD=10800
	assert_that "$sid" != "$first" "chatKitSessionId with 2 h left, threshold 3 h"
	assert_rows "$user" 1
}

@test "CHATKIT_REFRESH_THRESHOLD 0 reuses a session with 30 minutes left" {
	local first
	open_session
	first=$sid
	set_rows "expires_at = now() + interval '30 minutes'"
	open_session CHATKIT_REFRESH_THRESHOLD=0
	assert_that "$sid" == "$first" "chatKitSessionId with 30 min left, threshold 0"
}

@test "a new session is stored with the configured workflow id" {
	open_session CHATKIT_WORKFLOW_ID=wf_stored
	assert_json .session.workflowId wf_stored
	assert_rows "$user" 1 "workflow_id = 'wf_stored'"
}

# --- users -----------------------------------------------------------------

@test "a user with no users row gets 403 User role not found" {
	local stranger
	stranger=$(unique_id)
	session_call "$stranger"
	assert_error 403 Forbidden '^User role not found'
	assert_header Content-Type '^application/json$'
	assert_rows "$stranger" 0
}

@test "an inactive user gets 403" {
	local idle
	idle=$(unique_id)
	pg_add_user "$idle" member false
	session_call "$idle"
	assert_error 403 Forbidden '^User account is inactive'
	assert_header Content-Type '^application/json$'
	assert_rows "$idle" 0
}

@test "a user made inactive is refused even with an active session" {
	open_session
	pg_sql "update users set is_active = false where clerk_user_id = :'id'" id="$user"
	session_call "$user"
	assert_error 403 Forbidden '^User account is inactive'
	assert_rows "$user" 1
}

@test "a role left out of CHATKIT_ALLOWED_ROLES gets 403" {
	session_call "$user" CHATKIT_ALLOWED_ROLES=admin,owner
	assert_error 403 Forbidden '^User role not allowed'
	assert_header Content-Type '^application/json$'
	assert_rows "$user" 0
}

@test "a role in CHATKIT_ALLOWED_ROLES gets a session" {
	session_call "$user" 'CHATKIT_ALLOWED_ROLES=admin, member ,owner'
	assert_status 200
	assert_json .session.userId "$user"
	assert_header Cache-Control '^no-store$'
}

@test "CHATKIT_ALLOWED_ROLES matches whole roles, not parts" {
	session_call "$user" CHATKIT_ALLOWED_ROLES=mem,members
	assert_error 403 Forbidden '^User role not allowed'
	assert_rows "$user" 0
}

# --- rows are never deleted ------------------------------------------------

@test "requests never delete session rows" {
	local i
	open_session --body '{"deviceId":"d1"}'
	for i in 1 2 3; do
		set_rows "expires_at = now() - interval '1 minute'"
		open_session --body '{"deviceId":"d1"}'
	done
	set_rows "status = 'revoked'"
	open_session --body '{"deviceId":"d1"}'
	pg_sql "update chatkit_sessions set expires_at = now() + interval '10 minutes'
		 where clerk_user_id = :'id' and status = 'active'" id="$user"
	open_session --body '{"deviceId":"d1"}'
	open_session --body '{"deviceId":"d2"}'
	assert_rows "$user" 6
	assert_rows "$user" 2 "status = 'active'"
}
