#!/usr/bin/env bats
# browser.bats: the demo page and www/chatkit-session.js in headless Chromium,
# served with the CGI by a real Apache (mpm_event + mod_cgid), with the
# stand-in ChatKit server (scripts/chatkit-standin) behind the gate at
# /chatkit, as scripts/demo sets it up (scripts/lib/gate.bash).
#
# Needs chromium, node and `npm ci` (scripts/install-deps --browser). The
# scenarios are tests/browser/*.mjs (playwright-core); each run is bounded
# by BROWSER_TIMEOUT (60 s inside, 90 s outside) and closes Chromium. When
# Chromium cannot be started every test is skipped, saying why.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/httpd
# shellcheck source=../scripts/lib/gate.bash
source "$TOP_SRCDIR/scripts/lib/gate.bash"

: "${BROWSER_TIMEOUT:=60}"
export BROWSER_TIMEOUT

setup_file() {
	BROWSER_SKIP=
	local rc=0 err
	if ! command -v node >/dev/null 2>&1; then
		BROWSER_SKIP="node is not installed (run scripts/install-deps --browser)"
	else
		err=$(timeout -k 5 90 node "$TOP_SRCDIR/tests/browser/probe.mjs" probe 2>&1 >/dev/null) || rc=$?
		case $rc in
		0) ;;
		77) BROWSER_SKIP="headless Chromium cannot be started: ${err#\# }" ;;
		*) die "the Chromium probe failed (exit $rc): $err"; return ;;
		esac
	fi
	export BROWSER_SKIP
	[[ -z $BROWSER_SKIP ]] || return 0

	pg_start || return
	tokens_setup "$BATS_FILE_TMPDIR/keys" || return
	httpd_prepare apache-cgid || return
	httpd_config_default || return
	if gate_setup && httpd_start; then
		return 0
	fi
	# What started must not outlive the file.
	teardown_file
	return 1
}

# gate_setup: the stand-in ChatKit server (its requests in STANDIN_LOG),
# the gate's pool with the CGI's settings file, and the gate's snippet
# in the site, each on a port of its own.
gate_setup() {
	local gate_port
	STANDIN_PORT=$(random_free_port) && gate_port=$(random_free_port) || return
	[[ $gate_port != "$STANDIN_PORT" ]] || gate_port=$(random_free_port) || return
	STANDIN_LOG=$HTTPD_DIR/standin.log
	GATE_PIDS=$HTTPD_RUNDIR/gate.pid
	export STANDIN_PORT STANDIN_LOG GATE_PIDS
	standin_start "$STANDIN_PORT" "$STANDIN_LOG" "$HTTPD_DIR/standin.out" || return
	export STANDIN_PID
	gate_pool_start "$gate_port" 2 "$HTTPD_CGI" "$HTTPD_ETC/chatkit-session.conf" \
		"$GATE_PIDS" "$HTTPD_DIR/gate.out" || return
	gate_apache_site "$HTTPD_SITE" "$gate_port" "$STANDIN_PORT" \
		"$HTTPD_DIR/cgi-bin" "$HTTPD_ETC"
}

teardown_file() {
	# The pool first: its pid file goes with httpd_stop's directory.
	[[ -z ${GATE_PIDS:-} ]] || httpd_pool_stop "$GATE_PIDS"
	httpd_stop
	standin_stop
	pg_stop
}

setup() {
	[[ -z $BROWSER_SKIP ]] || skip "$BROWSER_SKIP"
	httpd_log_mark
}

teardown() {
	[[ -z $BROWSER_SKIP ]] || return 0
	httpd_log_tail
	# A test may have shortened the TTL; the next one starts from defaults.
	httpd_config_default
}

