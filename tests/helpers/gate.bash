# gate.bash: the program in the FastCGI AUTHORIZER role, and the web
# servers that put it in front of a ChatKit server. Load after
# helpers/common, helpers/session and helpers/pglock:
#
#   gate_call --token "$session_id"       one AUTHORIZER request to the
#   assert_status 200                     file's FastCGI process
#
# After gate_call: $http_status, $http_headers, $http_body (as after
# cgi_call), $gate_out (a file: the whole FCGI_STDOUT), $gate_stderr,
# and $took (milliseconds).

GATE_CLIENT=$(dirname "${BASH_SOURCE[0]}")/fcgi-client.py

# gate_env_defaults: the settings of a gate call (the array gate_env):
# the database and an empty CHATKIT_CONFIG; no workflow id and no key,
# which the gate does without.
gate_env_defaults() {
	local conf=${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/chatkit-empty.conf
	[[ -e $conf ]] || : >"$conf"
	gate_env=("CHATKIT_CONFIG=$conf")
	[[ -z ${CHATKIT_DATABASE_URL:-} ]] ||
		gate_env+=("CHATKIT_DATABASE_URL=$CHATKIT_DATABASE_URL")
}

# gate_call [--token ID] [--authorization VALUE] [--address A]
#           [--timeout S] [--hold S] [NAME=VALUE...]: one AUTHORIZER request as
# Apache's mod_authnz_fcgi sends it: no FCGI_STDIN record at all, the
# variables of a ChatKit POST (REQUEST_METHOD, CONTENT_LENGTH and
# CONTENT_TYPE of a body the gate must never wait for), gate_env, then
# NAME=VALUE over them. The address is $FCGI_SOCKET unless given; the
# timeout (default 15 s) bounds the request; --hold keeps the client's
# end open that long after the answer.
gate_call() {
	local address=${FCGI_SOCKET:-} timeout=15 hold=0 rc=0 start
	local -a params=(GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1
		REQUEST_METHOD=POST REQUEST_URI=/chatkit SCRIPT_NAME=/chatkit
		CONTENT_LENGTH=64 CONTENT_TYPE=application/json
		REMOTE_ADDR=127.0.0.1)
	declare -p gate_env >/dev/null 2>&1 || gate_env_defaults
	params+=("${gate_env[@]}")
	while (($#)); do
		case $1 in
		-t | --token) params+=("HTTP_AUTHORIZATION=Bearer $2"); shift ;;
		--authorization) params+=("HTTP_AUTHORIZATION=$2"); shift ;;
		--address) address=$2; shift ;;
		--timeout) timeout=$2; shift ;;
		--hold) hold=$2; shift ;;
		[A-Za-z_]*=*) params+=("$1") ;;
		*) die "gate_call: cannot read argument '$1'"; return ;;
		esac
		shift
	done
	[[ -n $address ]] || die "gate_call: no address (fcgi_start sets FCGI_SOCKET)" || return
	local out=$BATS_TEST_TMPDIR/gate-out err=$BATS_TEST_TMPDIR/gate-err
	start=$(now_ms)
	timeout -k 5 $((${timeout%.*} + ${hold%.*} + 5)) python3 "$GATE_CLIENT" --role authorizer \
		--no-stdin --timeout "$timeout" --hold "$hold" "$address" "${params[@]}" \
		>"$out" 2>"$err" || rc=$?
	took=$(($(now_ms) - start))
	gate_out=$out
	gate_stderr=$(<"$err")
	_cgi_parse "$out"
	output=$http_body

	printf '# $ gate %s (%s ms, client exit %s)\n' "$address" "$took" "$rc"
	printf '#   %s\n' "${params[@]}" | LC_ALL=C sort |
		sed 's/\(Bearer .\{8\}\)[^ ]*/\1.../'
	printf '# -> status %s\n' "$http_status"
	printf '%s\n' "$http_headers" | sed 's/^/#   /'
	printf '#   %s\n' "$http_body"
	[[ -z $gate_stderr ]] || printf '%s\n' "$gate_stderr" | sed 's/^/# stderr: /'
	((rc == 0)) || die "fcgi-client.py exited with status $rc"
}

# new_session USER [DEVICE]: a session of USER made through the endpoint
# (POST, as the browser does): sets session_id (its chatKitSessionId) and
# session_expires (its expiresAt). Not to be called in $(...).
new_session() {
	local dev=${2:-dev-$RANDOM}
	session_call "$1" --body "{\"deviceId\":\"$dev\"}"
	[[ $http_status == 200 ]] ||
		die "no session for $1: $http_status $http_body" || return
	session_id=$(json_field .session.chatKitSessionId)
	session_expires=$(json_field .session.expiresAt)
}

