#!/usr/bin/env bats
# cgi-method.bats: GET, POST and DELETE are served (cgi-manage.bats has
# GET and DELETE); every other method gets 405 with Allow: GET, POST,
# DELETE, and that is decided before anything else (configuration, body,
# token, database).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# refused_method METHOD [cgi_call ARGS...]: METHOD with a valid token and
# a valid body gets 405, Allow: GET, POST, DELETE and the JSON error
# shape, and opens no session.
refused_method() {
	local method=$1
	shift
	session_call "$user" -X "$method" --body '{"deviceId":"d1"}' "$@"
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^GET, POST, DELETE$'
	assert_header Content-Type '^application/json$'
	assert_rows "$user" 0
}

@test "PUT gets 405 with Allow: GET, POST, DELETE" {
	refused_method PUT
}

@test "HEAD gets 405 with Allow: GET, POST, DELETE" {
	refused_method HEAD
}

@test "OPTIONS gets 405 with Allow: GET, POST, DELETE" {
	refused_method OPTIONS
}

@test "PATCH gets 405 with Allow: GET, POST, DELETE" {
	refused_method PATCH
}

@test "an unknown method gets 405 with Allow: GET, POST, DELETE" {
	refused_method PROPFIND
}

@test "a lower-case post gets 405 because methods are case-sensitive" {
	refused_method post
}

@test "a lower-case get gets 405" {
	refused_method get
}

@test "no REQUEST_METHOD at all gets 405" {
	session_call "$user" -u REQUEST_METHOD
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^GET, POST, DELETE$'
}

@test "POST with the same request answers 200" {
	session_call "$user" --body '{"deviceId":"d1"}'
	assert_status 200
	assert_json .session.deviceId d1
	refute_header Allow
}

@test "PUT gets 405 even with no configuration at all" {
	cgi_env=()
	cgi_call -X PUT
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^GET, POST, DELETE$'
}

@test "PUT gets 405 even when CHATKIT_WORKFLOW_ID is unset" {
	refused_method PUT -u CHATKIT_WORKFLOW_ID
}

@test "PUT gets 405 even with a broken setting" {
	refused_method PUT CHATKIT_SESSION_TTL=abc
}

@test "PUT gets 405 even with a body over the size limit" {
	refused_method PUT CONTENT_LENGTH=1000000
}

@test "PUT gets 405 even with a non-JSON Content-Type" {
	refused_method PUT CONTENT_TYPE=text/plain
}

@test "PUT gets 405 even without credentials" {
	cgi_call -X PUT
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^GET, POST, DELETE$'
	refute_header WWW-Authenticate
}

@test "PUT gets 405 even when the database is unreachable" {
	refused_method PUT CHATKIT_DATABASE_URL="$(pg_dead_url)"
	refute_header Retry-After
}