# browser SCRIPT SCENARIO [NAME=VALUE...]: run tests/browser/SCRIPT.mjs
# SCENARIO in headless Chromium with BASE_URL and the given variables;
# $result is the JSON it printed. Shows what ran and Chromium's log.
browser() {
	local script=$1 scenario=$2 rc=0
	shift 2
	local out=$BATS_TEST_TMPDIR/$scenario.out err=$BATS_TEST_TMPDIR/$scenario.err
	env BASE_URL="$HTTPD_URL" FAIL_SCREENSHOT="$BATS_TEST_TMPDIR/$scenario-failed.png" "$@" \
		timeout -k 10 $((BROWSER_TIMEOUT + 30)) \
		node "$TOP_SRCDIR/tests/browser/$script.mjs" "$scenario" >"$out" 2>"$err" || rc=$?
	printf '# $ node tests/browser/%s.mjs %s   (BASE_URL=%s) -> exit %s\n' \
		"$script" "$scenario" "$HTTPD_URL" "$rc"
	sed 's/^/#   /' "$err"
	result=$(<"$out")
	printf '#   result: %s\n' "$result"
	((rc == 0)) || die "browser scenario $script/$scenario failed (exit $rc), see above"
}

# r FILTER: a field of $result (jq -r).
r() {
	jq -r "$1" <<<"$result"
}

# new_user: a fresh users row; prints its id.
new_user() {
	local user
	user=$(unique_id user) || return
	pg_add_user "$user" >/dev/null || return
	printf '%s\n' "$user"
}

# active_session USER [COLUMN]: COLUMN (default session_token) of USER's
# active sessions, one line each.
active_session() {
	pg_sql "select ${2:-session_token} from chatkit_sessions
		where clerk_user_id = :'u' and status = 'active' and expires_at > now()
		order by created_at" u="$1"
}

# posts: how many POSTs to the endpoint Apache has logged so far.
posts() {
	grep -c '"POST /api/chatkit/session ' "$HTTPD_RUNDIR/access.log" || true
}

# server_says [TOKEN]: what the server answers TOKEN (or no token) over
# curl; sets $said_status, $said_message.
server_says() {
	http_post ${1:+-t "$1"} >/dev/null
	said_status=$http_status
	said_message=$(json_field .message)
}

@test "the demo page shows the session the database holds for a pasted token" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	browser demo session TOKEN="$tok" ${SCREENSHOT:+SCREENSHOT="$SCREENSHOT"}

	assert_that "$(r .id)" == "$(active_session "$user")" "session id on the page vs the database"
	assert_that "$(r .device)" == "$(active_session "$user" device_id)" "device on the page vs the database"
	assert_that "$(r .user)" == "$user" "user on the page"
	assert_that "$(r .status)" == "Session ready." "status line"
	assert_that "$(r '.countdown[0]')" =~ '^\(in 23 h 59 min [0-9]+ s\)$' "expiry countdown"
	assert_that "$(r '.countdown[1]')" != "$(r '.countdown[0]')" "countdown moves"
	assert_that "$(r .requests)" == 1 "requests sent"
}

# statuses USER: "device:status" of each of USER's rows, oldest first.
statuses() {
	pg_sql "select string_agg(device_id || ':' || status, ' ' order by created_at, device_id)
		  from chatkit_sessions where clerk_user_id = :'u'" u="$1"
}

@test "the demo page lists the user's devices, marks this one, and revokes another with its button" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok" -d '{"deviceId":"phone-1"}' >/dev/null
	assert_status 200
	browser demo devices TOKEN="$tok" QUERY='?deviceId=laptop-1' ${SCREENSHOT:+SCREENSHOT="$SCREENSHOT"}

	assert_that "$(r .heading)" == 1 "'Your devices' heading"
	assert_that "$(r '[.before[].device] | join(" ")')" == "laptop-1 phone-1" "rows before, newest first"
	assert_that "$(r '[.before[].current] | map(tostring) | join(" ")')" == "true false" "this device marked"
	assert_that "$(r '.before[0].text')" =~ '\(this device\)' "mark on the current row"
	assert_that "$(r '[.after[].device] | join(" ")')" == laptop-1 "rows after the revoke"
	assert_that "$(r .devicesStatus)" == "Revoked the session of phone-1." "status under the list"
	assert_that "$(r .sessionShown)" == true "this device's session still shown"
	assert_that "$(statuses "$user")" == "phone-1:revoked laptop-1:active" "rows in the database"
	assert_that "$(r '.methods | join(" ")')" == "POST GET DELETE GET" "requests the page sent"
}

