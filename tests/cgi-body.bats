#!/usr/bin/env bats
# cgi-body.bats: the request body end to end: its size (CONTENT_LENGTH),
# its media type, and its JSON shape ({"deviceId"?: string, "metadata"?:
# object}), one case for each answer, and what the database keeps of it.
# A refused body never creates a session row. Every parser case (each
# shape, byte, number and length) is a line of tests/unit/body.txt, and
# tests/unit/json.c runs the rows of helpers/strict-json.txt in a body.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# bad_body BODY [cgi_call ARGS...]: BODY gets 400 Bad Request as JSON and
# no session row.
bad_body() {
	local body=$1
	shift
	session_call "$user" --body "$body" "$@"
	assert_error 400 'Bad Request'
	assert_header Content-Type '^application/json$'
	assert_rows "$user" 0
}

# good_body BODY [cgi_call ARGS...]: BODY opens a session for $user.
good_body() {
	local body=$1
	shift
	session_call "$user" --body "$body" "$@"
	assert_status 200
	assert_json .session.userId "$user"
	assert_header Content-Type '^application/json$'
}

# --- whole body ------------------------------------------------------------

@test "an empty body with CONTENT_LENGTH 0 is accepted" {
	good_body '' CONTENT_LENGTH=0
	assert_json '.session.deviceId | startswith("device_")' true
}

@test "a request without CONTENT_LENGTH has an empty body" {
	session_call "$user" --body 'not json at all' -u CONTENT_LENGTH
	assert_status 200
	assert_json .session.userId "$user"
	assert_header Cache-Control '^no-store$'
}

@test "a body that is not JSON gets 400" {
	bad_body 'deviceId=d1'
}

@test "valid UTF-8 in metadata is accepted and kept" {
	good_body $'{"metadata":{"name":"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80"}}'
	assert_json .session.metadata.name $'Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80'
}

# --- deviceId --------------------------------------------------------------

@test "deviceId of 129 characters gets 400" {
	bad_body "{\"deviceId\":\"$(printf 'a%.0s' {1..129})\"}"
}

# --- metadata --------------------------------------------------------------

@test "metadata is stored with the new session" {
	local meta='{"source":"web","tags":["a","b"],"n":1.5,"deep":{"x":null}}'
	good_body "{\"metadata\":$meta}"
	assert_that "$(pg_sql "select metadata from chatkit_sessions where clerk_user_id = :'id'" \
			id="$user" | jq -cS .)" == \
		"$(jq -cS . <<<"$meta")" "metadata in the database"
}

@test "an empty metadata object is stored as {}" {
	good_body '{"metadata":{}}'
	assert_that "$(pg_sql "select metadata::text from chatkit_sessions
		where clerk_user_id = :'id'" id="$user")" == '{}' "metadata in the database"
}

# --- numbers: what metadata may cost ----------------------------------------

@test "numbers at the limits come back exactly from the database in the answer" {
	local -A want=(
		[u]=18446744073709551615
		[i]=-9223372036854775808
		[e]=10000000000000000000
		[d]=1234567890123456789012345678901234567.891
		[f]=0.000000000000000000000000000000000000001
		[m]=-0.123456789012345678901234567890123456789
		[z]=0.000000000000000000000000000000000000000
	)
	good_body '{"metadata":{"u":18446744073709551615,"i":-9223372036854775808,"e":1e19,
		"d":1234567890123456789012345678901234567.891,"f":1e-39,
		"m":-0.123456789012345678901234567890123456789,"z":0e-39}}'
	local k
	for k in "${!want[@]}"; do
		assert_equal "$(pg_sql "select metadata->'$k' from chatkit_sessions
			where clerk_user_id = :'id'" id="$user")" "${want[$k]}"
		assert_regex "$http_body" "\"$k\":${want[$k]//./\\.}[,}]"
	done
}

@test "a 64 KiB body of the costliest accepted numbers answers at most 8 times its size" {
	local body
	body=$(printf '1e-39,%.0s' {1..10900})
	body="{\"metadata\":{\"a\":[${body}1e-39]}}"
	good_body "$body"
	assert_json '.session.metadata.a | length' 10901
	((${#http_body} <= 8 * ${#body})) ||
		fail "answer of ${#http_body} bytes for a body of ${#body}"
}

# --- Content-Type ----------------------------------------------------------

@test "a body sent as text/plain gets 415" {
	session_call "$user" --body '{"deviceId":"d1"}' CONTENT_TYPE=text/plain
	assert_error 415 'Unsupported Media Type'
	assert_header Content-Type '^application/json$'
	assert_rows "$user" 0
}

@test "C1, bidi controls and invalid UTF-8 in a Content-Type reach the log escaped" {
	session_call "$user" --body '{"deviceId":"d1"}' \
		CONTENT_TYPE=$'text/x\xc2\x9b2J\xe2\x80\xae\xe2\x81\xa7\xff\xc0\xafz'
	assert_error 415 'Unsupported Media Type'
	assert_log_has 'Content-Type text/x\u009b2J\u202e\u2067\xff\xc0\xafz'
}

@test "an empty body needs no JSON Content-Type" {
	good_body '' CONTENT_LENGTH=0 CONTENT_TYPE=text/plain
}

@test "415 is decided before the token is looked at" {
	cgi_call --body '{"deviceId":"d1"}' CONTENT_TYPE=text/plain
	assert_error 415 'Unsupported Media Type'
	refute_header WWW-Authenticate
}

# --- CONTENT_LENGTH --------------------------------------------------------

@test "a body of 65537 bytes gets 413" {
	local pad
	pad=$(printf 'x%.0s' $(seq $((65537 - 23))))
	session_call "$user" --body "{\"metadata\":{\"pad\":\"$pad\"}}"
	assert_error 413 'Payload Too Large'
	assert_rows "$user" 0
}

@test "a body of exactly 65536 bytes is accepted" {
	local pad body
	pad=$(printf 'x%.0s' $(seq $((65536 - 23))))
	body="{\"metadata\":{\"pad\":\"$pad\"}}"
	assert_that "${#body}" == 65536 "body length"
	good_body "$body"
	assert_json '.session.metadata.pad | length' $((65536 - 23))
}

@test "413 is decided before the token is looked at" {
	cgi_call --body '{}' CONTENT_LENGTH=65537
	assert_error 413 'Payload Too Large'
	refute_header WWW-Authenticate
}

@test "CONTENT_LENGTH abc gets 400" {
	bad_body '{}' CONTENT_LENGTH=abc
}

@test "a body shorter than CONTENT_LENGTH gets 400" {
	bad_body '{"deviceId":"d1"}' CONTENT_LENGTH=100
}

@test "bytes after CONTENT_LENGTH are not part of the body" {
	good_body '{"deviceId":"d-cl"}trailing bytes' CONTENT_LENGTH=19
	assert_json .session.deviceId d-cl
}
