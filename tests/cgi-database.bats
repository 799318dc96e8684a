#!/usr/bin/env bats
# cgi-database.bats: how the program meets its database: where the
# connection settings come from, 503 when the database cannot be reached,
# and 500 (details on stderr only) when it answers with an error.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session

ACQUIRE_SIG='chatkit_acquire_session(text, text, text, integer, integer, jsonb, text[], uuid, uuid, integer, integer)'
FIND_SIG='chatkit_find_session(text, text, integer, text[])'

setup_file() {
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start
	# Broken databases beside the good one: migrations half there, none
	# at all, and a role that may not run the acquire function.
	pg_sql_db postgres "create database chatkit_nofunc template chatkit owner chatkit" &&
		pg_sql_db chatkit_nofunc "drop function $ACQUIRE_SIG" &&
		pg_sql_db postgres "create database chatkit_empty owner chatkit" &&
		pg_sql_db postgres "create database chatkit_nofind template chatkit owner chatkit" &&
		pg_sql_db chatkit_nofind "drop function $FIND_SIG" &&
		pg_sql_db postgres "create role chatkit_noexec login" &&
		pg_sql "grant select on users, chatkit_sessions to chatkit_noexec" ||
		die "could not prepare the broken databases"
	[[ $CGI_MODE != fastcgi ]] || fcgi_start
}

teardown_file() {
	if [[ -n ${hang_pid:-} ]]; then
		kill "$hang_pid" 2>/dev/null || true
	fi
	fcgi_stop
	pg_stop
}

setup() {
	cgi_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
	hang_pid=
}

teardown() {
	if [[ -n ${hang_pid:-} ]]; then
		kill "$hang_pid" 2>/dev/null || true
		wait "$hang_pid" 2>/dev/null || true
	fi
	# A test that started one and failed before stopping it.
	pgb_stop
}

# url_for DB [USER]: a connection string to database DB of the test cluster.
url_for() {
	printf 'host=127.0.0.1 port=%s dbname=%s user=%s\n' \
		"$PG_TEST_PORT" "$1" "${2:-chatkit}"
}

# internal_error [cgi_call ARGS...]: a valid request gets 500 Internal
# Server Error, with no SQL error text in the body.
internal_error() {
	session_call "$user" "$@"
	assert_error 500 'Internal Server Error'
	assert_header Content-Type '^application/json$'
	assert_that "$http_body" !~ \
		'(ERROR|does not exist|chatkit_|function|relation|permission|SQL)' "body (no database error text)"
}

# --- cannot be reached: 503 ------------------------------------------------

@test "an unreachable database with a valid token gets 503 with Retry-After" {
	unavailable CHATKIT_DATABASE_URL="$(pg_dead_url)"
	assert_header Retry-After '^5$'
}

@test "a refused connection is answered at once" {
	local start
	start=$(now_ms)
	unavailable CHATKIT_DATABASE_URL="host=127.0.0.1 port=$(random_free_port) dbname=chatkit user=chatkit"
	assert_near "$start" "$(now_ms)" 3000 "ms until the answer"
}

@test "a database that never answers gets 503 after the default 5 s connect timeout" {
	local start took
	hanging_port
	start=$(now_ms)
	CGI_TIMEOUT=15 unavailable \
		CHATKIT_DATABASE_URL="host=127.0.0.1 port=$hang_port dbname=chatkit user=chatkit"
	took=$(($(now_ms) - start))
	assert_near 5000 "$took" 3000 "ms until the answer"
}

@test "a refused token never reaches an unreachable database" {
	cgi_call --token "$(valid_token "$user" exp:=$(($(now) - 600)))" \
		CHATKIT_DATABASE_URL="$(pg_dead_url)"
	assert_error 401 Unauthorized
	refute_header Retry-After
}

# --- where the connection comes from ----------------------------------------

@test "CHATKIT_DATABASE_URL may be a postgresql:// URI" {
	session_call "$user" \
		CHATKIT_DATABASE_URL="postgresql://chatkit@127.0.0.1:$PG_TEST_PORT/chatkit"
	assert_status 200
	assert_json .session.userId "$user"
	assert_rows "$user" 1
}

# GSSAPI encryption is off unless asked for (db.c); the test server has
# no Kerberos, so a request for it shows as a failed connection.
@test "gssencmode=require in CHATKIT_DATABASE_URL is honoured" {
	unavailable CHATKIT_DATABASE_URL="$CHATKIT_DATABASE_URL gssencmode=require"
	assert_that "$cgi_stderr" =~ 'GSSAPI' "stderr of the program"
}