@test "a revoke from a second tab makes the first tab's next request create a new session" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	browser demo secondTab TOKEN="$tok" QUERY='?deviceId=tab-1' QUERY2='?deviceId=tab-2'

	assert_that "$(r .stillShown)" == "$(r .first)" "first tab's shown id before it asks again"
	assert_that "$(r .second)" != "$(r .first)" "first tab's id after it asked again"
	assert_that "$(r '[.rows2[].device] | join(" ")')" == "tab-2 tab-1" "second tab's list"
	assert_that "$(r '[.rows2[].current] | map(tostring) | join(" ")')" == "true false" "second tab marks tab-2"
	assert_that "$(r .tab2Status)" == "Revoked the session of tab-1." "second tab's status"
	assert_that "$(r .status)" == "A new session was created." "first tab's status"
	assert_that "$(r '[.rows1[].device] | join(" ")')" == "tab-1 tab-2" "first tab's list after"
	run -0 pg_sql "select status from chatkit_sessions where session_token = :'t'" t="$(r .first)"
	assert_that "$output" == revoked "first session in the database"
	assert_that "$(pg_sql "select session_token from chatkit_sessions
		where clerk_user_id = :'u' and device_id = 'tab-1' and status = 'active'" u="$user")" == "$(r .second)" \
		"new session in the database"
}

@test "the demo page shows the server's message when the token is refused" {
	local user tok
	user=$(new_user)
	tok=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	server_says "$tok"
	assert_that "$said_status" == 401 "status of the same token over curl"
	browser demo rejected TOKEN="$tok"

	assert_that "$(r .message)" == "$said_message" "message on the page"
	assert_that "$(r .title)" == "The token was not accepted." "title on the page"
	assert_that "$(r .detail)" == "HTTP 401 · Unauthorized" "detail on the page"
	assert_that "$(r .sessionShown)" == false "no session shown"
	assert_that "$(active_session "$user")" == "" "no session in the database"
}

@test "with a 6 s TTL and a 4 s threshold the demo page renews the session by itself" {
	local user tok before
	httpd_config_default
	printf '%s\n' CHATKIT_SESSION_TTL=6 CHATKIT_REFRESH_THRESHOLD=4 \
		>>"$HTTPD_ETC/chatkit-session.conf"
	user=$(new_user)
	tok=$(valid_token "$user")
	before=$(posts)
	browser demo renews TOKEN="$tok" QUERY='?threshold=4'

	assert_that "$(r .second)" != "$(r .first)" "shown id changed"
	assert_that "$(r .requestsBefore)" == 1 "requests before the renewal"
	assert_that "$(r .requestsAfter)" == 2 "requests after the renewal"
	assert_that "$(($(posts) - before))" == 2 "POSTs in Apache's access log"
	assert_that "$(r .status)" == "Renewed automatically: session renewed with a new ID." "status line"
	run -0 pg_sql "select count(*) from chatkit_sessions where clerk_user_id = :'u'" u="$user"
	assert_that "$output" == 1 "rows of the user (a renewal keeps the row)"
	assert_that "$(active_session "$user")" == "$(r .second)" "renewed id vs the database"
}

@test "concurrent callers of one client share a single request" {
	local user tok before
	user=$(new_user)
	tok=$(valid_token "$user")
	before=$(posts)
	browser module shared TOKEN="$tok"

	assert_that "$(r '.ids | unique | length')" == 1 "distinct ids among 5 concurrent callers"
	assert_that "$(r .tokenCalls)" == 1 "getToken calls"
	assert_that "$(r .afterConcurrent)" == 1 "requests after 5 concurrent callers"
	assert_that "$(r .afterKept)" == 1 "requests after getSession() of a kept session"
	assert_that "$(r .afterForced)" == 2 "requests after two refresh() at once"
	assert_that "$(r .kept)" == "$(r '.ids[0]')" "kept session"
	assert_that "$(($(posts) - before))" == 2 "POSTs in Apache's access log"
	assert_that "$(active_session "$user")" == "$(r '.ids[0]')" "session in the database"
}