# assert_gate_refusal STATUS TITLE: an authorizer's refusal: status,
# the JSON error shape, Cache-Control: no-store, JSON content type, and
# the Status line first (lighttpd drops the headers before it).
assert_gate_refusal() {
	assert_error "$1" "$2"
	assert_header Cache-Control '^no-store$'
	assert_header Content-Type '^application/json$'
	assert_that "${http_headers%%$'\n'*}" =~ "^Status: $1 " "first header line"
}

# --- behind a web server ----------------------------------------------------
#
# The shipped gate snippet (apache/ or lighttpd/chatkit-session-gate.conf.in)
# beside the endpoint's CGI snippet, in front of scripts/chatkit-standin:
#
#   setup_file()    { gate_server_setup_file apache; }   # or lighttpd
#   teardown_file() { gate_server_teardown_file; }
#   gate_request -t "$session_id" -d '{"type":"threads.list"}'
#
# The gate is a pool of the program started by spawn-fcgi, as the
# snippets say: Apache reaches it on a loopback TCP port (GATE_PORT),
# lighttpd on the pool's socket. Its settings come from its environment
# (CHATKIT_CONFIG naming httpd_config's file), with CHATKIT_SESSION_RATE
# $GATE_RATE and CHATKIT_DB_TIMEOUT 2. The stand-in listens on
# STANDIN_PORT and logs each request as a JSON line in STANDIN_LOG.

GATE_RATE=${GATE_RATE:-4}
# shellcheck source=../../scripts/lib/gate.bash
source "${TOP_SRCDIR:?}/scripts/lib/gate.bash"

# gate_server_setup_file KIND: pg_start, tokens, the stand-in, the gate's
# pool and the server (KIND apache or lighttpd). On failure it stops what
# it started, since bats runs no teardown_file then.
gate_server_setup_file() {
	if pg_start 3>&- && tokens_setup "$BATS_FILE_TMPDIR/keys" &&
		_gate_server_prepare "$1" &&
		standin_start "$STANDIN_PORT" "$STANDIN_LOG" "$HTTPD_DIR/standin.out" &&
		_gate_server_pool && httpd_start 3>&-; then
		return 0
	fi
	gate_server_teardown_file
	return 1
}

# gate_server_teardown_file: stop the server (and with it the gate's
# pool, whose pids are the server's pool.pid), the stand-in, PostgreSQL.
gate_server_teardown_file() {
	unlock_hits
	standin_stop
	httpd_stop
	pg_stop
}

# _gate_server_prepare KIND: the endpoint's CGI snippet (httpd_prepare)
# and the gate's, filled for this run: the pool's and the stand-in's
# ports put in place of the snippets' 9123 and 8000.
_gate_server_prepare() {
	local gate
	case $1 in
	apache) httpd_prepare apache-cgid || return ;;
	lighttpd) httpd_prepare lighttpd || return ;;
	*) die "gate_server_setup_file: apache or lighttpd, not '$1'"; return ;;
	esac
	gate=$HTTPD_DIR/gate.conf
	GATE_PORT=$(random_free_port) && STANDIN_PORT=$(random_free_port) || return
	STANDIN_LOG=$HTTPD_DIR/standin.log
	export GATE_PORT STANDIN_PORT STANDIN_LOG
	httpd_config_default || return
	printf '%s\n' "CHATKIT_SESSION_RATE=$GATE_RATE" CHATKIT_DB_TIMEOUT=2 \
		>>"$HTTPD_ETC/chatkit-session.conf" || return
	case $1 in
	apache)
		gate_apache_site "$HTTPD_SITE" "$GATE_PORT" "$STANDIN_PORT" \
			"$HTTPD_DIR/cgi-bin" "$HTTPD_ETC" || return
		;;
	lighttpd)
		[[ -e ${LIGHTTPD_MODULES_DIR:-/usr/lib/lighttpd}/mod_magnet.so ]] ||
			die "lighttpd's mod_magnet.so is missing (Debian: lighttpd-modules-lua)" || return
		mkdir -p "$HTTPD_DIR/share/lighttpd" || return
		cp "$TOP_SRCDIR/lighttpd/chatkit-session-gate.lua" "$HTTPD_DIR/share/lighttpd/" || return
		chmod -R a+rX "$HTTPD_DIR/share" || return
		fill_template "$TOP_SRCDIR/lighttpd/chatkit-session-gate.conf.in" "$gate" \
			"PKGDATADIR=$HTTPD_DIR/share" "SOCKETDIR=$HTTPD_RUNDIR" || return
		sed -i -e "s|\"port\" => 8000|\"port\" => $STANDIN_PORT|" "$gate" || return
		cat "$gate" >>"$HTTPD_SITE" || return
		;;
	esac
	GATE_KIND=$1
	export GATE_KIND
}

