#!/usr/bin/env bats
# sql-security.bats: who may do what with the objects sql/*.sql creates,
# and the upgrade of a database that version 0.1.0's migrations made.
#
# Database chatkit (pg_start) is plain PostgreSQL: no Supabase roles when
# it was migrated. Database supa imitates a Supabase project: roles anon,
# authenticated and service_role, Supabase's default privileges for the
# migrating role (every new table, function and sequence in public granted
# to all three) in place before sql/ is applied (twice), and a stand-in
# auth.jwt() that reads request.jwt.claims as PostgREST sets it. Database
# elsewhere is migrated with search_path = app. Databases released and
# supa_released (set up as supa) were migrated by 0.1.0's files
# (tests/fixtures/sql-0.1.0), given rows, then migrated by sql/ twice;
# current is migrated by sql/ beside them. Role chatkit owns everything;
# chatkit_cgi is a login role granted only what docs/database.md says; mallory is
# any other login role.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/sqltest

# snapshot DB: what the migrations decide about access, one line each:
# functions (settings, definer, grants), tables (row-level security,
# grants, comment), policies. Grants are listed sorted.
snapshot() {
	_pg_psql "$1" postgres <<-'SQL'
		select 'function ' || p.oid::regprocedure || ' config=' ||
		       coalesce(array_to_string(p.proconfig, ';'), '') ||
		       ' definer=' || p.prosecdef || ' acl=' ||
		       coalesce((select string_agg(a.grantee::regrole || ':' ||
						   a.privilege_type, ',' order by 1)
				   from aclexplode(p.proacl) a), 'default')
		  from pg_proc p
		 where p.proowner = 'chatkit'::regrole
		union all
		select 'table ' || c.oid::regclass || ' rls=' || c.relrowsecurity ||
		       ' acl=' ||
		       coalesce((select string_agg(a.grantee::regrole || ':' ||
						   a.privilege_type, ',' order by 1)
				   from aclexplode(c.relacl) a), 'default') ||
		       ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
		  from pg_class c
		 where c.relowner = 'chatkit'::regrole and c.relkind = 'r'
		union all
		select 'policy ' || schemaname || '.' || tablename || '.' ||
		       policyname || ' ' || cmd || ' roles=' || roles::text ||
		       ' using=' || coalesce(qual, '')
		  from pg_policies
		order by 1
	SQL
}

# seed_released DB: users and sessions as 0.1.0 left them: three users
# (active, admin, inactive) and sessions active, lapsed, expired and
# revoked, with metadata.
seed_released() {
	_pg_psql "$1" chatkit <<-'SQL'
		insert into users (clerk_user_id, role, is_active, created_at) values
			('user_rel_a', 'member', true, now() - interval '30 days'),
			('user_rel_b', 'admin', true, now() - interval '20 days'),
			('user_rel_c', 'member', false, now() - interval '10 days');
		insert into chatkit_sessions (id, clerk_user_id, device_id, workflow_id,
			session_token, status, expires_at, metadata, last_activity_at,
			created_at)
		values
			(gen_random_uuid(), 'user_rel_a', 'd1', 'wf_rel', 'tok_rel_a1', 'active',
			 now() + interval '20 hours', '{"plan":"pro","n":[1,2]}', now(), now() - interval '4 hours'),
			(gen_random_uuid(), 'user_rel_a', 'd2', 'wf_rel', 'tok_rel_a2', 'active',
			 now() - interval '1 hour', '{}', now() - interval '2 days', now() - interval '2 days'),
			(gen_random_uuid(), 'user_rel_a', 'd2', 'wf_rel', 'tok_rel_a3', 'expired',
			 now() - interval '3 days', '{}', now() - interval '4 days', now() - interval '4 days'),
			(gen_random_uuid(), 'user_rel_b', 'd1', 'wf_rel', 'tok_rel_b1', 'revoked',
			 now() + interval '5 hours', '{"x":null}', now(), now() - interval '1 hour'),
			(gen_random_uuid(), 'user_rel_b', 'd3', 'wf_rel', 'tok_rel_b2', 'active',
			 now() + interval '2 hours', '{}', now(), now() - interval '1 hour'),
			(gen_random_uuid(), 'user_rel_c', 'd1', 'wf_rel', 'tok_rel_c1', 'active',
			 now() + interval '1 day', '{}', now(), now());
	SQL
}

