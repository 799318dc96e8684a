#!/usr/bin/env bats
# cgi-response.bats: the shape of what the program prints: the success
# body and headers, and the JSON error shape of every error status.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# --- success ---------------------------------------------------------------

@test "a session request answers 200 with Content-Type exactly application/json" {
	session_call "$user"
	assert_status 200
	assert_json '.session | type' object
	assert_header Content-Type '^application/json$'
}

@test "a session response carries Cache-Control: no-store" {
	session_call "$user"
	assert_status 200
	assert_json .session.userId "$user"
	assert_header Cache-Control '^no-store$'
}

@test "a session response carries X-Content-Type-Options: nosniff" {
	session_call "$user"
	assert_status 200
	assert_json .session.userId "$user"
	assert_header X-Content-Type-Options '^nosniff$'
}

@test "chatKitSessionId is a random (v4) UUID" {
	session_call "$user"
	assert_status 200
	assert_that "$(json_field .session.chatKitSessionId)" =~ "$UUID_V4_RE" \
		chatKitSessionId
	assert_header Content-Type '^application/json$'
}

@test "two users get different chatKitSessionIds" {
	local other first
	other=$(unique_id)
	pg_add_user "$other"
	session_call "$user"
	assert_status 200
	first=$(json_field .session.chatKitSessionId)
	session_call "$other"
	assert_status 200
	assert_that "$(json_field .session.chatKitSessionId)" != "$first" \
		"the second user's chatKitSessionId"
}

@test "userId is the token's sub" {
	session_call "$user"
	assert_status 200
	assert_json .session.userId "$user"
	assert_header Content-Type '^application/json$'
}

@test "workflowId is the configured CHATKIT_WORKFLOW_ID" {
	session_call "$user" CHATKIT_WORKFLOW_ID=wf_response_check
	assert_status 200
	assert_json .session.workflowId wf_response_check
	assert_header Content-Type '^application/json$'
}

@test "deviceId is the one the request gave" {
	session_call "$user" --body '{"deviceId":"browser-1"}'
	assert_status 200
	assert_json .session.deviceId browser-1
	assert_header Content-Type '^application/json$'
}

@test "createdAt and expiresAt are UTC ISO-8601 with milliseconds and Z" {
	session_call "$user"
	assert_status 200
	assert_that "$(json_field .session.createdAt)" =~ "$ISO_MS_RE" createdAt
	assert_that "$(json_field .session.expiresAt)" =~ "$ISO_MS_RE" expiresAt
}

@test "createdAt is now" {
	local before after created
	before=$(now_ms)
	session_call "$user"
	after=$(now_ms)
	assert_status 200
	created=$(iso_ms "$(json_field .session.createdAt)")
	# The database clock and ours are the same machine's; allow 2 s.
	assert_near "$(((before + after) / 2))" "$created" \
		"$(((after - before) / 2 + 2000))" "createdAt in ms"
}

@test "expiresAt is createdAt plus the default TTL of 24 hours" {
	local created expires
	session_call "$user"
	assert_status 200
	created=$(iso_ms "$(json_field .session.createdAt)")
	expires=$(iso_ms "$(json_field .session.expiresAt)")
	assert_that "$((expires - created))" == 86400000 "expiresAt - createdAt in ms"
}

@test "expiresAt is createdAt plus CHATKIT_SESSION_TTL" {
	local created expires
	session_call "$user" CHATKIT_SESSION_TTL=7200 CHATKIT_REFRESH_THRESHOLD=60
	assert_status 200
	created=$(iso_ms "$(json_field .session.createdAt)")
	expires=$(iso_ms "$(json_field .session.expiresAt)")
	assert_that "$((expires - created))" == 7200000 "expiresAt - createdAt in ms"
}

@test "metadata is an empty object by default" {
	session_call "$user"
	assert_status 200
	assert_that "$(jq -c .session.metadata <<<"$http_body")" == "{}" metadata
}

@test "metadata is the object the request gave" {
	session_call "$user" --body '{"metadata":{"source":"web","n":1}}'
	assert_status 200
	assert_that "$(jq -cS .session.metadata <<<"$http_body")" == \
		'{"n":1,"source":"web"}' metadata
}

@test "the success body is a single JSON object" {
	session_call "$user"
	assert_status 200
	assert_that "$(jq -s length <<<"$http_body")" == 1 "JSON values in the body"
	assert_json 'type' object
}

# --- every error is JSON ---------------------------------------------------

# json_error STATUS TITLE: the last response is that error as JSON with a
# non-empty message, JSON headers, and no HTML anywhere.
json_error() {
	assert_error "$1" "$2"
	assert_that "$(json_field .message)" =~ '.' "message is not empty"
	assert_that "$(jq 'keys | length' <<<"$http_body")" == 2 \
		"top-level keys besides error and message"
	assert_header Content-Type '^application/json$'
	assert_header Cache-Control '^no-store$'
	assert_that "$http_body" =~ '^\{' "body starts as a JSON object"
	assert_that "${http_body,,}" !~ '<(html|body|head|!doctype)' "body (no HTML)"
	assert_that "$http_headers" =~ '^Status: [0-9]{3} ' "a Status line"
}

@test "a 400 answer is a JSON error" {
	session_call "$user" --body 'not json'
	json_error 400 'Bad Request'
}

@test "a 401 answer is a JSON error" {
	cgi_call
	json_error 401 Unauthorized
}

@test "a 403 answer is a JSON error" {
	session_call "$(unique_id)"
	json_error 403 Forbidden
}

@test "a 405 answer is a JSON error" {
	session_call "$user" -X PUT
	json_error 405 'Method Not Allowed'
}

@test "a 413 answer is a JSON error" {
	session_call "$user" --body '{}' CONTENT_LENGTH=70000
	json_error 413 'Payload Too Large'
}

@test "a 415 answer is a JSON error" {
	session_call "$user" --body '{}' CONTENT_TYPE=text/html
	json_error 415 'Unsupported Media Type'
}

@test "a 500 Configuration Error answer is a JSON error" {
	session_call "$user" -u CHATKIT_WORKFLOW_ID
	json_error 500 'Configuration Error'
}

@test "a 503 answer is a JSON error" {
	session_call "$user" CHATKIT_DATABASE_URL="$(pg_dead_url)"
	json_error 503 'Service Unavailable'
}

@test "an error answer has the same status in the Status line and the body's title" {
	session_call "$user" --body '[]'
	assert_error 400 'Bad Request'
	assert_header Status '^400 Bad Request$'
}