# _gate_server_pool: two processes of the program, as the snippets say:
# on 127.0.0.1:GATE_PORT for Apache, on the pool's socket for lighttpd.
# Their pids go to the server's pool.pid, so httpd_stop stops them too.
_gate_server_pool() {
	local address=$GATE_PORT
	[[ $GATE_KIND == apache ]] || address=$HTTPD_RUNDIR/chatkit-session.sock
	_httpd_chown "$HTTPD_RUNDIR" || return
	gate_pool_start "$address" 2 "$HTTPD_CGI" "$HTTPD_ETC/chatkit-session.conf" \
		"$HTTPD_RUNDIR/pool.pid" "$HTTPD_DIR/pool.out" 3>&-
}

# gate_request [http_request ARGS...]: a request to /chatkit through the
# server (a ChatKit POST unless -X says otherwise).
gate_request() {
	http_request "$@" /chatkit
}

# standin_count: how many requests reached the stand-in so far.
standin_count() {
	if [[ -f $STANDIN_LOG ]]; then
		wc -l <"$STANDIN_LOG"
	else
		echo 0
	fi
}

# standin_header NAME: header NAME of the last request that reached the
# stand-in, "-" when it had none.
standin_header() {
	tail -n 1 "$STANDIN_LOG" | jq -r --arg h "$1" \
		'.headers | to_entries | map(select(.key | ascii_downcase == ($h | ascii_downcase)))
		 | if length == 0 then "-" else .[0].value end'
}

# server_session USER [DEVICE]: a session of USER from the endpoint
# through the server: sets session_id and session_expires.
server_session() {
	http_post --token "$(valid_token "$1")" --body "{\"deviceId\":\"${2:-web}\"}"
	[[ $http_status == 200 ]] ||
		die "no session for $1: $http_status $http_body" || return
	session_id=$(json_field .session.chatKitSessionId)
	session_expires=$(json_field .session.expiresAt)
}

# lock_hits ID: the request counter row of session ID held (15 s at
# most, helpers/pglock.bash), so the gate's check waits on it.
lock_hits() {
	pg_hold chatkit-test-hits 15 \
		"select 1 from chatkit_session_hits h join chatkit_sessions c
		    on c.id = h.session_id where c.session_token = :'t' for update" \
		"select count(*) from pg_stat_activity
		  where application_name = 'chatkit-test-hits' and query like '%pg_sleep%'" \
		-v "t=$1"
}

# unlock_hits: end lock_hits's session.
unlock_hits() { pg_release chatkit-test-hits; }

# assert_json_refusal STATUS TITLE: a refusal as the client gets it
# through the server: status, JSON body and type, Cache-Control.
assert_json_refusal() {
	assert_error "$1" "$2"
	assert_header Content-Type '^application/json'
	assert_header Cache-Control '^no-store$'
}

# assert_gate_challenge: the gate's WWW-Authenticate, exactly.
assert_gate_challenge() {
	assert_that "$(header_value WWW-Authenticate)" == \
		'Bearer realm="chatkit-session", error="invalid_token"' "WWW-Authenticate"
}

# --- the cases every server shows (apache-gate.bats, lighttpd-gate.bats) ----

# A ChatKit request that is answered as JSON, and one that streams.
GATE_LIST_BODY='{"type":"threads.list","params":{}}'
GATE_STREAM_BODY='{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Hi there!"}],"quoted_text":"","attachments":[],"inference_options":{}}}}'

gate_case_ok() {
	local user before
	user=$(new_user)
	server_session "$user" web
	before=$(standin_count)
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	assert_status 200
	assert_header Content-Type '^application/json'
	assert_json .userId "$user"
	assert_json '.gate["X-ChatKit-Device-Id"]' web
	assert_json '.gate["X-ChatKit-Expires-At"]' "$session_expires"
	assert_json '.gate["X-ChatKit-Role"]' member
	# Nothing of the gate's answer reaches the client.
	refute_header Variable-CHATKIT_USER_ID
	refute_header X-Content-Type-Options
	assert_that "$(standin_count)" == $((before + 1)) "requests that reached the stand-in"
	assert_that "$(standin_header X-ChatKit-User-Id)" == "$user" "X-ChatKit-User-Id"
	assert_that "$(standin_header Authorization)" == - "Authorization at the stand-in"
}