@test "a request carries the Bearer token, a JSON body and same-origin cookies" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	browser module wire TOKEN="$tok"

	assert_that "$(r .method)" == POST "method"
	assert_that "$(r .authorization)" == "Bearer $tok" "Authorization"
	assert_that "$(r .contentType)" == application/json "Content-Type"
	assert_that "$(r .cookie)" =~ 'probe=yes' "Cookie"
	assert_that "$(jq -c .body <<<"$result")" == \
		'{"deviceId":"dev-wire","metadata":{"source":"browser-test","n":1}}' "body"
	assert_that "$(r .anonAuthorization)" == null "Authorization without a token"
	assert_that "$(r .anonBody)" == '{}' "body without deviceId and metadata"
	assert_that "$(r .anonStatus)" == 401 "status without a token"
	assert_that "$(active_session "$user" device_id)" == dev-wire "device in the database"
	assert_that "$(active_session "$user" metadata)" == '{"n": 1, "source": "browser-test"}' \
		"metadata in the database"
	assert_that "$(active_session "$user")" == "$(r .id)" "session in the database"
}

@test "server refusals reject with a ChatKitSessionError carrying status, error and the server's message" {
	local user stranger bad unknown m_bad m_unknown m_none
	user=$(new_user)
	stranger=$(unique_id stranger)
	bad=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	unknown=$(valid_token "$stranger")
	server_says "$bad"
	m_bad=$said_message
	server_says "$unknown"
	m_unknown=$said_message
	server_says
	m_none=$said_message
	browser module refusals BAD_TOKEN="$bad" UNKNOWN_TOKEN="$unknown"

	local k
	for k in bad unknown none; do
		assert_that "$(r ".$k.isChatKitSessionError")" == true "$k: instanceof ChatKitSessionError"
		assert_that "$(r ".$k.isError")" == true "$k: instanceof Error"
		assert_that "$(r ".$k.name")" == ChatKitSessionError "$k: name"
		assert_that "$(r ".$k.kept")" == true "$k: client.error is it, no session, not loading"
		assert_that "$(r ".$k.retryable")" == false "$k: retryable"
	done
	assert_that "$(r .bad.status)" == 401 "bad signature: status"
	assert_that "$(r .bad.error)" == Unauthorized "bad signature: error"
	assert_that "$(r .bad.message)" == "$m_bad" "bad signature: message"
	assert_that "$(r .unknown.status)" == 403 "no users row: status"
	assert_that "$(r .unknown.error)" == Forbidden "no users row: error"
	assert_that "$(r .unknown.message)" == "User role not found" "no users row: message"
	assert_that "$(r .unknown.message)" == "$m_unknown" "no users row: message over curl"
	assert_that "$(r .none.status)" == 401 "no token: status"
	assert_that "$(r .none.message)" == "$m_none" "no token: message"
}

