#!/usr/bin/env bats
# sql-gate.bats: chatkit_check_session (sql/005_gate.sql), the gate's one
# check of a ChatKit request's session: every outcome, the request rate
# alone and under concurrency, the once-a-minute last_activity_at, who
# may call it, and the upgrade of a database migrated before it existed.
#
# Database chatkit (pg_start) is plain PostgreSQL. Database supa imitates
# a Supabase project as sql-security.bats sets it up: roles anon,
# authenticated and service_role, and Supabase's default privileges for
# the migrating role in place before sql/ is applied. Role chatkit owns
# everything; mallory is any other login role; chatkit_server is a login
# role granted only what docs/database.md says a ChatKit server needs.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/sqltest
load helpers/pglock


# new_session USER [DB]: a session made by chatkit_acquire_session (TTL
# 1 h); prints its token.
new_session() {
	_pg_psql "${2:-chatkit}" chatkit -v id="$1" <<-'SQL'
		select session_token
		  from chatkit_acquire_session(:'id', null, 'wf_gate', 3600, 60, null,
					       null, gen_random_uuid(), gen_random_uuid(), 0, 0)
	SQL
}

# user_with_session: a new active user (user) with one session (tok).
# Not to be called in $(...).
user_with_session() {
	user=$(unique_id)
	pg_add_user "$user"
	tok=$(new_session "$user")
}

# gate TOKEN [ROLES] [RATE]: chatkit_check_session as the owner. Prints
# its row as outcome|retry_after|user_id|device_id|expires_at|role (a
# null is empty), nothing when there is no row. ROLES: an array literal,
# or - (the default) for null; RATE: default 0.
gate() {
	_pg_psql chatkit chatkit -v tok="$1" -v roles="${2:--}" -v rate="${3:-0}" <<-'SQL'
		select format('%s|%s|%s|%s|%s|%s', outcome, retry_after, user_id,
			      device_id, expires_at, role)
		  from chatkit_check_session(:'tok', nullif(:'roles', '-')::text[],
					     :'rate'::integer)
	SQL
}

# session_sql TOKEN SQL: SQL as postgres on database chatkit, with the
# session's id as :'sid'.
session_sql() {
	pg_sql "select id as sid from chatkit_sessions where session_token = :'tok' \\gset
		$2" tok="$1"
}

# hits TOKEN: the session's counter as window_start age in whole
# seconds|hits, nothing when it has none.
hits() {
	session_sql "$1" "select floor(extract(epoch from now() - window_start))::int || '|' || hits
			    from chatkit_session_hits where session_id = :'sid'"
}

setup_file() {
	pg_start
	pg_sql_db postgres "
		create role anon nologin;
		create role authenticated nologin;
		create role service_role nologin bypassrls;
		create role mallory login;
		create role chatkit_server login;
		create database supa owner chatkit" ||
		die "could not create the roles and database supa" || return
	supabase_like supa && migrate supa && migrate supa ||
		die "could not migrate database supa" || return
}

teardown_file() {
	pg_stop
}

# unlock_counters: end the session that locks chatkit_session_hits, if
# there is one.
unlock_counters() { pg_release chatkit-gate-locker; }

teardown() {
	unlock_counters
}

@test "a token that names no session gets no row" {
	run -0 gate "no-such-token"
	assert_output ''
	run -0 gate ''
	assert_output ''
	run -0 _pg_psql chatkit chatkit <<<"select count(*) from chatkit_check_session(null, null, 5)"
	assert_output 0
}

@test "a session whose time is up gets no row, though it is still marked active" {
	local user tok
	user_with_session
	session_sql "$tok" "update chatkit_sessions set expires_at = now() - interval '1 second'
			     where id = :'sid'"
	run -0 gate "$tok"
	assert_output ''
	run -0 session_sql "$tok" "select status from chatkit_sessions where id = :'sid'"
	assert_output active
}

@test "a session marked expired gets no row, though its expiry is ahead" {
	local user tok
	user_with_session
	session_sql "$tok" "update chatkit_sessions set status = 'expired' where id = :'sid'"
	run -0 gate "$tok"
	assert_output ''
}

