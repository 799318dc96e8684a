# sqltest.bash: migrating and inspecting databases of the test cluster
# (helpers/pg.bash), for the suites that test sql/ itself.

# migrate DB [PGOPTIONS]: apply sql/*.sql in order as chatkit, as
# docs/database.md says (one transaction per file).
migrate() {
	migrate_from "$TOP_SRCDIR/sql" "$@"
}

# migrate_from DIR DB [PGOPTIONS]: the same with DIR/*.sql.
migrate_from() {
	local f
	for f in "$1"/*.sql; do
		PGOPTIONS="-c client_min_messages=warning ${3:-}" \
			"$(pg_bindir)/psql" -h 127.0.0.1 -p "$PG_TEST_PORT" -U chatkit \
			-d "$2" -qtAX -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null ||
			die "migration $f failed on database $2" || return
	done
}

# schema DB: pg_dump's schema of DB (objects, grants, policies, default
# privileges), without the random \restrict key of newer pg_dump.
schema() {
	"$(pg_bindir)/pg_dump" -h 127.0.0.1 -p "$PG_TEST_PORT" -U postgres \
		--schema-only "$1" | grep -v '^\\\(un\)\{0,1\}restrict '
}

# supabase_like DB: roles' rights as a Supabase project has them before
# its first migration: Supabase's default privileges for chatkit (every
# new table, function and sequence in public granted to anon,
# authenticated and service_role), and a stand-in auth.jwt().
supabase_like() {
	pg_sql_db "$1" "
		grant usage on schema public to anon, authenticated, service_role;
		alter default privileges for role chatkit in schema public
			grant all on tables to anon, authenticated, service_role;
		alter default privileges for role chatkit in schema public
			grant all on functions to anon, authenticated, service_role;
		alter default privileges for role chatkit in schema public
			grant all on sequences to anon, authenticated, service_role;
		create schema auth;
		create function auth.jwt() returns jsonb language sql stable as
			\$\$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''),
					     '{}')::jsonb \$\$;
		grant usage on schema auth to chatkit, anon, authenticated, service_role;
		grant execute on function auth.jwt() to chatkit, anon, authenticated, service_role"
}
