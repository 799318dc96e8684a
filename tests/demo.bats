#!/usr/bin/env bats
# demo.bats: scripts/demo, the README's quick start, run for real: its own
# PostgreSQL and Apache on free loopback ports, a demo key and token.
# It uses the built $CGI (--cgi) and skips install-deps (--no-deps); its
# state goes to a temp dir (DEMO_DIR), not the checkout's .demo/.

bats_require_minimum_version 1.5.0

load helpers/common

DEMO_TIMEOUT=300

setup_file() {
	# Not $BATS_FILE_TMPDIR: root-only 0700, closed to the demo's servers.
	DEMO_DIR=$(mktemp -d /tmp/chatkit-demo-test.XXXXXX)
	chmod 0755 "$DEMO_DIR"
	export DEMO_DIR
}

teardown_file() {
	local pid
	# Only if a test failed half way: stop what the demo left, by pid.
	for pid in $(_demo_pids); do
		kill -TERM "$pid" 2>/dev/null || true
	done
	case ${DEMO_DIR:-} in
	/tmp/chatkit-demo-test.*) rm -rf -- "$DEMO_DIR" ;;
	esac
}

# _demo_procs: processes whose command line names DEMO_DIR (the demo's
# PostgreSQL, Apache and stand-in ChatKit server do, and the program when
# the demo copied it there), and the gate's processes (run/gate.pid),
# one "pid args" per line; _demo_pids: their pids.
_demo_procs() {
	local p
	ps -eo pid=,args= | grep -F -- "$DEMO_DIR" | grep -v grep || true
	[[ -f $DEMO_DIR/run/gate.pid ]] || return 0
	while read -r p || [[ -n $p ]]; do
		[[ $p =~ ^[0-9]+$ && -d /proc/$p ]] || continue
		ps -o pid=,args= -p "$p" || true
	done <"$DEMO_DIR/run/gate.pid"
}

_demo_pids() {
	_demo_procs | awk '{ print $1 }'
}

# _demo ARGS...: scripts/demo with the test's settings, bounded in time,
# with bats' fd 3 closed so no server it starts can hold bats open.
_demo() {
	timeout -k 10 "$DEMO_TIMEOUT" "$TOP_SRCDIR/scripts/demo" \
		--no-deps --cgi "$CGI" "$@" 3>&-
}

# demo_check: scripts/demo --check into $output and $stderr; a failure
# shows what the demo said on stderr.
demo_check() {
	run --separate-stderr _demo --check
	((status == 0)) ||
		die "scripts/demo --check exited $status; its stderr:"$'\n'"$stderr"
}

@test "scripts/demo --check gets the same session twice through Apache" {
	demo_check
	assert_output --partial '"userId":"user_demo"'
	assert_output --partial '"workflowId":"workflow_demo"'
	assert_that "$stderr" =~ "check passed: session [0-9a-f-]{36} handed out and reused" \
		"the demo's report"
}

@test "scripts/demo --check sends a message through the gate to the stand-in, which names the user" {
	demo_check
	assert_line --regexp '^data: \{"gate": \{"X-ChatKit-User-Id": "user_demo", '
	assert_output --partial '"text": "Hello user_demo, you said: Hello from curl"'
	assert_output --partial '"message":"A ChatKit session is required'
	assert_that "$stderr" =~ "the gate let it through as user_demo and refused a request without it \(401\)" \
		"the demo's report"
	assert_that "$stderr" =~ "the gate \(2 processes, FastCGI authorizer\) on 127\.0\.0\.1:[0-9]+" \
		"the gate's port"
	run -0 grep -c '"method": "POST", "path": "/chatkit"' "$DEMO_DIR/run/standin.log"
	assert_output 1
}

@test "scripts/demo prints the page URL, the token and a curl line" {
	demo_check
	assert_output --regexp 'Page: +http://127\.0\.0\.1:[0-9]+/'
	assert_output --regexp 'Token: +[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+'
	assert_output --regexp "curl -sS -X POST -H 'Authorization: Bearer [^']+'.* http://127\.0\.0\.1:[0-9]+/api/chatkit/session"
	assert_line --regexp "^ *curl -sS -X POST -H 'Authorization: Bearer [0-9a-f-]{36}'.*\"threads\.create\".* http://127\.0\.0\.1:[0-9]+/chatkit\$"
}

@test "scripts/demo --check --pgbouncer sends the CGI's queries through pgbouncer" {
	local port n
	run --separate-stderr _demo --check --pgbouncer
	((status == 0)) ||
		die "scripts/demo --check --pgbouncer exited $status; its stderr:"$'\n'"$stderr"
	port=$(sed -n 's/.*pgbouncer (transaction pooling) on 127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$stderr")
	[[ -n $port ]] || die "no pgbouncer port in the demo's report: $stderr"
	assert_output --regexp "DB: +host=127\.0\.0\.1 port=$port "
	assert_that "$stderr" =~ "check passed" "the demo's report"
	# The demo's readiness probe (once or more) and the two requests of
	# --check logged in.
	n=$(grep -c 'login attempt: db=chatkit user=chatkit' "$DEMO_DIR/pgbouncer/pgbouncer.log")
	((n >= 3)) || die "$n logins at pgbouncer, expected the probe's and two requests'"
	run -0 _demo_procs
	assert_output ''
}

@test "scripts/demo --check stops PostgreSQL, Apache, the gate and the stand-in when it ends" {
	demo_check
	run -0 _demo_procs
	assert_output ''
}

@test "a second scripts/demo run reuses the demo key pair and database" {
	local before
	demo_check
	before=$(sha256sum <"$DEMO_DIR/keys/demo.key")
	demo_check
	assert_equal "$(sha256sum <"$DEMO_DIR/keys/demo.key")" "$before"
	[[ $stderr != *'initdb in'* ]] || die "the second run ran initdb again: $stderr"
}

@test "Ctrl-C stops the interactive demo and everything it started" {
	local log=$BATS_TEST_TMPDIR/demo.log pid i url code
	# A background job of a script ignores SIGINT; --default-signal
	# gives the demo the terminal's Ctrl-C back.
	env --default-signal=INT timeout -k 10 "$DEMO_TIMEOUT" \
		"$TOP_SRCDIR/scripts/demo" --no-deps --cgi "$CGI" \
		</dev/null >"$log" 2>&1 3>&- &
	pid=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q 'press Ctrl-C' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# demo: /' "$log"
	grep -q 'press Ctrl-C' "$log" || die "the demo did not come up"

	url=$(sed -n 's/^ *Page: *//p' "$log")
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url")
	assert_equal "$code" 200

	kill -INT "$pid"
	for ((i = 0; i < 900; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && die "the demo still runs 90 s after Ctrl-C"
	wait "$pid" || true
	sed 's/^/# demo: /' "$log"
	# The demo waits for its servers, but on a loaded machine a child
	# of theirs may be listed a little longer: allow it 30 s.
	for ((i = 0; i < 300; i++)); do
		[[ -n $(_demo_procs) ]] || break
		sleep 0.1
	done
	run -0 _demo_procs
	assert_output ''
	run ! curl -s -o /dev/null --max-time 5 "$url"
}