@test "a revoked session gets no row" {
	local user tok
	user_with_session
	session_sql "$tok" "update chatkit_sessions set status = 'revoked' where id = :'sid'"
	run -0 gate "$tok" - 5
	assert_output ''
	run -0 hits "$tok"
	assert_output ''
}

@test "an active session passes with its user id, device id, expiry and the user's role" {
	local user row tok device expires
	user=$(unique_id)
	pg_add_user "$user" member
	row=$(_pg_psql chatkit chatkit -v id="$user" <<-'SQL'
		select session_token || ' ' || device_id || ' ' || expires_at
		  from chatkit_acquire_session(:'id', 'dev-1', 'wf_gate', 3600, 60, null,
					       null, gen_random_uuid(), gen_random_uuid(), 0, 0)
	SQL
	)
	read -r tok device expires <<<"$row"
	run -0 gate "$tok" - 5
	assert_output "ok||$user|dev-1|$expires|member"
	assert_that "$device" == dev-1 "the session's device id"
	assert_that "$expires" =~ "$ISO_MS_RE" "expires_at as the session JSON has it"
	assert_near "$(($(now_ms) + 3600 * 1000))" "$(iso_ms "$expires")" 60000 "expires_at"
}

@test "a session whose user has no row in users gets inactive, like a deactivated user's" {
	local user tok
	user_with_session
	pg_sql "delete from users where clerk_user_id = :'id'" id="$user"
	run -0 gate "$tok" - 5
	assert_output 'inactive|||||'
	run -0 hits "$tok"
	assert_output ''
}

@test "deactivating the user refuses the very next check with inactive" {
	local user tok
	user_with_session
	run -0 gate "$tok" - 5
	assert_output --regexp '^ok\|'
	pg_sql "update users set is_active = false where clerk_user_id = :'id'" id="$user"
	run -0 gate "$tok" - 5
	assert_output 'inactive|||||'
	pg_sql "update users set is_active = true where clerk_user_id = :'id'" id="$user"
	run -0 gate "$tok" - 5
	assert_output --regexp '^ok\|'
}

@test "a role not in the allowed list gets role" {
	local user tok
	user=$(unique_id)
	pg_add_user "$user" member
	tok=$(new_session "$user")
	run -0 gate "$tok" '{admin}' 5
	assert_output 'role|||||'
	run -0 gate "$tok" '{Member}'
	assert_output 'role|||||'
}

@test "a role in the allowed list passes, and a null or empty list allows every role" {
	local user tok roles
	user=$(unique_id)
	pg_add_user "$user" member
	tok=$(new_session "$user")
	for roles in '{admin,member}' '{member}' - '{}'; do
		run -0 gate "$tok" "$roles"
		assert_output --regexp "^ok\|\|$user\|.*\|member$"
	done
}