# table_rows DB: every row of users and chatkit_sessions, in order.
table_rows() {
	_pg_psql "$1" postgres <<-'SQL'
		select 'users', u.* from users u order by clerk_user_id;
		select 'chatkit_sessions', s.* from chatkit_sessions s order by session_token;
	SQL
}

# upgrade DB: 0.1.0's migrations, rows, then sql/ twice; leaves
# $BATS_FILE_TMPDIR/DB.{rows,schema}.{0,1,2}: before, after the upgrade,
# after the second run.
upgrade() {
	local db=$1 i
	migrate_from "$BATS_TEST_DIRNAME/fixtures/sql-0.1.0" "$db" &&
		seed_released "$db" >/dev/null || return
	for i in 0 1 2; do
		if ((i > 0)); then
			migrate "$db" || return
		fi
		table_rows "$db" >"$BATS_FILE_TMPDIR/$db.rows.$i" &&
			schema "$db" >"$BATS_FILE_TMPDIR/$db.schema.$i" ||
			die "could not read database $db" || return
	done
}

# as_role DB ROLE SQL [NAME=VALUE...]: run SQL on DB after `set role
# ROLE`, with request.jwt.claims as $claims (if set), as PostgREST does.
as_role() {
	local db=$1 role=$2 sql=$3 v
	local -a vars=()
	shift 3
	for v in "$@"; do
		vars+=(-v "$v")
	done
	_pg_psql "$db" postgres "${vars[@]}" <<-SQL
		select set_config('request.jwt.claims', '${claims:-}', false) \\g /dev/null
		set role $role;
		$sql
	SQL
}

supa_sql() {
	_pg_psql supa postgres <<<"$1"
}

# supa_session USER: an active chatkit_sessions row for USER in supa.
supa_session() {
	_pg_psql supa postgres -v id="$1" <<-'SQL'
		insert into chatkit_sessions (id, clerk_user_id, device_id,
			workflow_id, session_token, expires_at)
		values (gen_random_uuid(), :'id', gen_random_uuid()::text, 'wf',
			gen_random_uuid()::text, now() + interval '1 hour')
	SQL
}

# calls DB: one `select f(null::type, ...)` per function chatkit owns,
# `call p(...)` per procedure.
calls() {
	_pg_psql "$1" postgres <<-'SQL'
		select format(case p.prokind when 'p' then 'call %s(%s);'
					     else 'select %s(%s);' end,
			      p.oid::regproc,
			      coalesce((select string_agg('null::' || format_type(t, null), ', '
							  order by n)
					  from unnest(p.proargtypes) with ordinality as a(t, n)), ''))
		  from pg_proc p
		 where p.proowner = 'chatkit'::regrole
		 order by 1
	SQL
}

setup_file() {
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start

	# Plain PostgreSQL, before any Supabase role exists: once more.
	snapshot chatkit >"$BATS_FILE_TMPDIR/plain.1" &&
		migrate chatkit &&
		snapshot chatkit >"$BATS_FILE_TMPDIR/plain.2" ||
		die "could not migrate database chatkit again" || return

	pg_sql_db postgres "
		create role anon nologin;
		create role authenticated nologin;
		create role service_role nologin bypassrls;
		create role chatkit_cgi login;
		create role mallory login;
		create database supa owner chatkit;
		create database elsewhere owner chatkit" ||
		die "could not create the roles and databases" || return
	supabase_like supa || die "could not prepare database supa" || return
	migrate supa &&
		snapshot supa >"$BATS_FILE_TMPDIR/supa.1" &&
		migrate supa &&
		snapshot supa >"$BATS_FILE_TMPDIR/supa.2" &&
		schema supa >"$BATS_FILE_TMPDIR/supa.schema" ||
		die "could not migrate database supa" || return

	pg_sql_db elsewhere "create schema app authorization chatkit" &&
		migrate elsewhere "-c search_path=app" ||
		die "could not migrate database elsewhere" || return

	pg_sql_db postgres "
		create database current owner chatkit;
		create database released owner chatkit;
		create database supa_released owner chatkit" &&
		migrate current &&
		schema current >"$BATS_FILE_TMPDIR/current.schema" &&
		upgrade released &&
		supabase_like supa_released &&
		upgrade supa_released ||
		die "could not upgrade from 0.1.0" || return
}