@test "network and proxy failures reject with errors in words" {
	browser module failures

	assert_that "$(r '"\(.refused.status) \(.refused.error) \(.refused.retryable)"')" == "0 Network Error true" "refused connection"
	assert_that "$(r .refused.message)" =~ 'Could not reach the server' "refused connection: message"
	assert_that "$(r '"\(.proxy.status) \(.proxy.retryable)"')" == "502 true" "proxy HTML page"
	assert_that "$(r .proxy.message)" == \
		"The web server could not reach the session program (HTTP 502)." "proxy HTML page: message"
	assert_that "$(r '"\(.busy.status) \(.busy.error) \(.busy.retryAfter)"')" == "503 Service Unavailable 7" "503 with Retry-After"
	assert_that "$(r .busy.message)" == "The session store is unavailable." "503: the server's message"
	assert_that "$(r '"\(.notSession.status) \(.notSession.error)"')" == "200 Bad Response" "200 without a session"
	assert_that "$(r '"\(.missing.status) \(.missing.retryable)"')" == "404 false" "wrong endpoint"
	assert_that "$(r .missing.message)" =~ 'check the endpoint address' "wrong endpoint: message"
	assert_that "$(r '"\(.slow.status) \(.slow.error)"')" == "0 Timeout" "no answer in time"
	assert_that "$(r .slow.message)" == "The server did not answer within 1 second." "timeout: message"
	assert_that "$(r .token.error)" == "Token Error" "getToken throws"
	assert_that "$(r .token.message)" == "Could not get a sign-in token: signed out." "getToken throws: message"
	assert_that "$(r .tokenFetches)" == 0 "requests without a token from getToken"
}

@test "the next request comes at the threshold, after a sleep, and after retryable errors only" {
	browser module schedule

	assert_that "$(r .start)" == 1 "first request"
	assert_that "$(r .before70s)" == 1 "69 s later (100 s session, 30 s threshold)"
	assert_that "$(r .at70s)" == 2 "71 s later"
	assert_that "$(r .halfway9s)" == 2 "9 s after the server kept a 20 s session"
	assert_that "$(r .halfway11s)" == 3 "11 s after it (halfway to expiry)"
	assert_that "$(r .sleptNoTimer)" == 3 "after the clock jumped, before the tab shows"
	assert_that "$(r .visible)" == 4 "on visibilitychange with less than the threshold left"
	assert_that "$(r .focusFresh)" == 4 "on focus with plenty left"
	assert_that "$(r .atThreshold)" == 5 "at the next threshold"
	assert_that "$(r .error5)" == 503 "error state after a 503"
	assert_that "$(r .retry6s)" == 5 "6 s after a 503 with Retry-After: 7"
	assert_that "$(r .retry7s)" == 6 "8 s after it"
	assert_that "$(r .error6)" == 401 "error state after a 401"
	assert_that "$(r .tenMinutes)" == 6 "10 min after a 401 (not retried)"
	assert_that "$(r .refreshed)" == fake-7 "refresh() by a caller"
	assert_that "$(r .errorCleared)" == true "error cleared by a success"
	assert_that "$(r .closed)" == 7 "200 s after close()"
	assert_that "$(r .closedFocus)" == 7 "focus after close()"
}

@test "list, revoke and revokeAll send GET and DELETE and resolve to the server's answers" {
	local user tok bad
	user=$(new_user)
	tok=$(valid_token "$user")
	bad=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	browser module manage TOKEN="$tok" BAD_TOKEN="$bad"

	assert_that "$(r '.ids | unique | length')" == 3 "three distinct sessions"
	assert_that "$(r '[.listed[].deviceId] | join(" ")')" == "dev-m2 dev-m1" "list(), newest first"
	assert_that "$(r '[.listed[] | has("chatKitSessionId")] | any')" == false "no chatKitSessionId in a list"
	assert_that "$(r .getAuthorization)" == "Bearer $tok" "GET Authorization"
	assert_that "$(r .getBody)" == null "GET sends no body"
	assert_that "$(r .deleteAuthorization)" == "Bearer $tok" "DELETE Authorization"
	assert_that "$(r .deleteType)" == application/json "DELETE Content-Type"
	assert_that "$(r '.deleteBodies[0]')" == '{"deviceId":"dev-m2"}' "revoke() body"
	assert_that "$(r '.deleteBodies[3]')" == '{"all":true}' "revokeAll() body"
	assert_that "$(r '"\(.revokedOther) \(.keptAfterOther)"')" == "1 true" "revoke of another device keeps ours"
	assert_that "$(r '.listedAfter | join(" ")')" == dev-m1 "list after it"
	assert_that "$(r '"\(.revokedOwn) \(.droppedOwn)"')" == "1 true" "revoke of our own device drops it"
	assert_that "$(r '.states[0]')" == none "subscribers told"
	assert_that "$(r .revokedNone)" == 0 "revoke of a device with no session"
	assert_that "$(r '"\(.revokedAll) \(.droppedAll) \(.afterAll)"')" == "1 true 0" "revokeAll()"
	assert_that "$(r '"\(.badShape.status) \(.badShape.error) \(.badShape.isChatKitSessionError)"')" == "400 Bad Request true" "bad deviceId"
	assert_that "$(r '"\(.refusedList.status) \(.refusedList.error) \(.refusedList.isChatKitSessionError)"')" == "401 Unauthorized true" "list() refused"
	assert_that "$(r '"\(.refusedRevoke.status) \(.refusedRevoke.error)"')" == "401 Unauthorized" "revokeAll() refused"
	assert_that "$(r .noToken.status)" == 401 "revokeAll without a token"
	assert_that "$(r .clientErrorUntouched)" == true "client.error left alone"
	assert_that "$(statuses "$user")" == "dev-m1:revoked dev-m2:revoked dev-m1:revoked" "rows in the database"
}

