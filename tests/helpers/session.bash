# session.bash: small additions for the request/session test files, on top
# of helpers/common (cgi_call, pg_sql, tokens). Load after it:
#
#   load helpers/common
#   load helpers/session

UUID_V4_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
ISO_MS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

# session_call USER [cgi_call ARGS...]: a POST with a fresh valid token
# for USER; everything else as cgi_call.
session_call() {
	local tok
	tok=$(valid_token "$1") || die "could not mint a token for $1" || return
	shift
	cgi_call --token "$tok" "$@"
}

# iso_ms TIMESTAMP: an ISO-8601 time as Unix milliseconds.
iso_ms() {
	date -ud "$1" +%s%3N 2>/dev/null || die "not a timestamp: '$1'"
}

# now_ms: the current Unix time in milliseconds.
now_ms() {
	date +%s%3N
}

# assert_near EXPECTED ACTUAL SLACK WHAT: |EXPECTED - ACTUAL| <= SLACK.
assert_near() {
	local d=$(($2 - $1))
	((d < 0)) && d=$((-d))
	((d <= $3)) && return 0
	batslib_print_kv_single_or_multi 8 'what' "$4" 'expected' "$1 +- $3" \
		'actual' "$2" | batslib_decorate 'assertion failed' | fail
}

# rows USER [WHERE]: how many chatkit_sessions rows USER has (matching the
# extra SQL condition WHERE, e.g. "status = 'active'").
rows() {
	pg_sql "select count(*) from chatkit_sessions
		 where clerk_user_id = :'id' and (${2:-true})" id="$1"
}

# assert_rows USER N [WHERE]: USER has exactly N such rows.
assert_rows() {
	assert_that "$(rows "$1" "${3:-true}")" == "$2" \
		"rows of $1 in chatkit_sessions where ${3:-true}"
}

# open_stdin_cgi: print the path of a wrapper that runs $CGI with stdin an
# empty pipe that stays open for 20 s, so a program that reads the body
# hangs until cgi_call's timeout. Use: CGI=$(open_stdin_cgi) cgi_call ...
open_stdin_cgi() {
	local w=$BATS_TEST_TMPDIR/open-stdin-cgi
	cat >"$w" <<-EOF
		#!/bin/bash
		# Close Bats' descriptors so the writer below cannot hold up the run.
		exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
		exec < <(exec sleep 20 </dev/null 2>/dev/null)
		exec $(printf '%q' "$CGI")
	EOF
	chmod +x "$w"
	printf '%s\n' "$w"
}

# refute_contains TEXT HAYSTACK WHAT: HAYSTACK does not hold TEXT (fixed
# string, not a pattern).
refute_contains() {
	[[ $2 != *"$1"* ]] && return 0
	batslib_print_kv_single_or_multi 8 'what' "$3" 'must not contain' "$1" \
		'actual' "$2" | batslib_decorate 'assertion failed' | fail
}

# pg_sql_db DB SQL: run SQL as superuser postgres on database DB of the
# test cluster (pg_sql is for database chatkit).
pg_sql_db() {
	_pg_psql "$1" postgres <<<"$2"
}

# hanging_port: start a listener that accepts TCP connections and never
# says a word (for at most 20 s); sets hang_pid and hang_port. Not to be
# called in $(...): hang_pid must reach teardown.
hanging_port() {
	local f=$BATS_TEST_TMPDIR/hang.port i
	python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(20)
' >"$f" 2>/dev/null </dev/null 3>&- &
	hang_pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -s $f ]] && break
		sleep 0.05
	done
	[[ -s $f ]] || die "the silent listener did not start" || return
	hang_port=$(<"$f")
}

# unavailable [cgi_call ARGS...]: a valid request gets 503 with
# Retry-After, and the answer holds no connection details.
unavailable() {
	session_call "$user" "$@"
	assert_error 503 'Service Unavailable'
	assert_header Retry-After '^[0-9]+$'
	assert_header Content-Type '^application/json$'
	assert_that "$http_body" !~ '(refused|timeout|127\.0\.0\.1|port=|host=)' \
		"body (no connection details)"
}

# seed USER N STATUS CREATED EXPIRES UPDATED: N rows for USER, timestamps
# as SQL expressions (e.g. "now() - interval '40 days'").
seed() {
	pg_sql "insert into chatkit_sessions (id, clerk_user_id, device_id,
			workflow_id, session_token, status, expires_at,
			last_activity_at, created_at, updated_at)
		select gen_random_uuid(), :'u', 'seed-' || :'s' || '-' || g || '-' || gen_random_uuid(),
			'wf_seed', gen_random_uuid()::text, :'s', $5, $4, $4, $6
		  from generate_series(1, :n) g" u="$1" n="$2" s="$3" >/dev/null
}