teardown_file() {
	pg_stop
}

setup() {
	cgi_env_defaults
	claims=
}

@test "the migrations run twice leave the same grants, settings and policies on plain PostgreSQL" {
	run -0 cat "$BATS_FILE_TMPDIR/plain.1"
	assert_output --partial 'function chatkit_acquire_session('
	run -0 diff "$BATS_FILE_TMPDIR/plain.1" "$BATS_FILE_TMPDIR/plain.2"
}

@test "the migrations run twice leave the same grants, settings and policies under Supabase's default privileges" {
	run -0 cat "$BATS_FILE_TMPDIR/supa.1"
	assert_output --partial 'policy public.chatkit_sessions.'
	run -0 diff "$BATS_FILE_TMPDIR/supa.1" "$BATS_FILE_TMPDIR/supa.2"
}

@test "anon may execute none of the functions the migrations create" {
	local call n=0
	while IFS= read -r call; do
		run as_role supa anon "$call"
		assert_failure
		assert_output --regexp 'permission denied for (function|procedure)'
		n=$((n + 1))
	done < <(calls supa)
	((n >= 4)) || fail "only $n functions found"
}

@test "authenticated may execute none of the functions the migrations create" {
	local call n=0
	claims='{"sub":"user_a"}'
	while IFS= read -r call; do
		run as_role supa authenticated "$call"
		assert_failure
		assert_output --regexp 'permission denied for (function|procedure)'
		n=$((n + 1))
	done < <(calls supa)
	((n >= 4)) || fail "only $n functions found"
}

@test "service_role keeps the rights Supabase's default privileges give it" {
	supa_session user_s
	run -0 as_role supa service_role "select outcome from chatkit_find_session('user_nobody', null, 60, null)"
	assert_output no_user
	run -0 as_role supa service_role "select count(*) from chatkit_sessions where clerk_user_id = 'user_s'"
	assert_output 1
}

@test "anon cannot read users" {
	supa_sql "insert into users (clerk_user_id) values ('user_read')"
	run as_role supa anon "select count(*) from users"
	assert_failure
	assert_output --partial 'permission denied for table users'
}

@test "anon cannot insert itself into users" {
	run as_role supa anon "insert into users (clerk_user_id, role) values ('user_evil', 'admin')"
	assert_failure
	assert_output --partial 'permission denied for table users'
	run -0 supa_sql "select count(*) from users where clerk_user_id = 'user_evil'"
	assert_output 0
}

@test "authenticated cannot make itself admin in users" {
	supa_sql "insert into users (clerk_user_id) values ('user_b')
		  on conflict do nothing"
	claims='{"sub":"user_b"}'
	run as_role supa authenticated "update users set role = 'admin' where clerk_user_id = 'user_b'"
	assert_failure
	assert_output --partial 'permission denied for table users'
	run -0 supa_sql "select role from users where clerk_user_id = 'user_b'"
	assert_output user
}

@test "users created by the migrations has row-level security on" {
	run -0 supa_sql "select relrowsecurity from pg_class where oid = 'public.users'::regclass"
	assert_output t
	run -0 pg_sql "select relrowsecurity from pg_class where oid = 'public.users'::regclass"
	assert_output t
}

