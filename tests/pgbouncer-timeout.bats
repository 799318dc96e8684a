#!/usr/bin/env bats
# pgbouncer-timeout.bats: CHATKIT_DB_TIMEOUT with pgbouncer between the
# program and PostgreSQL (transaction pooling, helpers/pg.bash): the
# cancel request passes through it to the server, and pgbouncer that
# stops answering with the server is a 503 like the server alone. The
# other timeout cases, straight to PostgreSQL, are cgi-timeout.bats.

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
	pg_stop
}

teardown() {
	resume_database
	unlock_users
}

@test "a statement that outlives CHATKIT_DB_TIMEOUT is cancelled on the server through pgbouncer" {
	local mark
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	lock_users
	unavailable_within 12000 CHATKIT_DB_TIMEOUT=2
	assert_equal "$(waiting_backends)" 0
	run -0 tail -n +"$((mark + 1))" "$PG_TEST_DIR/server.log"
	assert_output --partial 'canceling statement due to user request'
}

@test "pgbouncer and the server stopping during a lock wait get 503 within CHATKIT_DB_TIMEOUT and a second" {
	stopped_within 4000
	((took >= 1900)) || fail "answered after $took ms, before the 2 s timeout"
}

@test "once pgbouncer and the server answer again, the next request gets a session" {
	stopped_within 4000
	resume_database
	unlock_users
	session_call "$user" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	assert_json .session.userId "$user"
}
