#!/usr/bin/env bats
# server.bats: the behaviours every server configuration must show,
# driven with curl through the shipped snippet (apache/*.conf.in,
# lighttpd/*.conf.in inside the standalone server configurations). It
# runs once per configuration: tests/apache-cgi.bats, apache-cgid.bats,
# apache-fcgid.bats, apache-proxy-fcgi.bats, lighttpd.bats,
# lighttpd-fastcgi.bats and lighttpd-fastcgi-pool.bats are links to this
# file, and the link's name is the kind helpers/httpd.bash starts (as an
# fcgi-*.bats link runs a cgi-*.bats file in FastCGI mode). What only the
# FastCGI configurations show is server-fastcgi.bats.

bats_require_minimum_version 1.5.0

SERVER_KIND=${BATS_TEST_FILENAME##*/}
SERVER_KIND=${SERVER_KIND%.bats}

# The server's user, one of its own per kind (Debian's base accounts). A
# FastCGI manager signals its children by pid, and with the machine's
# pids wrapping quickly under the suite a stale pid may by then be
# another file's server; lighttpd running as nobody like the Apache
# files' servers was twice stopped by a signal from another nobody
# process under the sanitizer build.
case $SERVER_KIND in
apache-fcgid) HTTPD_USER=www-data ;;
apache-proxy-fcgi) HTTPD_USER=backup ;;
lighttpd) HTTPD_USER=proxy ;;
lighttpd-fastcgi) HTTPD_USER=daemon ;;
lighttpd-fastcgi-pool) HTTPD_USER=list ;;
esac

load helpers/common
load helpers/httpd
load helpers/server-cases

setup_file() {
	server_setup_file "$SERVER_KIND"
}

teardown_file() {
	server_teardown_file
}

setup() {
	httpd_log_mark
}

teardown() {
	httpd_log_tail
}

@test "a valid token and a body get 200 with the session fields" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok" -d '{"deviceId":"web-1","metadata":{"source":"web"}}'
	assert_status 200
	assert_header Content-Type '^application/json'
	assert_header Cache-Control '^no-store$'
	assert_json .session.userId "$user"
	assert_json .session.deviceId web-1
	assert_json .session.workflowId "${CGI_WORKFLOW_ID:-wf_test}"
	assert_json .session.metadata.source web
	assert_that "$(json_field .session.chatKitSessionId)" =~ "$UUID_V4_RE" \
		"chatKitSessionId"
	assert_that "$(json_field .session.expiresAt)" =~ \
		'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$' "expiresAt"
}

@test "a second request of the same user reuses the session" {
	local user tok first
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok"
	assert_status 200
	first=$(json_field .session.chatKitSessionId)
	http_post -t "$tok"
	assert_status 200
	assert_json .session.chatKitSessionId "$first"
}

@test "a request without an Authorization header gets 401" {
	http_post -d '{}'
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit"$'
}

# Signed with the other key: the program saw the header and rejected it.
@test "a token signed with another key gets 401 invalid_token" {
	local user tok
	user=$(new_user)
	tok=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	http_post -t "$tok"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer .*error="invalid_token"'
}

# The one way to get 200 is a token the program read from the header.
@test "the Authorization header reaches the program" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok"
	assert_status 200
	assert_json .session.userId "$user"
	refute_header WWW-Authenticate
}

@test "a user without a users row gets 403 User role not found" {
	local user tok
	user=$(unique_id nouser)
	tok=$(valid_token "$user")
	http_post -t "$tok"
	assert_error 403 Forbidden '^User role not found'
	assert_equal "$(pg_sql "select count(*) from chatkit_sessions
		where clerk_user_id = :'id'" id="$user")" 0
}

# GET lists and DELETE revokes through the server (its mapping passes
# both methods, and DELETE's body); PUT gets 405.
@test "GET lists and DELETE revokes; PUT gets 405" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok" -d '{"deviceId":"web-m"}'
	assert_status 200
	http_request -X GET -t "$tok"
	assert_status 200
	assert_header Cache-Control '^no-store$'
	assert_json '[.sessions[].deviceId] | join(" ")' web-m
	http_request -X DELETE -t "$tok" -d '{"deviceId":"web-m"}'
	assert_status 200
	assert_json .revoked 1
	http_request -X GET -t "$tok"
	assert_json '.sessions | length' 0
	http_request -X PUT -t "$tok" -d '{}'
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^GET, POST, DELETE$'
}

@test "a body over 64 KiB gets 413" {
	local user tok body=$BATS_TEST_TMPDIR/big.json
	user=$(new_user)
	tok=$(valid_token "$user")
	{
		printf '{"metadata":{"pad":"'
		head -c 70000 /dev/zero | tr '\0' x
		printf '"}}'
	} >"$body"
	http_post -t "$tok" --body-file "$body"
	assert_error 413 'Payload Too Large'
	assert_header Content-Type '^application/json'
}

# 20 requests at once for one fresh user: one active row, one id.
@test "20 concurrent requests of a fresh user end in one active session" {
	local user tok dir=$BATS_TEST_TMPDIR/concurrent i
	local -a pids=()
	user=$(new_user)
	tok=$(valid_token "$user")
	mkdir -p "$dir"
	for ((i = 1; i <= 20; i++)); do
		curl -sS -X POST --max-time "$HTTP_TIMEOUT" \
			-H "Authorization: Bearer $tok" -H 'Content-Length: 0' \
			-o "$dir/body.$i" -w '%{http_code}\n' "$CHATKIT_URL" \
			>"$dir/code.$i" 2>"$dir/err.$i" 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || true
	done

	local codes ids
	codes=$(cat "$dir"/code.* | sort | uniq -c | sed 's/^ *//')
	assert_that "$codes" == "20 200" "status counts of 20 responses"
	ids=$(for i in "$dir"/body.*; do
		jq -r .session.chatKitSessionId <"$i"
	done | sort -u)
	assert_that "$ids" =~ "$UUID_V4_RE" "the one chatKitSessionId of 20 responses"
	assert_equal "$(pg_sql "select count(*) from chatkit_sessions
		where clerk_user_id = :'id' and status = 'active'" id="$user")" 1
}

# The page and its module come from the same origin as the endpoint.
@test "the demo page and its module are served from the same origin" {
	http_request -X GET /
	assert_status 200
	assert_header Content-Type '^text/html'
	http_request -X GET /chatkit-session.js
	assert_status 200
	assert_header Content-Type '^(text|application)/javascript'
}