@test "anon cannot read chatkit_sessions, even with a user's sub in its claims" {
	supa_session user_c
	claims='{"sub":"user_c"}'
	run as_role supa anon "select session_token from chatkit_sessions"
	assert_failure
	assert_output --partial 'permission denied for table chatkit_sessions'
}

@test "neither anon nor authenticated can truncate chatkit_sessions" {
	local role
	supa_session user_t
	for role in anon authenticated; do
		run as_role supa "$role" "truncate chatkit_sessions"
		assert_failure
		assert_output --partial 'permission denied for table chatkit_sessions'
	done
	run -0 supa_sql "select count(*) from chatkit_sessions where clerk_user_id = 'user_t'"
	assert_output 1
}

@test "authenticated sees only its own chatkit_sessions rows" {
	supa_session user_d
	supa_session user_d
	supa_session user_e
	claims='{"sub":"user_d"}'
	run -0 as_role supa authenticated "select clerk_user_id from chatkit_sessions"
	assert_output "$(printf 'user_d\nuser_d')"
}

@test "authenticated cannot insert, update or delete chatkit_sessions rows, its own included" {
	supa_session user_f
	claims='{"sub":"user_f"}'
	run as_role supa authenticated "insert into chatkit_sessions (id, clerk_user_id,
		device_id, workflow_id, session_token, expires_at)
		values (gen_random_uuid(), 'user_f', 'd', 'w', 'tok_f', now())"
	assert_failure
	assert_output --partial 'permission denied for table chatkit_sessions'
	run as_role supa authenticated "update chatkit_sessions
		set expires_at = now() + interval '10 years' where clerk_user_id = 'user_f'"
	assert_failure
	assert_output --partial 'permission denied for table chatkit_sessions'
	run as_role supa authenticated "delete from chatkit_sessions where clerk_user_id = 'user_f'"
	assert_failure
	assert_output --partial 'permission denied for table chatkit_sessions'
	run -0 supa_sql "select count(*) from chatkit_sessions
			  where clerk_user_id = 'user_f' and expires_at < now() + interval '1 day'"
	assert_output 1
}

@test "users made by an earlier version of the migrations is locked down when they run again" {
	pg_sql_db postgres "create database upgraded owner chatkit"
	_pg_psql upgraded postgres <<-'SQL'
		alter default privileges for role chatkit in schema public
			grant all on tables to anon, authenticated, service_role;
	SQL
	# What the previous sql/001_schema.sql made of users.
	_pg_psql upgraded chatkit <<-'SQL'
		create table users (
			clerk_user_id	text primary key,
			role		text not null default 'user',
			is_active	boolean not null default true,
			created_at	timestamptz not null default now()
		);
	SQL
	migrate upgraded
	run _pg_psql upgraded postgres <<<"set role anon;
		insert into users (clerk_user_id, role) values ('user_evil', 'admin')"
	assert_failure
	assert_output --partial 'permission denied for table users'
	run -0 _pg_psql upgraded postgres <<<"select relrowsecurity from pg_class where relname = 'users'"
	assert_output t
}

@test "an existing users table keeps its own row-level security, policies and grants" {
	pg_sql_db postgres "create database appdb owner chatkit"
	_pg_psql appdb chatkit <<-'SQL'
		create table users (clerk_user_id text primary key, email text,
				    role text not null default 'user');
		grant select on users to authenticated;
		create policy users_self on users for select to authenticated using (true);
	SQL
	run -0 snapshot appdb
	local before=$output
	migrate appdb
	run -0 _pg_psql appdb postgres <<<"select relrowsecurity from pg_class where relname = 'users'"
	assert_output f
	run -0 snapshot appdb
	assert_output --partial "$(grep '^table users ' <<<"$before")"
	assert_output --partial 'policy public.users.users_self SELECT roles={authenticated}'
}

