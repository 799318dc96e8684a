#!/usr/bin/env bats
# cgi-process.bats: what only a process started for one request has, so
# this file runs in CGI mode alone (a FastCGI process starts with an
# empty environment, reads its body from FastCGI records and its settings
# again on a change): the libpq environment (PG* variables, a service
# file), a stdin left unread, and a CHATKIT_CONFIG pipe read once.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

teardown() {
	if [[ -n ${hang_pid:-} ]]; then
		kill "$hang_pid" 2>/dev/null || true
		wait "$hang_pid" 2>/dev/null || true
	fi
}

# --- stdin and the settings file ---------------------------------------------

@test "CONTENT_LENGTH 65537 gets 413 without reading a still-open stdin" {
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

@test "a CHATKIT_CONFIG pipe, whose size is unknown, is read whole past 4 KiB" {
	local conf=$BATS_TEST_TMPDIR/chatkit.conf
	mkfifo "$conf"
	# The writer gives up after 10 s if the program never opens the pipe.
	timeout 10 bash -c '{ yes "####################################" | head -c 20000
		printf "\nCHATKIT_WORKFLOW_ID=wf_from_pipe\n"; } >"$1"' _ "$conf" &
	session_call "$user" CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
	wait $!
	assert_status 200
	assert_json .session.workflowId wf_from_pipe
}

# --- the libpq environment ----------------------------------------------------

# service_file [KEY=VALUE...]: a pg_service.conf with one entry, chatkit,
# for the test database, plus the given lines.
service_file() {
	{
		printf '[chatkit]\nhost=127.0.0.1\nport=%s\ndbname=chatkit\nuser=chatkit\n' \
			"$PG_TEST_PORT"
		printf '%s\n' "$@"
	} >"$BATS_TEST_TMPDIR/pg_service.conf"
}

@test "PGCONNECT_TIMEOUT shortens the wait for a database that never answers" {
	local start
	hanging_port
	start=$(now_ms)
	CGI_TIMEOUT=15 unavailable -u CHATKIT_DATABASE_URL PGHOST=127.0.0.1 \
		PGPORT="$hang_port" PGDATABASE=chatkit PGUSER=chatkit PGCONNECT_TIMEOUT=2
	# 2 s instead of the default 5 s; the slack is for a loaded machine
	# (and a sanitizer build), the bound still below the default.
	assert_near "$start" "$(now_ms)" 4500 "ms until the answer"
}

@test "an unreachable database via PGHOST and PGPORT gets 503" {
	unavailable -u CHATKIT_DATABASE_URL PGHOST=127.0.0.1 \
		PGPORT="$(random_free_port)" PGDATABASE=chatkit PGUSER=chatkit
}

@test "the libpq environment is used without CHATKIT_DATABASE_URL" {
	session_call "$user" -u CHATKIT_DATABASE_URL PGHOST=127.0.0.1 \
		PGPORT="$PG_TEST_PORT" PGDATABASE=chatkit PGUSER=chatkit
	assert_status 200
	assert_json .session.userId "$user"
	assert_rows "$user" 1
}

@test "CHATKIT_DATABASE_URL wins over the libpq environment" {
	session_call "$user" PGHOST=127.0.0.1 PGPORT="$(random_free_port)" \
		PGDATABASE=nosuchdb PGUSER=nosuchuser
	assert_status 200
	assert_json .session.userId "$user"
	assert_rows "$user" 1
}

@test "an unreachable CHATKIT_DATABASE_URL is not rescued by a good libpq environment" {
	unavailable CHATKIT_DATABASE_URL="$(pg_dead_url)" PGHOST=127.0.0.1 \
		PGPORT="$PG_TEST_PORT" PGDATABASE=chatkit PGUSER=chatkit
	assert_rows "$user" 0
}

@test "PGGSSENCMODE=require in the environment is honoured" {
	unavailable PGGSSENCMODE=require
	assert_that "$cgi_stderr" =~ 'GSSAPI' "stderr of the program"
}

@test "CHATKIT_DATABASE_URL may name a pg_service.conf entry" {
	service_file
	session_call "$user" CHATKIT_DATABASE_URL=service=chatkit \
		PGSERVICEFILE="$BATS_TEST_TMPDIR/pg_service.conf"
	assert_status 200
	assert_rows "$user" 1
}

@test "a service entry's gssencmode=require is not overridden" {
	service_file gssencmode=require
	unavailable CHATKIT_DATABASE_URL=service=chatkit \
		PGSERVICEFILE="$BATS_TEST_TMPDIR/pg_service.conf"
	assert_that "$cgi_stderr" =~ 'GSSAPI' "stderr of the program"
}

@test "a PGSERVICE entry's gssencmode=require is not overridden" {
	service_file gssencmode=require
	unavailable -u CHATKIT_DATABASE_URL PGSERVICE=chatkit \
		PGSERVICEFILE="$BATS_TEST_TMPDIR/pg_service.conf"
	assert_that "$cgi_stderr" =~ 'GSSAPI' "stderr of the program"
}
