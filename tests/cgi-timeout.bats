#!/usr/bin/env bats
# cgi-timeout.bats: a database that is up but does not answer. With the
# users table locked, CHATKIT_DB_TIMEOUT bounds the request: 503 with
# Retry-After, and the statement is cancelled on the server. A timeout
# the server itself enforces (statement_timeout, lock_timeout) is 503 too,
# and so is a server that stops answering altogether. Linked as
# fcgi-timeout.bats (one long-lived process, so its kept connection meets
# each timeout); pgbouncer-timeout.bats has the cases a pooler between
# changes (it passes the cancel on, and may stop answering itself).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/pglock
load helpers/pgstop
load helpers/timeout
load helpers/fixture

# The fixture's set-up; a stopped server is resumed and a lock a test
# left is released before its teardown stops the servers.
teardown_file() {
	resume_database
	unlock_users
	fcgi_stop
	pg_stop
}

teardown() {
	resume_database
	unlock_users
}

@test "a locked users table gets 503 with Retry-After once CHATKIT_DB_TIMEOUT has passed" {
	lock_users
	unavailable_within 12000 CHATKIT_DB_TIMEOUT=2
	((took >= 1900)) || fail "answered after $took ms, before the 2 s timeout"
	refute_output --partial 'cancel'
}

@test "a statement that outlives CHATKIT_DB_TIMEOUT is cancelled on the server" {
	local mark
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	lock_users
	unavailable_within 12000 CHATKIT_DB_TIMEOUT=2
	assert_equal "$(waiting_backends)" 0
	run -0 tail -n +"$((mark + 1))" "$PG_TEST_DIR/server.log"
	assert_output --partial 'canceling statement due to user request'
}

@test "the timeout is logged as one line naming CHATKIT_DB_TIMEOUT" {
	lock_users
	unavailable_within 12000 CHATKIT_DB_TIMEOUT=2
	assert_regex "$cgi_stderr" \
		'^chatkit-session: 503 database: no answer within CHATKIT_DB_TIMEOUT \(2 s\)'
	assert_equal "$(grep -c . <<<"$cgi_stderr")" 1
}

@test "a server that stops answering during a lock wait gets 503 with Retry-After within CHATKIT_DB_TIMEOUT and a second" {
	stopped_within 4000
	((took >= 1900)) || fail "answered after $took ms, before the 2 s timeout"
	assert_regex "$cgi_stderr" \
		$'\n''chatkit-session: 503 database: no answer within CHATKIT_DB_TIMEOUT \(2 s\)'
}

@test "a GET whose server stops answering gets 503 within CHATKIT_DB_TIMEOUT and a second" {
	stopped_within 4000 -X GET
}

@test "a DELETE whose server stops answering gets 503 within CHATKIT_DB_TIMEOUT and a second" {
	stopped_within 4000 -X DELETE --body '{"deviceId":"d1"}'
}

@test "a server that answers no connection gets 503 within CHATKIT_DB_TIMEOUT" {
	stop_database_after 0
	wait "$stopper"
	# Another URL: a FastCGI process opens a new connection for it.
	unavailable_within 3500 CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="$CHATKIT_DATABASE_URL connect_timeout=30"
	((took >= 1900)) || fail "answered after $took ms, before the 2 s timeout"
	assert_regex "$cgi_stderr" 'database connection timed out'
}

@test "once a server that stopped answering is back, the next request gets a session" {
	stopped_within 4000
	resume_database
	unlock_users
	session_call "$user" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	assert_json .session.userId "$user"
}

@test "the default CHATKIT_DB_TIMEOUT is 5 seconds" {
	lock_users
	unavailable_within 15000
	((took >= 4900)) || fail "answered after $took ms, before the 5 s default"
}

@test "after the lock is gone the same user gets a session" {
	lock_users
	unavailable_within 12000 CHATKIT_DB_TIMEOUT=2
	unlock_users
	session_call "$user" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	assert_rows "$user" 1
}

@test "a statement_timeout in the connection string gets 503, not 500" {
	lock_users
	unavailable_within 12000 \
		CHATKIT_DATABASE_URL="$CHATKIT_DATABASE_URL options='-c statement_timeout=1000'"
}

@test "a lock_timeout in the connection string gets 503, not 500" {
	lock_users
	unavailable_within 12000 \
		CHATKIT_DATABASE_URL="$CHATKIT_DATABASE_URL options='-c lock_timeout=1000'"
}

@test "a server-side statement timeout is not run a second time" {
	local mark
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	lock_users
	unavailable_within 12000 \
		CHATKIT_DATABASE_URL="$CHATKIT_DATABASE_URL options='-c statement_timeout=1000'"
	run -0 tail -n +"$((mark + 1))" "$PG_TEST_DIR/server.log"
	assert_equal "$(grep -c 'canceling statement due to statement timeout' <<<"$output")" 1
}

@test "a CHATKIT_DB_TIMEOUT that is not a whole number of seconds gets 500" {
	local v
	for v in 0 abc -1 2.5 3601; do
		session_call "$user" CHATKIT_DB_TIMEOUT="$v"
		assert_error 500 'Configuration Error'
		assert_regex "$cgi_stderr" 'CHATKIT_DB_TIMEOUT'
	done
}

@test "server notices reach the log with the program's prefix, escaped" {
	# User ids are [a-z0-9_] (unique_id), so it can stand in the SQL text.
	pg_sql "create function notice_test() returns trigger language plpgsql as \$\$
		begin
			if new.clerk_user_id = '$user' then
				raise warning '%', 'notice for ' || new.clerk_user_id || chr(27);
			end if;
			return new;
		end \$\$;
		create trigger notice_test before insert on chatkit_sessions
			for each row execute function notice_test();"
	session_call "$user"
	pg_sql "drop trigger notice_test on chatkit_sessions;
		drop function notice_test()"
	assert_status 200
	assert_regex "$cgi_stderr" \
		"(^|"$'\n'")chatkit-session: database: WARNING:  notice for $user\\\\x1b"
}
