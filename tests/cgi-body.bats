#!/usr/bin/env bats
# cgi-body.bats: the request body: its size (CONTENT_LENGTH), its media
# type, and its JSON shape ({"deviceId"?: string, "metadata"?: object}).
# A refused body never creates a session row.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture
load helpers/strict-json

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

@test "an empty JSON object is accepted" {
	good_body '{}'
}

@test "a body that is not JSON gets 400" {
	bad_body 'deviceId=d1'
}

@test "a JSON array body gets 400" {
	bad_body '[{"deviceId":"d1"}]'
}

@test "a JSON string body gets 400" {
	bad_body '"d1"'
}

@test "a JSON null body gets 400" {
	bad_body 'null'
}

@test "a JSON number body gets 400" {
	bad_body '42'
}

@test "a body of only whitespace gets 400" {
	bad_body $'  \n\t '
}

@test "unknown top-level keys are ignored" {
	good_body '{"foo":1,"deviceId":"d-unknown","bar":{"x":[1,null]},"baz":null}'
	assert_json .session.deviceId d-unknown
	assert_json '.session | has("foo")' false
}

@test "trailing garbage after the object gets 400" {
	bad_body '{"deviceId":"d1"}x'
}

@test "a second object after the first gets 400" {
	bad_body '{"deviceId":"d1"}{"deviceId":"d2"}'
}

@test "trailing whitespace after the object is accepted" {
	good_body $'{"deviceId":"d-ws"} \r\n\t'
	assert_json .session.deviceId d-ws
}

@test "a truncated object gets 400" {
	bad_body '{"deviceId":"d1"'
}

@test "a trailing comma gets 400" {
	bad_body '{"deviceId":"d1",}'
}

@test "single-quoted strings get 400" {
	bad_body "{'deviceId':'d1'}"
}

@test "a comment in the JSON gets 400" {
	bad_body '{/* c */"deviceId":"d1"}'
}

@test "nesting 33 levels deep gets 400" {
	bad_body "$(nested_body 33)"
}

@test "nesting 100 levels deep gets 400" {
	bad_body "$(nested_body 100)"
}

@test "nesting of arrays 40 levels deep gets 400" {
	bad_body "{\"metadata\":{\"a\":$(printf '[%.0s' {1..38})$(printf ']%.0s' {1..38})}}"
}

@test "nesting 32 levels deep is accepted" {
	good_body "$(nested_body 32)"
}

@test "invalid UTF-8 in a metadata string gets 400" {
	bad_body $'{"metadata":{"a":"\xff"}}'
}

@test "an overlong UTF-8 encoding gets 400" {
	bad_body $'{"metadata":{"a":"\xc0\xaf"}}'
}

@test "a truncated UTF-8 sequence gets 400" {
	bad_body $'{"metadata":{"a":"\xe2\x82"}}'
}

@test "invalid UTF-8 in an unknown key gets 400" {
	bad_body $'{"x\xfe":1}'
}

@test "valid UTF-8 in metadata is accepted and kept" {
	good_body $'{"metadata":{"name":"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80"}}'
	assert_json .session.metadata.name $'Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80'
}

@test "a lone surrogate escape in metadata gets 400" {
	bad_body '{"metadata":{"a":"\ud800"}}'
}

# --- strict JSON: RFC 8259, no U+0000, no member name twice ---------------

# body_with_refused BODY: BODY (spelt as in helpers/strict-json.txt) got
# 400 and made no session row.
body_with_refused() {
	local before
	before=$(rows "$user")
	strict_json_raw "$1" >"$BATS_TEST_TMPDIR/body"
	session_call "$user" --body-file "$BATS_TEST_TMPDIR/body"
	[[ $http_status == 400 && $(rows "$user") == "$before" ]]
}

top_level_refused() { body_with_refused "{\"deviceId\":\"d1\",$1}"; }
metadata_refused() { body_with_refused "{\"metadata\":{\"a\":1,$1}}"; }

@test "a body with strict extra members, built as the rows are, is accepted" {
	good_body '{"deviceId":"d1", "x" : {"a":[1.5e3,-0,true,null,"\ud83d\ude00"]},"metadata":{"a":1,"x":{"a":1},"y":[{"a":1},{"a":2}],"\u00e9\/":"\u00e9"}}'
	assert_json '.session.metadata.y[1].a' 2
	assert_json '.session.metadata["é/"]' é
}