@test "functions pin search_path to pg_catalog, their schema and pg_temp, but for the shared rules" {
	# Inlinable: language sql, security invoker, not volatile, no SET.
	local sql="select distinct coalesce(array_to_string(p.proconfig, ';'),
			case when l.lanname = 'sql' and not p.prosecdef and p.provolatile <> 'v'
			     then 'inlinable' else 'unpinned' end)
		from pg_proc p join pg_language l on l.oid = p.prolang
		where p.proowner = 'chatkit'::regrole order by 1"
	run -0 pg_sql "$sql"
	assert_output "$(printf 'inlinable\nsearch_path=pg_catalog, public, pg_temp')"
	run -0 _pg_psql elsewhere postgres <<<"$sql"
	assert_output "$(printf 'inlinable\nsearch_path=pg_catalog, app, pg_temp')"
}

@test "the shared rules are inlined, so the partial indexes serve the calls that use them" {
	run -0 _pg_psql chatkit chatkit <<-'SQL'
		set enable_seqscan = off;
		explain (costs off, verbose) select * from chatkit_newest_session('user_x', null, now());
		explain (costs off, verbose) select * from chatkit_user_outcome('user_x', null);
		explain (costs off, verbose) select chatkit_iso(c.created_at) from chatkit_sessions c
			where chatkit_session_is_lapsed(c.status, c.expires_at, now());
	SQL
	assert_output --partial 'Index Scan using chatkit_sessions_user_active on'
	assert_output --partial 'Index Scan using users_pkey on'
	assert_output --partial 'Index Scan using chatkit_sessions_active_expiry on'
	refute_output --partial 'Function Scan'
	refute_output --partial 'chatkit_session_is'
	refute_output --partial 'chatkit_iso'
}

@test "the calls the program makes are security definer with search_path pinned" {
	# The signatures cgi-bin/store.c calls.
	run -0 pg_sql "select p.oid::regprocedure || ' ' || p.prosecdef || ' ' ||
			      array_to_string(p.proconfig, ';')
			 from pg_proc p
			where p.oid in (
				'chatkit_acquire_session(text, text, text, integer, integer, jsonb,
					text[], uuid, uuid, integer, integer)'::regprocedure,
				'chatkit_find_session(text, text, integer, text[])'::regprocedure,
				'chatkit_list_sessions(text, text[], integer)'::regprocedure,
				'chatkit_revoke_sessions(text, text, text[])'::regprocedure,
				'chatkit_cleanup_batch(integer, integer)'::regprocedure)
			order by 1"
	assert_output "$(printf '%s true search_path=pg_catalog, public, pg_temp\n' \
		'chatkit_acquire_session(text,text,text,integer,integer,jsonb,text[],uuid,uuid,integer,integer)' \
		'chatkit_cleanup_batch(integer,integer)' \
		'chatkit_find_session(text,text,integer,text[])' \
		'chatkit_list_sessions(text,text[],integer)' \
		'chatkit_revoke_sessions(text,text,text[])')"
}

@test "no function the migrations create is granted to PUBLIC, anon or authenticated" {
	local db
	for db in chatkit supa; do
		run -0 _pg_psql "$db" postgres <<-'SQL'
			select count(*) || ' functions, open: ' ||
			       coalesce(string_agg(p.oid::regprocedure::text, ', ')
					filter (where p.proacl is null
						or exists (select 1 from aclexplode(p.proacl) a
							    where a.grantee = 0
							       or a.grantee::regrole::text
								  in ('anon', 'authenticated'))),
					'none')
			  from pg_proc p
			 where p.proowner = 'chatkit'::regrole
		SQL
		assert_output --regexp '^[0-9]+ functions, open: none$'
		(("${output%% *}" >= 12)) || fail "only ${output%% *} functions in $db"
	done
}

@test "one chatkit_acquire_session exists, the one the program calls, in a new and an upgraded database" {
	local db
	for db in chatkit released supa_released; do
		run -0 _pg_psql "$db" postgres <<<"select oid::regprocedure from pg_proc
			where proname in ('chatkit_acquire_session', 'chatkit_user_check')"
		assert_output 'chatkit_acquire_session(text,text,text,integer,integer,jsonb,text[],uuid,uuid,integer,integer)'
	done
}

