#!/usr/bin/env bats
# browser.bats: the demo page and www/chatkit-session.js in headless Chromium,
# served with the CGI by a real Apache (mpm_event + mod_cgid).
#
# Needs chromium, node and `npm ci` (scripts/install-deps --browser). The
# scenarios are tests/browser/*.mjs (playwright-core); each run is bounded
# by BROWSER_TIMEOUT (60 s inside, 90 s outside) and closes Chromium. When
# Chromium cannot be started every test is skipped, saying why.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/httpd

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
	httpd_start
}

teardown_file() {
	httpd_stop
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

	assert "$(active_session "$user")" == "$(r .id)" "session id on the page vs the database"
	assert "$(active_session "$user" device_id)" == "$(r .device)" "device on the page vs the database"
	assert "$user" == "$(r .user)" "user on the page"
	assert "Session ready." == "$(r .status)" "status line"
	assert '^\(in 23 h 59 min [0-9]+ s\)$' =~ "$(r '.countdown[0]')" "expiry countdown"
	assert "$(r '.countdown[0]')" != "$(r '.countdown[1]')" "countdown moves"
	assert 1 == "$(r .requests)" "requests sent"
}

@test "the demo page shows the server's message when the token is refused" {
	local user tok
	user=$(new_user)
	tok=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	server_says "$tok"
	assert 401 == "$said_status" "status of the same token over curl"
	browser demo rejected TOKEN="$tok"

	assert "$said_message" == "$(r .message)" "message on the page"
	assert "The token was not accepted." == "$(r .title)" "title on the page"
	assert "HTTP 401 · Unauthorized" == "$(r .detail)" "detail on the page"
	assert false == "$(r .sessionShown)" "no session shown"
	assert "" == "$(active_session "$user")" "no session in the database"
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

	assert "$(r .first)" != "$(r .second)" "shown id changed"
	assert 1 == "$(r .requestsBefore)" "requests before the renewal"
	assert 2 == "$(r .requestsAfter)" "requests after the renewal"
	assert 2 == "$(($(posts) - before))" "POSTs in Apache's access log"
	assert "Renewed automatically: session renewed with a new ID." == "$(r .status)" "status line"
	run -0 pg_sql "select count(*) from chatkit_sessions where clerk_user_id = :'u'" u="$user"
	assert 1 == "$output" "rows of the user (a renewal keeps the row)"
	assert "$(r .second)" == "$(active_session "$user")" "renewed id vs the database"
}

@test "concurrent callers of one client share a single request" {
	local user tok before
	user=$(new_user)
	tok=$(valid_token "$user")
	before=$(posts)
	browser module shared TOKEN="$tok"

	assert 1 == "$(r '.ids | unique | length')" "distinct ids among 5 concurrent callers"
	assert 1 == "$(r .tokenCalls)" "getToken calls"
	assert 1 == "$(r .afterConcurrent)" "requests after 5 concurrent callers"
	assert 1 == "$(r .afterKept)" "requests after getSession() of a kept session"
	assert 2 == "$(r .afterForced)" "requests after two refresh() at once"
	assert "$(r '.ids[0]')" == "$(r .kept)" "kept session"
	assert 2 == "$(($(posts) - before))" "POSTs in Apache's access log"
	assert "$(r '.ids[0]')" == "$(active_session "$user")" "session in the database"
}

@test "a request carries the Bearer token, a JSON body and same-origin cookies" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	browser module wire TOKEN="$tok"

	assert POST == "$(r .method)" "method"
	assert "Bearer $tok" == "$(r .authorization)" "Authorization"
	assert application/json == "$(r .contentType)" "Content-Type"
	assert 'probe=yes' =~ "$(r .cookie)" "Cookie"
	assert '{"deviceId":"dev-wire","metadata":{"source":"browser-test","n":1}}' == \
		"$(jq -c .body <<<"$result")" "body"
	assert null == "$(r .anonAuthorization)" "Authorization without a token"
	assert '{}' == "$(r .anonBody)" "body without deviceId and metadata"
	assert 401 == "$(r .anonStatus)" "status without a token"
	assert dev-wire == "$(active_session "$user" device_id)" "device in the database"
	assert '{"n": 1, "source": "browser-test"}' == "$(active_session "$user" metadata)" \
		"metadata in the database"
	assert "$(r .id)" == "$(active_session "$user")" "session in the database"
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
		assert true == "$(r ".$k.isChatKitSessionError")" "$k: instanceof ChatKitSessionError"
		assert true == "$(r ".$k.isError")" "$k: instanceof Error"
		assert ChatKitSessionError == "$(r ".$k.name")" "$k: name"
		assert true == "$(r ".$k.kept")" "$k: client.error is it, no session, not loading"
		assert false == "$(r ".$k.retryable")" "$k: retryable"
	done
	assert 401 == "$(r .bad.status)" "bad signature: status"
	assert Unauthorized == "$(r .bad.error)" "bad signature: error"
	assert "$m_bad" == "$(r .bad.message)" "bad signature: message"
	assert 403 == "$(r .unknown.status)" "no users row: status"
	assert Forbidden == "$(r .unknown.error)" "no users row: error"
	assert "User role not found" == "$(r .unknown.message)" "no users row: message"
	assert "$m_unknown" == "$(r .unknown.message)" "no users row: message over curl"
	assert 401 == "$(r .none.status)" "no token: status"
	assert "$m_none" == "$(r .none.message)" "no token: message"
}