@test "the React hook gives session, loading, error and createSession" {
	local user tok bad
	user=$(new_user)
	tok=$(valid_token "$user")
	bad=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	browser module react TOKEN="$tok" BAD_TOKEN="$bad"

	assert_that "$(r .initial)" == 'idle||' "state before createSession"
	assert_that "$(active_session "$user")" == "$(r .created)" "createSession's session vs the database"
	assert_that "$(r .ok)" == "idle|$(r .created)|" "state after createSession"
	assert_that "$(r .createdDevice)" == dev-react "deviceId passed to createSession"
	assert_that "$(active_session "$user" "metadata->>'source'")" == react "metadata passed to createSession"
	assert_that "$(r .failed)" =~ '^idle\|[^|]+\|401 ' "state after a refused createSession (session kept, error set)"
	assert_that "$(r .createdOnError)" == null "createSession resolves to null on failure"
	assert_that "$(r '.seen | any(startswith("loading|"))')" == true "loading was seen"
}

@test "the React hook exposes list, revoke and revokeAll" {
	local user tok bad
	user=$(new_user)
	tok=$(valid_token "$user")
	bad=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	browser module react TOKEN="$tok" BAD_TOKEN="$bad" MANAGE=1

	assert_that "$(r '.hookList | join(" ")')" == dev-react "list()"
	assert_that "$(r .hookRevoked)" == 1 "revoke('dev-react')"
	assert_that "$(r .afterRevoke)" =~ '^idle\|\|' "hook state after revoking its own device"
	assert_that "$(r .hookRevokedAll)" == 0 "revokeAll() with nothing left"
	assert_that "$(statuses "$user")" == "dev-react:revoked" "rows in the database"
}

# standin_posts: the POSTs to /chatkit the stand-in received, one JSON
# object a line ({method, path, type, headers}).
standin_posts() {
	[[ -f $STANDIN_LOG ]] || return 0
	jq -c 'select(.method == "POST" and .path == "/chatkit")' "$STANDIN_LOG"
}

# standin_header N NAME: header NAME of the stand-in's Nth POST from
# the end (1: the last), "-" when it had none.
standin_header() {
	standin_posts | tail -n "$1" | head -n 1 | jq -r --arg h "$2" \
		'.headers | to_entries | map(select(.key | ascii_downcase == ($h | ascii_downcase)))
		 | if length == 0 then "-" else .[0].value end'
}