@test "an upgrade from 0.1.0 keeps every row, and a second run too" {
	local db
	for db in released supa_released; do
		run -0 grep -c . "$BATS_FILE_TMPDIR/$db.rows.0"
		assert_output 9
		run -0 diff "$BATS_FILE_TMPDIR/$db.rows.0" "$BATS_FILE_TMPDIR/$db.rows.1"
		run -0 diff "$BATS_FILE_TMPDIR/$db.rows.1" "$BATS_FILE_TMPDIR/$db.rows.2"
	done
}

@test "an upgrade from 0.1.0 leaves the schema, functions and grants of a new database" {
	run -0 grep -c 'CREATE FUNCTION' "$BATS_FILE_TMPDIR/current.schema"
	run -0 diff "$BATS_FILE_TMPDIR/current.schema" "$BATS_FILE_TMPDIR/released.schema.1"
}

@test "an upgrade from 0.1.0 under Supabase's default privileges leaves the grants and policies of a new database" {
	run -0 grep -c 'CREATE POLICY' "$BATS_FILE_TMPDIR/supa.schema"
	run -0 diff "$BATS_FILE_TMPDIR/supa.schema" "$BATS_FILE_TMPDIR/supa_released.schema.1"
}

@test "a second run on an upgraded database changes nothing" {
	local db
	for db in released supa_released; do
		run -0 diff "$BATS_FILE_TMPDIR/$db.schema.1" "$BATS_FILE_TMPDIR/$db.schema.2"
	done
}

@test "a session made before the upgrade is reused after it" {
	cgi_env+=("CHATKIT_DATABASE_URL=host=127.0.0.1 port=$PG_TEST_PORT dbname=released user=chatkit")
	session_call user_rel_a --body '{"deviceId":"d1"}'
	assert_status 200
	assert_json .session.chatKitSessionId tok_rel_a1
	assert_json .session.metadata.plan pro
	session_call user_rel_c --body '{"deviceId":"d1"}'
	assert_status 403
	run -0 _pg_psql released postgres <<<"select count(*) from chatkit_sessions"
	assert_output 6
}

@test "overloads planted in public by another role do not run when the CGI acquires or reuses a session, nor in the other calls" {
	local user
	user=$(unique_id)
	pg_add_user "$user"
	# Only the owner may write it.
	_pg_psql chatkit chatkit <<<"create table planted (who text, what text)"
	pg_sql "grant create on schema public to mallory"
	# What PostgreSQL 12-14 allow every role: functions and operators in
	# public that match the migrations' calls better than pg_catalog's.
	_pg_psql chatkit mallory <<-'SQL'
		create function public.make_interval(secs integer) returns interval
		language plpgsql as $$
		begin
			insert into public.planted values (current_user, 'make_interval');
			return pg_catalog.make_interval(secs => secs::double precision);
		end $$;
		create function public.hashtextextended(t text, seed integer) returns bigint
		language plpgsql as $$
		begin
			insert into public.planted values (current_user, 'hashtextextended');
			return pg_catalog.hashtextextended(t, seed::bigint);
		end $$;
		create function public.planted_mul(a numeric, b integer) returns numeric
		language plpgsql as $$
		begin
			insert into public.planted values (current_user, '*');
			return a * b::numeric;
		end $$;
		create operator public.* (function = public.planted_mul,
					  leftarg = numeric, rightarg = integer);
	SQL
	session_call "$user" --body '{}'
	assert_status 200
	session_call "$user" --body '{}'
	assert_status 200
	run -0 pg_sql "select count(*) from chatkit_sessions where clerk_user_id = :'id'" id="$user"
	assert_output 1
	# The calls of sql/004 the program makes for GET, DELETE and --cleanup,
	# as the owner.
	run -0 _pg_psql chatkit chatkit -v id="$user" <<-'SQL'
		select revoked from chatkit_revoke_sessions(:'id', null, null);
		select outcome from chatkit_acquire_session(:'id', null, 'wf', 60, 10, null,
			null, gen_random_uuid(), gen_random_uuid(), 0, 0);
		select count(*) >= 0 from chatkit_list_sessions(:'id', null, 10);
		select count(*) from chatkit_cleanup_batch(1, 10);
	SQL
	assert_output "$(printf '1\ncreated\nt\n1')"
	run -0 pg_sql "select string_agg(distinct who || ' ' || what, ', ') from planted"
	pg_sql "drop owned by mallory; drop table planted;
		revoke create on schema public from mallory"
	assert_output ''
}