gate_case_stream() {
	local user
	user=$(new_user)
	server_session "$user"
	gate_request -t "$session_id" -d "$GATE_STREAM_BODY"
	assert_status 200
	assert_header Content-Type '^text/event-stream'
	assert_that "$http_body" =~ "^data: .*\"userId\": \"$user\"" "the event"
}

gate_case_forged_headers() {
	local user
	user=$(new_user)
	server_session "$user"
	gate_request -t "$session_id" -d "$GATE_LIST_BODY" \
		-H 'X-ChatKit-User-Id: someone_else' -H 'X-ChatKit-Role: admin'
	assert_status 200
	assert_that "$(standin_header X-ChatKit-User-Id)" == "$user" "X-ChatKit-User-Id"
	assert_that "$(standin_header X-ChatKit-Role)" == member "X-ChatKit-Role"
}

gate_case_no_credential() {
	local before
	before=$(standin_count)
	gate_request -d "$GATE_LIST_BODY" -H 'X-ChatKit-User-Id: someone_else'
	assert_json_refusal 401 Unauthorized
	assert_gate_challenge
	assert_that "$(standin_count)" == "$before" "requests that reached the stand-in"
}

gate_case_unknown() {
	gate_request -t "$(cat /proc/sys/kernel/random/uuid)" -d "$GATE_LIST_BODY"
	assert_json_refusal 401 Unauthorized
	assert_gate_challenge
}

gate_case_revoked() {
	local user
	user=$(new_user)
	server_session "$user" dev-gone
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	assert_status 200
	http_request -X DELETE --token "$(valid_token "$user")" --body '{"deviceId":"dev-gone"}'
	assert_status 200
	assert_json .revoked 1
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	assert_json_refusal 401 Unauthorized
	assert_gate_challenge
}

gate_case_inactive() {
	local user before
	user=$(new_user)
	server_session "$user"
	pg_sql "update users set is_active = false where clerk_user_id = :'id'" id="$user"
	before=$(standin_count)
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	assert_json_refusal 403 Forbidden
	assert_json .message 'User account is inactive'
	assert_that "$(standin_count)" == "$before" "requests that reached the stand-in"
}

gate_case_rate() {
	local user i
	user=$(new_user)
	server_session "$user" dev-1
	for ((i = 0; i < GATE_RATE; i++)); do
		gate_request -t "$session_id" -d "$GATE_LIST_BODY"
		assert_status 200
	done
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	assert_json_refusal 429 'Too Many Requests'
	assert_header Retry-After '^([1-9]|[1-5][0-9]|60)$'
	# Per session: the user's other session still passes.
	server_session "$user" dev-2
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	assert_status 200
}

gate_case_unavailable() {
	local user start took
	user=$(new_user)
	server_session "$user"
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	assert_status 200
	lock_hits "$session_id"
	start=$(now_ms)
	gate_request -t "$session_id" -d "$GATE_LIST_BODY"
	took=$(($(now_ms) - start))
	unlock_hits
	assert_json_refusal 503 'Service Unavailable'
	assert_header Retry-After '^[0-9]+$'
	refute_header WWW-Authenticate
	# CHATKIT_DB_TIMEOUT=2, the cancel, and room for a loaded machine.
	((took <= 6000)) || fail "the answer took $took ms"
}

gate_case_preflight() {
	gate_request -X OPTIONS -H 'Origin: http://127.0.0.1' \
		-H 'Access-Control-Request-Method: POST' \
		-H 'Access-Control-Request-Headers: authorization, content-type' \
		-H 'X-ChatKit-User-Id: someone_else'
	assert_status 204
	assert_header Access-Control-Allow-Origin '^http://127\.0\.0\.1$'
	assert_that "$(tail -n 1 "$STANDIN_LOG" | jq -r .method)" == OPTIONS "method at the stand-in"
	assert_that "$(standin_header X-ChatKit-User-Id)" == - "X-ChatKit-User-Id at the stand-in"
}

gate_case_plain_options() {
	local before
	before=$(standin_count)
	gate_request -X OPTIONS -H 'Origin: http://127.0.0.1'
	assert_json_refusal 401 Unauthorized
	assert_that "$(standin_count)" == "$before" "requests that reached the stand-in"
}