@test "a message from the demo page goes through the gate, and the answer names the signed-in user" {
	local user tok before
	user=$(new_user)
	tok=$(valid_token "$user")
	before=$(standin_posts | wc -l)
	browser demo message TOKEN="$tok" TEXT="Hi from Chromium"

	assert_that "$(r .reply)" == "Hello $user, you said: Hi from Chromium" "answer on the page"
	assert_that "$(r .detail)" == "HTTP 200 · 1 event from the ChatKit server" "detail under it"
	assert_that "$(r .errorShown)" == false "no error shown"
	assert_that "$(r .id)" == "$(active_session "$user")" "session on the page vs the database"
	assert_that "$(r '[.calls[] | "\(.method) \(.status) \(.authorization)"] | join(", ")')" == \
		"POST 200 Bearer $(r .id)" "requests to /chatkit (method, status, Authorization)"
	assert_that "$(r '.calls[0].contentType')" == application/json "Content-Type sent"
	assert_that "$(($(standin_posts | wc -l) - before))" == 1 "POSTs that reached the stand-in"
	assert_that "$(standin_header 1 X-ChatKit-User-Id)" == "$user" "X-ChatKit-User-Id at the stand-in"
	assert_that "$(standin_header 1 Authorization)" == - "Authorization at the stand-in"
	assert_that "$(standin_posts | tail -n 1 | jq -r .type)" == threads.create "request type at the stand-in"
}

@test "after a revoke through the endpoint the gate answers 401, and client.fetch gets a fresh session and sends the message again" {
	local user tok before
	user=$(new_user)
	tok=$(valid_token "$user")
	before=$(standin_posts | wc -l)
	browser demo revokedMessage TOKEN="$tok"

	assert_that "$(r .first)" == "Hello $user, you said: first" "first answer"
	assert_that "$(r .revoke)" == '200 {"revoked":1}' "DELETE {all: true} with the user's token"
	assert_that "$(r .shownAfterRevoke)" == "$(r .id1)" "the page still shows the revoked session"
	assert_that "$(r .second)" == "Hello $user, you said: second" "second answer"
	assert_that "$(r .id2)" != "$(r .id1)" "session shown after the second message"
	assert_that "$(r '[.calls[] | .status] | join(" ")')" == "200 401 200" "statuses of the requests to /chatkit"
	assert_that "$(r '[.calls[] | .authorization] | join(" ")')" == \
		"Bearer $(r .id1) Bearer $(r .id1) Bearer $(r .id2)" "Authorization of each"
	assert_that "$(r .posts)" == 2 "POSTs to the endpoint (the first session, the fresh one)"
	assert_that "$(r .status)" == "For the message, a new session was created." "status line"
	assert_that "$(r .errorShown)" == false "no error shown"
	run -0 pg_sql "select status from chatkit_sessions where session_token = :'t'" t="$(r .id1)"
	assert_that "$output" == revoked "first session in the database"
	assert_that "$(active_session "$user")" == "$(r .id2)" "the fresh session is the active one"
	assert_that "$(($(standin_posts | wc -l) - before))" == 2 "POSTs that reached the stand-in (not the refused one)"
	assert_that "$(standin_header 2 X-ChatKit-User-Id) $(standin_header 1 X-ChatKit-User-Id)" == \
		"$user $user" "X-ChatKit-User-Id of both"
}

@test "an X-ChatKit-User-Id the page sends never reaches the ChatKit server" {
	local user tok before
	user=$(new_user)
	tok=$(valid_token "$user")
	before=$(standin_posts | wc -l)
	browser demo forged TOKEN="$tok"

	assert_that "$(r '.calls[0].status')" == 200 "status"
	assert_that "$(r '.calls[0].userIdHeader')" == someone_else "X-ChatKit-User-Id the page sent"
	assert_that "$(r '.calls[0].roleHeader')" == admin "X-ChatKit-Role the page sent"
	assert_that "$(r .answer.userId)" == "$user" "the user the stand-in answered"
	assert_that "$(($(standin_posts | wc -l) - before))" == 1 "POSTs that reached the stand-in"
	assert_that "$(standin_header 1 X-ChatKit-User-Id)" == "$user" "X-ChatKit-User-Id at the stand-in"
	assert_that "$(standin_header 1 X-ChatKit-Role)" == member "X-ChatKit-Role at the stand-in"
	run -1 grep -c someone_else "$STANDIN_LOG"
	assert_output 0
}
