#!/usr/bin/env bats
# cgi-method.bats: only POST is served; every other method gets 405 with
# Allow: POST, and that is decided before anything else (configuration,
# body, token, database).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# refused_method METHOD [cgi_call ARGS...]: METHOD with a valid token and
# a valid body gets 405, Allow: POST and the JSON error shape, and opens
# no session.
refused_method() {
	local method=$1
	shift
	session_call "$user" -X "$method" --body '{"deviceId":"d1"}' "$@"
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^POST$'
	assert_header Content-Type '^application/json$'
	assert_rows "$user" 0
}

@test "GET gets 405 with Allow: POST" {
	refused_method GET
}

@test "PUT gets 405 with Allow: POST" {
	refused_method PUT
}

@test "DELETE gets 405 with Allow: POST" {
	refused_method DELETE
}

@test "HEAD gets 405 with Allow: POST" {
	refused_method HEAD
}

@test "OPTIONS gets 405 with Allow: POST" {
	refused_method OPTIONS
}

@test "PATCH gets 405 with Allow: POST" {
	refused_method PATCH
}

@test "an unknown method gets 405 with Allow: POST" {
	refused_method PROPFIND
}

@test "a lower-case post gets 405 because methods are case-sensitive" {
	refused_method post
}

@test "no REQUEST_METHOD at all gets 405" {
	session_call "$user" -u REQUEST_METHOD
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^POST$'
}

@test "POST with the same request answers 200" {
	session_call "$user" --body '{"deviceId":"d1"}'
	assert_status 200
	assert_json .session.deviceId d1
	refute_header Allow
}

@test "GET gets 405 even with no configuration at all" {
	cgi_env=()
	cgi_call -X GET
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^POST$'
}

@test "GET gets 405 even when CHATKIT_WORKFLOW_ID is unset" {
	refused_method GET -u CHATKIT_WORKFLOW_ID
}

@test "GET gets 405 even with a broken setting" {
	refused_method GET CHATKIT_SESSION_TTL=abc
}

@test "GET gets 405 even with a body over the size limit" {
	refused_method GET CONTENT_LENGTH=1000000
}

@test "GET gets 405 even with a non-JSON Content-Type" {
	refused_method GET CONTENT_TYPE=text/plain
}

@test "GET gets 405 even without credentials" {
	cgi_call -X GET
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^POST$'
	refute_header WWW-Authenticate
}

@test "GET gets 405 even when the database is unreachable" {
	refused_method GET CHATKIT_DATABASE_URL="$(pg_dead_url)"
	refute_header Retry-After
}
