# server-cases.bash: the behaviours every server configuration must show,
# one function per behaviour. apache-cgid.bats, apache-cgi.bats and
# lighttpd.bats each name them in their own @test lines, so a failure
# reads as "lighttpd: ...", and the bodies cannot drift apart.
#
# Expects: pg_start, tokens_setup, httpd_prepare/httpd_config_default/
# httpd_start done in setup_file (see server_setup_file).

UUID_V4_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

# server_setup_file KIND: the whole fixture for one file. On failure it
# stops what it started, since bats runs no teardown_file then. fd 3 is
# closed for the servers: bats would wait for them to let go of it.
server_setup_file() {
	if pg_start 3>&- && tokens_setup "$BATS_FILE_TMPDIR/keys" &&
		httpd_prepare "$1" && httpd_config_default && httpd_start 3>&-; then
		return 0
	fi
	server_teardown_file
	return 1
}

# server_teardown_file: stop what server_setup_file started.
server_teardown_file() {
	httpd_stop
	pg_stop
}

# new_user: a fresh users row; prints its id.
new_user() {
	local user
	user=$(unique_id user) || return
	pg_add_user "$user" >/dev/null || return
	printf '%s\n' "$user"
}

case_success() {
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

case_reuse() {
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

case_no_header() {
	http_post -d '{}'
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit"$'
}

# Signed with the other key: the program saw the header and rejected it.
case_bad_token() {
	local user tok
	user=$(new_user)
	tok=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	http_post -t "$tok"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer .*error="invalid_token"'
}

# The one way to get 200 is a token the program read from the header.
case_header_reaches_program() {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok"
	assert_status 200
	assert_json .session.userId "$user"
	refute_header WWW-Authenticate
}

case_no_users_row() {
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
case_manage() {
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

case_too_large() {
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
case_concurrent() {
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
case_page() {
	http_request -X GET /
	assert_status 200
	assert_header Content-Type '^text/html'
	http_request -X GET /chatkit-session.js
	assert_status 200
	assert_header Content-Type '^(text|application)/javascript'
}

# _server_programs: pids of $HTTPD_CGI processes descended from the server
# (FastCGI processes: lighttpd's children, or mod_fcgid's manager's).
_server_programs() {
	local pid p i
	if httpd_has_pool; then
		# The pool is not the server's: spawn-fcgi forked it and left.
		httpd_pool_pids | sort
		return
	fi
	for pid in $(pgrep -f -- "$HTTPD_CGI"); do
		p=$pid
		for ((i = 0; i < 4; i++)); do
			p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || break
			if [[ $p == "$HTTPD_PID" ]]; then
				printf '%s\n' "$pid"
				break
			fi
		done
	done | sort
}

# case_persistent: in FastCGI mode the same processes answer request
# after request; none is started per request.
case_persistent() {
	local before after
	case_success
	before=$(_server_programs)
	[[ -n $before ]] || die "no FastCGI process of $HTTPD_CGI under the server (pid $HTTPD_PID)" || return
	case_reuse
	case_no_header
	after=$(_server_programs)
	assert_that "$after" == "$before" "FastCGI process ids before and after three requests"
}