@test "network and proxy failures reject with errors in words" {
	browser module failures

	assert "0 Network Error true" == "$(r '"\(.refused.status) \(.refused.error) \(.refused.retryable)"')" "refused connection"
	assert 'Could not reach the server' =~ "$(r .refused.message)" "refused connection: message"
	assert "502 true" == "$(r '"\(.proxy.status) \(.proxy.retryable)"')" "proxy HTML page"
	assert "The web server could not reach the session program (HTTP 502)." == \
		"$(r .proxy.message)" "proxy HTML page: message"
	assert "503 Service Unavailable 7" == "$(r '"\(.busy.status) \(.busy.error) \(.busy.retryAfter)"')" "503 with Retry-After"
	assert "The session store is unavailable." == "$(r .busy.message)" "503: the server's message"
	assert "200 Bad Response" == "$(r '"\(.notSession.status) \(.notSession.error)"')" "200 without a session"
	assert "404 false" == "$(r '"\(.missing.status) \(.missing.retryable)"')" "wrong endpoint"
	assert 'check the endpoint address' =~ "$(r .missing.message)" "wrong endpoint: message"
	assert "0 Timeout" == "$(r '"\(.slow.status) \(.slow.error)"')" "no answer in time"
	assert "The server did not answer within 1 second." == "$(r .slow.message)" "timeout: message"
	assert "Token Error" == "$(r .token.error)" "getToken throws"
	assert "Could not get a sign-in token: signed out." == "$(r .token.message)" "getToken throws: message"
	assert 0 == "$(r .tokenFetches)" "requests without a token from getToken"
}

@test "the next request comes at the threshold, after a sleep, and after retryable errors only" {
	browser module schedule

	assert 1 == "$(r .start)" "first request"
	assert 1 == "$(r .before70s)" "69 s later (100 s session, 30 s threshold)"
	assert 2 == "$(r .at70s)" "71 s later"
	assert 2 == "$(r .halfway9s)" "9 s after the server kept a 20 s session"
	assert 3 == "$(r .halfway11s)" "11 s after it (halfway to expiry)"
	assert 3 == "$(r .sleptNoTimer)" "after the clock jumped, before the tab shows"
	assert 4 == "$(r .visible)" "on visibilitychange with less than the threshold left"
	assert 4 == "$(r .focusFresh)" "on focus with plenty left"
	assert 5 == "$(r .atThreshold)" "at the next threshold"
	assert 503 == "$(r .error5)" "error state after a 503"
	assert 5 == "$(r .retry6s)" "6 s after a 503 with Retry-After: 7"
	assert 6 == "$(r .retry7s)" "8 s after it"
	assert 401 == "$(r .error6)" "error state after a 401"
	assert 6 == "$(r .tenMinutes)" "10 min after a 401 (not retried)"
	assert fake-7 == "$(r .refreshed)" "refresh() by a caller"
	assert true == "$(r .errorCleared)" "error cleared by a success"
	assert 7 == "$(r .closed)" "200 s after close()"
	assert 7 == "$(r .closedFocus)" "focus after close()"
}

@test "the React hook gives session, loading, error and createSession" {
	local user tok bad
	user=$(new_user)
	tok=$(valid_token "$user")
	bad=$(mint_token --payload "$(claims "$user")" --key "$OTHER_PRIV")
	browser module react TOKEN="$tok" BAD_TOKEN="$bad"

	assert 'idle||' == "$(r .initial)" "state before createSession"
	assert "$(r .created)" == "$(active_session "$user")" "createSession's session vs the database"
	assert "idle|$(r .created)|" == "$(r .ok)" "state after createSession"
	assert dev-react == "$(r .createdDevice)" "deviceId passed to createSession"
	assert react == "$(active_session "$user" "metadata->>'source'")" "metadata passed to createSession"
	assert '^idle\|[^|]+\|401 ' =~ "$(r .failed)" "state after a refused createSession (session kept, error set)"
	assert null == "$(r .createdOnError)" "createSession resolves to null on failure"
	assert true == "$(r '.seen | any(startswith("loading|"))')" "loading was seen"
}