@test "with a rate of 5 the sixth check within a minute gets rate and the seconds left in the window" {
	local user tok i
	user_with_session
	for i in 1 2 3 4 5; do
		run -0 gate "$tok" - 5
		assert_output --regexp '^ok\|\|'
	done
	run -0 gate "$tok" - 5
	assert_output --regexp '^rate\|[0-9]+\|\|\|\|$'
	local retry=${output#rate|}
	retry=${retry%%|*}
	((retry >= 1 && retry <= 60)) || fail "retry_after $retry is not in 1..60"

	# 45 s into the window: 15 s left.
	session_sql "$tok" "update chatkit_session_hits
			       set window_start = now() - interval '45 seconds'
			     where session_id = :'sid'"
	run -0 gate "$tok" - 5
	assert_output --regexp '^rate\|1[4-6]\|'

	# The window is over: a new one opens with this check.
	session_sql "$tok" "update chatkit_session_hits
			       set window_start = now() - interval '61 seconds'
			     where session_id = :'sid'"
	run -0 gate "$tok" - 5
	assert_output --regexp '^ok\|\|'
	run -0 hits "$tok"
	assert_output --regexp '^[0-2]\|1$'
}

@test "checks refused for the user or the role do not count toward the rate" {
	local user tok i
	user=$(unique_id)
	pg_add_user "$user" member
	tok=$(new_session "$user")
	for i in 1 2 3; do
		run -0 gate "$tok" '{admin}' 2
		assert_output 'role|||||'
	done
	run -0 hits "$tok"
	assert_output ''
	run -0 gate "$tok" - 2
	assert_output --regexp '^ok\|'
	pg_sql "update users set is_active = false where clerk_user_id = :'id'" id="$user"
	run -0 gate "$tok" - 2
	assert_output 'inactive|||||'
	pg_sql "update users set is_active = true where clerk_user_id = :'id'" id="$user"
	run -0 gate "$tok" - 2
	assert_output --regexp '^ok\|'
	run -0 gate "$tok" - 2
	assert_output --regexp '^rate\|'
}

@test "a rate of 0 is unlimited and writes no counter" {
	local user tok
	user_with_session
	run -0 _pg_psql chatkit chatkit -v tok="$tok" <<-'SQL'
		select count(*) filter (where c.outcome = 'ok')
		  from generate_series(1, 300) i,
		       lateral chatkit_check_session(:'tok', null, 0) c
	SQL
	assert_output 300
	run -0 hits "$tok"
	assert_output ''
}

@test "16 parallel checks of one session with a rate of 10: exactly 10 pass and 6 get rate" {
	local user tok i n pid
	local -a pids=()
	user_with_session
	# The counters locked, every check stops at its upsert; once the
	# lock goes, all 16 race for one row that none has made yet.
	pg_hold chatkit-gate-locker 40 'lock table chatkit_session_hits in exclusive mode' \
		"select count(*) from pg_locks l join pg_class c on c.oid = l.relation
		  where c.relname = 'chatkit_session_hits' and l.granted
		    and l.mode = 'ExclusiveLock'"
	echo "select outcome from chatkit_check_session(:'tok', null, 10)" \
		>"$BATS_TEST_TMPDIR/check.sql"
	for i in $(seq 16); do
		PGOPTIONS='-c client_min_messages=warning' timeout -k 5 60 \
			"$(pg_bindir)/psql" -h 127.0.0.1 -p "$PG_TEST_PORT" -U chatkit \
			-d chatkit -qtAX -v ON_ERROR_STOP=1 -v tok="$tok" \
			-f "$BATS_TEST_TMPDIR/check.sql" \
			>"$BATS_TEST_TMPDIR/check.$i" 2>&1 </dev/null 3>&- &
		pids+=($!)
	done
	for ((i = 0; i < 600; i++)); do
		n=$(pg_sql "select count(*) from pg_stat_activity
			     where wait_event_type = 'Lock' and query like '%chatkit_check_session%'")
		((n == 16)) && break
		sleep 0.05
	done
	unlock_counters
	((n == 16)) || fail "only $n of 16 checks reached the locked counters"
	for pid in "${pids[@]}"; do
		wait "$pid" || fail "a check failed: $(cat "$BATS_TEST_TMPDIR"/check.*)"
	done
	run -0 sort "$BATS_TEST_TMPDIR"/check.{1..16}
	run -0 uniq -c <<<"$output"
	assert_output "$(printf '%7d ok\n%7d rate' 10 6)"
	run -0 hits "$tok"
	assert_output --regexp '\|16$'
}

@test "last_activity_at is written once a minute, however many checks come" {
	local user tok before after sql i
	user_with_session
	session_sql "$tok" "update chatkit_sessions
			       set last_activity_at = now() - interval '2 minutes'
			     where id = :'sid'"
	before=$(session_sql "$tok" "select xmin from chatkit_sessions where id = :'sid'")

	run -0 gate "$tok" - 120
	assert_output --regexp '^ok\|'
	run -0 session_sql "$tok" "select xmin || ' ' ||
		(now() - last_activity_at < interval '10 seconds') || ' ' ||
		(now() - updated_at < interval '10 seconds')
		from chatkit_sessions where id = :'sid'"
	after=${output%% *}
	assert_that "$after" != "$before" "xmin after the first check"
	assert_output "$after true true"

	# 30 more, each its own transaction: no write.
	sql=$(for i in $(seq 30); do
		echo "select outcome from chatkit_check_session(:'tok', null, 120);"
	done)
	run -0 _pg_psql chatkit chatkit -v tok="$tok" <<<"$sql"
	run -0 grep -c '^ok$' <<<"$output"
	assert_output 30
	run -0 session_sql "$tok" "select xmin from chatkit_sessions where id = :'sid'"
	assert_output "$after"

	# A minute on, the next check writes again; with the rate at 0 too.
	session_sql "$tok" "update chatkit_sessions
			       set last_activity_at = now() - interval '61 seconds'
			     where id = :'sid'"
	before=$(session_sql "$tok" "select xmin from chatkit_sessions where id = :'sid'")
	run -0 gate "$tok" - 0
	assert_output --regexp '^ok\|'
	run -0 session_sql "$tok" "select xmin from chatkit_sessions where id = :'sid'"
	assert_that "$output" != "$before" "xmin after a minute"
}

@test "a check leaves a revoked session as it was, so the cleanup ages it from its revocation" {
	local user tok before
	user_with_session
	session_sql "$tok" "update chatkit_sessions
			       set status = 'revoked', last_activity_at = now() - interval '1 hour'
			     where id = :'sid'"
	before=$(session_sql "$tok" "select xmin || ' ' || updated_at from chatkit_sessions
				      where id = :'sid'")
	run -0 gate "$tok" - 5
	assert_output ''
	run -0 session_sql "$tok" "select xmin || ' ' || updated_at from chatkit_sessions
				    where id = :'sid'"
	assert_output "$before"
}

@test "chatkit_revoke_sessions ends the session for the very next check" {
	local user tok
	user_with_session
	run -0 gate "$tok" - 5
	assert_output --regexp '^ok\|'
	run -0 _pg_psql chatkit chatkit -v id="$user" <<<"select outcome || ' ' || revoked
		from chatkit_revoke_sessions(:'id', null, null)"
	assert_output 'ok 1'
	run -0 gate "$tok" - 5
	assert_output ''
}

@test "a refreshed session keeps its counter under its new token" {
	local user tok new
	user_with_session
	run -0 gate "$tok" - 2
	run -0 gate "$tok" - 2
	# Refresh: TTL 1 h with a threshold of 2 h.
	new=$(_pg_psql chatkit chatkit -v id="$user" <<-'SQL'
		select outcome || ' ' || session_token
		  from chatkit_acquire_session(:'id', null, 'wf_gate', 3600, 7200, null,
					       null, gen_random_uuid(), gen_random_uuid(), 0, 0)
	SQL
	)
	assert_that "${new%% *}" == refreshed "acquire's outcome"
	run -0 gate "$tok" - 2
	assert_output ''
	run -0 gate "${new#* }" - 2
	assert_output --regexp '^rate\|'
}

@test "deleting a session deletes its counter" {
	local user tok
	user_with_session
	run -0 gate "$tok" - 5
	run -0 hits "$tok"
	assert_output --regexp '\|1$'
	run -0 pg_sql "delete from chatkit_sessions where session_token = :'tok';
		       select count(*) from chatkit_session_hits h
			where not exists (select 1 from chatkit_sessions c where c.id = h.session_id)" \
		tok="$tok"
	assert_output 0
}

@test "under REPEATABLE READ a check that would write refuses, and one that would not passes" {
	local user tok
	user_with_session
	run _pg_psql chatkit chatkit -v tok="$tok" <<-'SQL'
		set default_transaction_isolation = 'repeatable read';
		select outcome from chatkit_check_session(:'tok', null, 5);
	SQL
	assert_failure
	assert_output --partial 'chatkit_check_session needs READ COMMITTED isolation, not repeatable read'
	run -0 _pg_psql chatkit chatkit -v tok="$tok" <<-'SQL'
		set default_transaction_isolation = 'repeatable read';
		select outcome from chatkit_check_session(:'tok', null, 0);
	SQL
	assert_output ok
}

@test "a check reads the session by its token and the user by its key, and writes one counter row" {
	local user tok
	user_with_session
	# The first check makes the counter row (and checks its key).
	run -0 gate "$tok" - 5
	# A table in use: other sessions, and statistics. On a few rows an
	# index on expires_at costs the same as the token's, and a sequential
	# scan of users less than its key (hence those off).
	pg_sql "insert into chatkit_sessions (id, clerk_user_id, device_id, workflow_id,
			session_token, expires_at)
		select gen_random_uuid(), :'id', 'd' || i, 'wf', gen_random_uuid()::text,
		       now() + interval '1 hour'
		  from generate_series(1, 2000) i;
		analyze chatkit_sessions, users" id="$(unique_id filler)"
	# auto_explain shows the plans of the statements inside the function,
	# the generic ones a warm backend keeps.
	run -0 _pg_psql chatkit postgres -v tok="$tok" <<-'SQL' 2>&1
		load 'auto_explain';
		set auto_explain.log_min_duration = 0;
		set auto_explain.log_nested_statements = on;
		set auto_explain.log_level = notice;
		set client_min_messages = notice;
		set enable_seqscan = off;
		set plan_cache_mode = force_generic_plan;
		set role chatkit;
		select outcome from chatkit_check_session(:'tok', null, 5);
	SQL
	assert_output --partial 'Index Scan using chatkit_sessions_session_token_key on chatkit_sessions'
	assert_output --partial 'Index Cond: (session_token = $1)'
	assert_output --partial 'Index Scan using users_pkey on users'
	assert_output --partial 'Conflict Arbiter Indexes: chatkit_session_hits_pkey'
	assert_line ok
	refute_output --partial 'Seq Scan'
	refute_output --partial 'update chatkit_sessions'
	run -0 grep -c '^Query Text:' <<<"$output"
	assert_output 3
}

@test "chatkit_check_session is security definer with search_path pinned, in both databases" {
	local db
	for db in chatkit supa; do
		run -0 _pg_psql "$db" postgres <<<"select prosecdef || ' ' || array_to_string(proconfig, ';')
			from pg_proc
			where oid = 'chatkit_check_session(text, text[], integer)'::regprocedure"
		assert_output 'true search_path=pg_catalog, public, pg_temp'
	done
}

@test "no grant on chatkit_check_session or chatkit_session_hits in either database, and row-level security on" {
	local db
	# Supabase's service_role, which bypasses row-level security, keeps
	# what its default privileges give it, as on every other object.
	for db in chatkit supa; do
		run -0 _pg_psql "$db" postgres <<-'SQL'
			select coalesce(string_agg(a.grantee::regrole::text || ':' || a.privilege_type,
						   ',' order by 1), 'none')
			  from pg_proc p, aclexplode(p.proacl) a
			 where p.oid = 'chatkit_check_session(text, text[], integer)'::regprocedure
			   and a.grantee <> p.proowner
			   and a.grantee::regrole::text <> 'service_role';
			select relrowsecurity || ' ' || relpersistence::text || ' ' ||
			       coalesce((select string_agg(a.grantee::regrole::text, ',' order by 1)
					   from aclexplode(c.relacl) a
					  where a.grantee <> c.relowner
					    and a.grantee::regrole::text <> 'service_role'), 'none')
			  from pg_class c where c.oid = 'chatkit_session_hits'::regclass;
		SQL
		assert_output "$(printf 'none\ntrue u none')"
	done
}

@test "PUBLIC, anon, authenticated and another login role can neither call the check nor touch the counters on a Supabase-like database" {
	local user tok role
	user=$(unique_id)
	pg_sql_db supa "insert into users (clerk_user_id, role) values ('$user', 'member')"
	tok=$(new_session "$user" supa)
	run -0 _pg_psql supa chatkit <<<"select outcome from chatkit_check_session('$tok', null, 5)"
	assert_output ok
	for role in anon authenticated mallory; do
		run _pg_psql supa postgres <<-SQL
			set role $role;
			select outcome from chatkit_check_session('$tok', null, 5);
		SQL
		assert_failure
		assert_output --partial 'permission denied for function chatkit_check_session'
		run _pg_psql supa postgres <<-SQL
			set role $role;
			select count(*) from chatkit_session_hits;
		SQL
		assert_failure
		assert_output --partial 'permission denied for table chatkit_session_hits'
		run _pg_psql supa postgres <<-SQL
			set role $role;
			delete from chatkit_session_hits;
		SQL
		assert_failure
		assert_output --partial 'permission denied for table chatkit_session_hits'
	done
	# mallory as itself, logged in, and no role but PUBLIC's rights.
	run _pg_psql supa mallory <<<"select outcome from chatkit_check_session('$tok', null, 5)"
	assert_failure
	assert_output --partial 'permission denied for function chatkit_check_session'
	run -0 _pg_psql supa postgres <<-SQL
		select has_function_privilege(r, 'chatkit_check_session(text, text[], integer)', 'execute')
		       || ' ' || has_table_privilege(r, 'chatkit_session_hits',
						     'select, insert, update, delete, truncate')
		  from unnest(array['anon', 'authenticated', 'mallory']) r;
	SQL
	assert_output "$(printf 'false false\nfalse false\nfalse false')"
	run -0 _pg_psql supa postgres <<<"select hits from chatkit_session_hits h
		join chatkit_sessions c on c.id = h.session_id where c.session_token = '$tok'"
	assert_output 1
}

@test "a ChatKit server's role granted what docs/database.md says may check a session and do nothing else" {
	local grants user tok
	grants=$(awk '/^```sql/ { on = 1; buf = ""; next }
		      /^```/ { if (on && buf ~ /to chatkit_server/) print buf; on = 0; next }
		      on { buf = buf $0 "\n" }' "$TOP_SRCDIR/docs/database.md")
	[[ -n $grants ]] || fail "no grant block for chatkit_server in docs/database.md"
	grep -v '^create role' <<<"$grants" | _pg_psql supa chatkit
	user=$(unique_id)
	pg_sql_db supa "insert into users (clerk_user_id, role) values ('$user', 'member')"
	tok=$(new_session "$user" supa)
	run -0 _pg_psql supa chatkit_server <<<"select outcome || ' ' || user_id
		from chatkit_check_session('$tok', '{member}', 120)"
	assert_output "ok $user"
	run _pg_psql supa chatkit_server <<<"select count(*) from chatkit_sessions"
	assert_failure
	assert_output --partial 'permission denied for table chatkit_sessions'
	run _pg_psql supa chatkit_server <<<"select outcome from chatkit_find_session('$user', null, 60, null)"
	assert_failure
	assert_output --partial 'permission denied for function chatkit_find_session'
}

@test "a database migrated before the gate existed gets it by running sql/ again, as a new one has it" {
	local user tok f
	pg_sql_db postgres "create database pregate owner chatkit; create database fresh owner chatkit"
	# What sql/ made before 005_gate.sql: the files before it, and the
	# user check returning the outcome alone.
	for f in "$TOP_SRCDIR"/sql/00[0-4]_*.sql; do
		_pg_psql pregate chatkit -1 -f "$f" >/dev/null
	done
	_pg_psql pregate chatkit <<-'SQL'
		drop function chatkit_user_outcome(text, text[]);
		create function chatkit_user_outcome(
			p_user_id	text,
			p_allowed_roles	text[])
		returns table (outcome text)
		language sql
		stable
		as $$
			select case
				when u.clerk_user_id is null then 'no_user'::text
				when not coalesce(u.is_active, false) then 'inactive'::text
				when p_allowed_roles is not null
				     and not coalesce(u.role::text = any (p_allowed_roles), false)
					then 'role_denied'::text
				else 'ok'::text
			       end
			  from (select 1) as one
			  left join users u on u.clerk_user_id::text = p_user_id
		$$;
		call chatkit_apply_access(current_schema());
	SQL
	user=$(unique_id)
	pg_sql_db pregate "insert into users (clerk_user_id, role) values ('$user', 'member')"
	tok=$(new_session "$user" pregate)

	migrate pregate
	migrate fresh
	schema fresh >"$BATS_TEST_TMPDIR/fresh.schema"
	schema pregate >"$BATS_TEST_TMPDIR/pregate.schema.1"
	run -0 grep -c 'CREATE UNLOGGED TABLE public.chatkit_session_hits' "$BATS_TEST_TMPDIR/fresh.schema"
	run -0 diff "$BATS_TEST_TMPDIR/fresh.schema" "$BATS_TEST_TMPDIR/pregate.schema.1"
	migrate pregate
	schema pregate >"$BATS_TEST_TMPDIR/pregate.schema.2"
	run -0 diff "$BATS_TEST_TMPDIR/pregate.schema.1" "$BATS_TEST_TMPDIR/pregate.schema.2"

	run -0 _pg_psql pregate chatkit <<<"select outcome || ' ' || role
		from chatkit_check_session('$tok', null, 5)"
	assert_output 'ok member'
	run -0 _pg_psql pregate chatkit <<<"select outcome from chatkit_find_session('$user', null, 60, null)"
	assert_output reused
}