@test "every non-strict JSON member of helpers/strict-json.txt at the top level gets 400" {
	strict_json_each top_level_refused
}

@test "every non-strict JSON member of helpers/strict-json.txt in metadata gets 400" {
	strict_json_each metadata_refused
}

@test "a repeated deviceId gets 400" {
	bad_body '{"deviceId":"d1","deviceId":"d2"}'
}

@test "a repeated metadata gets 400" {
	bad_body '{"metadata":{"a":1},"metadata":{"b":2}}'
}

@test "NaN in metadata gets 400, not a database error" {
	bad_body '{"metadata":{"a":NaN}}'
}

@test "Infinity in metadata gets 400, not a database error" {
	bad_body '{"metadata":{"a":Infinity}}'
}

@test "-Infinity in metadata gets 400, not a database error" {
	bad_body '{"metadata":{"a":-Infinity}}'
}

# --- deviceId --------------------------------------------------------------

@test "deviceId as a number gets 400" {
	bad_body '{"deviceId":123}'
}

@test "deviceId null gets 400" {
	bad_body '{"deviceId":null}'
}

@test "deviceId as an empty string gets 400" {
	bad_body '{"deviceId":""}'
}

@test "deviceId as an object gets 400" {
	bad_body '{"deviceId":{"id":"d1"}}'
}

@test "deviceId as a boolean gets 400" {
	bad_body '{"deviceId":true}'
}

@test "deviceId of 129 characters gets 400" {
	bad_body "{\"deviceId\":\"$(printf 'a%.0s' {1..129})\"}"
}

@test "deviceId of exactly 128 characters is accepted" {
	local id
	id=$(printf 'b%.0s' {1..128})
	good_body "{\"deviceId\":\"$id\"}"
	assert_json .session.deviceId "$id"
}

@test "deviceId of one character is accepted" {
	good_body '{"deviceId":"x"}'
	assert_json .session.deviceId x
}

@test "deviceId with every allowed character class is accepted" {
	good_body '{"deviceId":"Az09._:-"}'
	assert_json .session.deviceId 'Az09._:-'
}

@test "deviceId with a space gets 400" {
	bad_body '{"deviceId":"my device"}'
}

@test "deviceId with a slash gets 400" {
	bad_body '{"deviceId":"dev/1"}'
}

@test "deviceId with a quote gets 400" {
	bad_body '{"deviceId":"dev\"1"}'
}

@test "deviceId with a non-ASCII letter gets 400" {
	bad_body $'{"deviceId":"d\xc3\xa9v"}'
}

@test "deviceId with an escaped NUL gets 400" {
	bad_body '{"deviceId":"d\u00001"}'
}

@test "deviceId with a newline gets 400" {
	bad_body '{"deviceId":"d\n1"}'
}

# --- metadata --------------------------------------------------------------

@test "metadata as an array gets 400" {
	bad_body '{"metadata":[1,2]}'
}

@test "metadata as a string gets 400" {
	bad_body '{"metadata":"web"}'
}

@test "metadata null gets 400" {
	bad_body '{"metadata":null}'
}

@test "metadata as a number gets 400" {
	bad_body '{"metadata":1}'
}

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

@test "an escaped NUL in a metadata value gets 400" {
	bad_body '{"metadata":{"a":"x\u0000y"}}'
}

@test "an escaped NUL in a metadata key gets 400" {
	bad_body '{"metadata":{"a\u0000b":1}}'
}

@test "an escaped NUL in nested metadata gets 400" {
	bad_body '{"metadata":{"a":[{"b":"\u0000"}]}}'
}

# --- numbers: what metadata may cost ----------------------------------------

@test "an integer of 2^64 in metadata gets 400" {
	bad_body '{"metadata":{"a":18446744073709551616}}'
}

@test "an integer below -2^63 in metadata gets 400" {
	bad_body '{"metadata":{"a":-9223372036854775809}}'
}

@test "1e20, an integer beyond 64 bits written with an exponent, gets 400" {
	bad_body '{"metadata":{"a":1e20}}'
}

@test "a number of 41 digits written out gets 400" {
	bad_body '{"metadata":{"a":12345678901234567890123456789012345678.901}}'
}