@test "a database migrated before chatkit_find_session still gets sessions" {
	local id
	pg_sql_db chatkit_nofind "insert into users (clerk_user_id) values ('$user')"
	session_call "$user" CHATKIT_DATABASE_URL="$(url_for chatkit_nofind)"
	assert_status 200
	id=$(json_field .session.chatKitSessionId)
	session_call "$user" CHATKIT_DATABASE_URL="$(url_for chatkit_nofind)"
	assert_status 200
	assert_json .session.chatKitSessionId "$id"
}

# --- the first call on a new connection --------------------------------------

# calls_on_new_connections direct|pgbouncer N: a reuse of the user's
# session over N new connections to PostgreSQL or to a pgbouncer started
# here with one server connection (each with its own connect_timeout, so
# that a FastCGI process opens one each time), every one 200 with the same
# session, with the server logging the chatkit role's statements. Sets
# find_calls and acquire_calls: the calls of chatkit_find_session and of
# chatkit_acquire_session the server logged (not to be called in $(...)).
calls_on_new_connections() {
	local via=$1 n=$2 url=$CHATKIT_DATABASE_URL i id mark
	session_call "$user"
	assert_status 200
	id=$(json_field .session.chatKitSessionId)
	# Before pgbouncer opens its server connection (it tries one at start).
	pg_sql "alter role chatkit set log_statement = 'all'" >/dev/null
	if [[ $via == pgbouncer ]]; then
		pgb_start 1
		url=$PGB_URL
	fi
	mark=$(wc -l <"$PG_TEST_DIR/server.log")
	for ((i = 0; i < n; i++)); do
		session_call "$user" CHATKIT_DATABASE_URL="$url connect_timeout=$((10 + i))"
		assert_status 200
		assert_json .session.chatKitSessionId "$id"
	done
	pg_sql "alter role chatkit reset log_statement" >/dev/null
	[[ $via != pgbouncer ]] || pgb_stop
	tail -n +"$((mark + 1))" "$PG_TEST_DIR/server.log" >"$BATS_TEST_TMPDIR/log"
	# grep -c prints 0 for none, and exits 1.
	find_calls=$(grep -c 'execute <unnamed>: SELECT .* FROM chatkit_find_session' \
		"$BATS_TEST_TMPDIR/log" || true)
	acquire_calls=$(grep -c 'execute <unnamed>: SELECT .* FROM chatkit_acquire_session' \
		"$BATS_TEST_TMPDIR/log" || true)
}

@test "on a new backend a reuse is answered by the plain-SQL first step alone" {
	calls_on_new_connections direct 2
	assert_that "$find_calls $acquire_calls" == "2 0" "find and acquire calls"
}

@test "behind pgbouncer a reuse goes straight to the compiled acquire function" {
	calls_on_new_connections pgbouncer 3
	# pgbouncer's made-up process id lands among real ones once in a
	# thousand connections: then that request takes the first step.
	assert_that "$find_calls" =~ '^[01]$' "find calls"
	assert_that "$acquire_calls" =~ '^[23]$' "acquire calls"
	assert_that "$((find_calls + acquire_calls))" == 3 "calls in all"
}

# --- database errors: 500, details on stderr only ----------------------------

@test "a database without the acquire function gets 500 Internal Server Error" {
	pg_sql_db chatkit_nofunc "insert into users (clerk_user_id) values ('$user')"
	internal_error CHATKIT_DATABASE_URL="$(url_for chatkit_nofunc)"
	refute_header Retry-After
}

@test "the missing function's error text goes to stderr" {
	pg_sql_db chatkit_nofunc "insert into users (clerk_user_id) values ('$user')"
	internal_error CHATKIT_DATABASE_URL="$(url_for chatkit_nofunc)"
	assert_that "$cgi_stderr" =~ \
		'chatkit_acquire_session.*does not exist|does not exist.*chatkit_acquire_session' stderr
}

@test "a database without any migrations gets 500 and logs why" {
	internal_error CHATKIT_DATABASE_URL="$(url_for chatkit_empty)"
	assert_that "$cgi_stderr" =~ 'does not exist' stderr
}

@test "a role that may not run the acquire function gets 500 and logs why" {
	internal_error CHATKIT_DATABASE_URL="$(url_for chatkit chatkit_noexec)"
	assert_that "$cgi_stderr" =~ 'permission denied' stderr
	assert_rows "$user" 0
}

@test "a database error never shows the database password" {
	internal_error CHATKIT_DATABASE_URL="$(url_for chatkit_empty) password=Db5ecretPw"
	refute_contains Db5ecretPw "$http_body" body
	refute_contains Db5ecretPw "$cgi_stderr" stderr
}

@test "an unreachable database never shows the database password" {
	unavailable CHATKIT_DATABASE_URL="$(pg_dead_url) password=Db5ecretPw"
	refute_contains Db5ecretPw "$http_body" body
	refute_contains Db5ecretPw "$cgi_stderr" stderr
}