@test "a temporary table named like the migrations' tables does not stand in for them" {
	local user
	user=$(unique_id)
	pg_add_user "$user"
	pg_sql "grant execute on function chatkit_find_session(text, text, integer, text[]) to mallory"
	run -0 _pg_psql chatkit mallory <<-SQL
		create temp table users (clerk_user_id text, role text, is_active boolean);
		insert into users values ('$user-ghost', 'admin', true);
		grant select on users to public;
		select outcome from chatkit_find_session('$user-ghost', null, 60, null);
		select outcome from chatkit_find_session('$user', null, 60, null);
	SQL
	pg_sql "revoke execute on function chatkit_find_session(text, text, integer, text[]) from mallory"
	assert_output "$(printf 'no_user\nmiss')"
}

@test "a CGI role granted what docs/database.md says gets a session" {
	local grants user
	# docs/database.md's block for that role, run as the owner.
	grants=$(awk '/^```sql/ { on = 1; buf = ""; next }
		      /^```/ { if (on && buf ~ /grant execute on function chatkit_acquire_session/) print buf; on = 0; next }
		      on { buf = buf $0 "\n" }' "$TOP_SRCDIR/docs/database.md")
	[[ -n $grants ]] || fail "no grant block for the CGI role in docs/database.md"
	grep -v '^create role' <<<"$grants" | _pg_psql supa chatkit
	user=$(unique_id)
	supa_sql "insert into users (clerk_user_id, role) values ('$user', 'member')"
	cgi_env+=("CHATKIT_DATABASE_URL=host=127.0.0.1 port=$PG_TEST_PORT dbname=supa user=chatkit_cgi")
	session_call "$user" --body '{"deviceId":"d1"}'
	assert_status 200
	session_call "$user" --body '{"deviceId":"d1"}'
	assert_status 200
	run -0 supa_sql "select count(*) from chatkit_sessions where clerk_user_id = '$user'"
	assert_output 1
}

@test "the CGI role can read or write no table directly" {
	local t
	for t in users chatkit_sessions; do
		run as_role supa chatkit_cgi "select count(*) from $t"
		assert_failure
		assert_output --partial "permission denied for table $t"
	done
	run as_role supa chatkit_cgi "select cleanup_expired_chatkit_sessions()"
	assert_failure
	assert_output --partial 'permission denied for function'
}

@test "the migrations in another schema serve the CGI from there" {
	local user
	user=$(unique_id)
	run -0 _pg_psql elsewhere postgres <<<"select count(*) from pg_tables
		where schemaname = 'app' and tablename in ('users', 'chatkit_sessions')"
	assert_output 2
	_pg_psql elsewhere postgres <<-SQL
		insert into app.users (clerk_user_id, role) values ('$user', 'member');
		grant usage on schema app to chatkit_cgi;
		grant execute on function app.chatkit_acquire_session(text, text, text, integer,
			integer, jsonb, text[], uuid, uuid, integer, integer) to chatkit_cgi;
		grant execute on function app.chatkit_find_session(text, text, integer, text[])
			to chatkit_cgi;
		alter role chatkit_cgi in database elsewhere set search_path = app;
	SQL
	cgi_env+=("CHATKIT_DATABASE_URL=host=127.0.0.1 port=$PG_TEST_PORT dbname=elsewhere user=chatkit_cgi")
	session_call "$user" --body '{"deviceId":"d1"}'
	assert_status 200
	run -0 _pg_psql elsewhere postgres <<<"select count(*) from app.chatkit_sessions
		where clerk_user_id = '$user'"
	assert_output 1
}