@test "1e-40, 41 digits written out, gets 400" {
	bad_body '{"metadata":{"a":1e-40}}'
}

@test "0e-40, a zero written out with 40 decimals, gets 400" {
	bad_body '{"metadata":{"a":0e-40}}'
}

@test "a body of 200 numbers 1e131071 gets 400" {
	local nums
	nums=$(printf '1e131071,%.0s' {1..199})
	bad_body "{\"metadata\":{\"a\":[${nums}1e131071]}}"
}

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

@test "a body sent as a form gets 415" {
	session_call "$user" --body 'deviceId=d1' \
		CONTENT_TYPE=application/x-www-form-urlencoded
	assert_error 415 'Unsupported Media Type'
	assert_rows "$user" 0
}

@test "a body without CONTENT_TYPE gets 415" {
	session_call "$user" --body '{"deviceId":"d1"}' -u CONTENT_TYPE
	assert_error 415 'Unsupported Media Type'
	assert_rows "$user" 0
}

@test "a media type that only starts with application/json gets 415" {
	session_call "$user" --body '{"deviceId":"d1"}' CONTENT_TYPE=application/jsonx
	assert_error 415 'Unsupported Media Type'
	assert_rows "$user" 0
}

@test "application/json-patch+json gets 415" {
	session_call "$user" --body '{"deviceId":"d1"}' \
		CONTENT_TYPE=application/json-patch+json
	assert_error 415 'Unsupported Media Type'
	assert_rows "$user" 0
}

@test "application/json; charset=utf-8 is accepted" {
	good_body '{"deviceId":"d-charset"}' 'CONTENT_TYPE=application/json; charset=utf-8'
	assert_json .session.deviceId d-charset
}

@test "the media type is matched in any case" {
	good_body '{"deviceId":"d-case"}' CONTENT_TYPE=Application/JSON
	assert_json .session.deviceId d-case
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

@test "CONTENT_LENGTH 65537 gets 413 without reading a still-open stdin" {
	skip_in_fastcgi "the test replaces the program's stdin"
	local start tok
	tok=$(valid_token "$user") # minted before the clock starts
	start=$(now_ms)
	CGI=$(open_stdin_cgi) CGI_TIMEOUT=25 cgi_call --token "$tok" CONTENT_LENGTH=65537 \
		CONTENT_TYPE=application/json
	assert_error 413 'Payload Too Large'
	assert_header Content-Type '^application/json$'
	# The writer keeps the pipe open for 20 s; a read would still be
	# waiting. The margin is wide because a loaded machine is slow to
	# start a process, not because the program may wait.
	assert_near "$start" "$(now_ms)" 10000 "ms until the answer"
	assert_rows "$user" 0
}

@test "CONTENT_LENGTH 65537 gets 413 even when the body sent is short" {
	session_call "$user" --body '{}' CONTENT_LENGTH=65537
	assert_error 413 'Payload Too Large'
	assert_rows "$user" 0
}

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

@test "a CONTENT_LENGTH too big for any integer gets 413" {
	session_call "$user" --body '{}' CONTENT_LENGTH=184467440737095516160
	assert_error 413 'Payload Too Large'
	assert_rows "$user" 0
}

@test "413 is decided before the token is looked at" {
	cgi_call --body '{}' CONTENT_LENGTH=65537
	assert_error 413 'Payload Too Large'
	refute_header WWW-Authenticate
}

@test "CONTENT_LENGTH abc gets 400" {
	bad_body '{}' CONTENT_LENGTH=abc
}

@test "a negative CONTENT_LENGTH gets 400" {
	bad_body '{}' CONTENT_LENGTH=-2
}

@test "CONTENT_LENGTH with a plus sign gets 400" {
	bad_body '{}' CONTENT_LENGTH=+2
}

@test "CONTENT_LENGTH with trailing text gets 400" {
	bad_body '{}' CONTENT_LENGTH=2x
}

@test "a body shorter than CONTENT_LENGTH gets 400" {
	bad_body '{"deviceId":"d1"}' CONTENT_LENGTH=100
}

@test "bytes after CONTENT_LENGTH are not part of the body" {
	good_body '{"deviceId":"d-cl"}trailing bytes' CONTENT_LENGTH=19
	assert_json .session.deviceId d-cl
}
