-- 000_access.sql: who may call and read what, for every function and
-- table the migrations make (sql/README.md has the why). Idempotent.
--
-- One procedure holds the rules, and every file ends by calling it, so no
-- file commits an object that others may call or read, even when a later
-- file fails. It covers whatever the migrating role owns in the schema:
-- a function or table added later needs no list updated.
create or replace procedure chatkit_apply_access(p_schema text)
language plpgsql
as $$
declare
	v_owner		oid;
	v_from		text;
	v_supabase	boolean;
	f		regprocedure;
	v_pin		boolean;
	t		regclass;
begin
	select r.oid into v_owner
	  from pg_catalog.pg_roles r where r.rolname = current_user;
	select pg_catalog.string_agg(x, ', ') into v_from
	  from (select 'public'::text as x
		union all
		select pg_catalog.quote_ident(r.rolname::text)
		  from pg_catalog.pg_roles r
		 where r.rolname in ('anon', 'authenticated')) roles;
	v_supabase := exists (select 1
				from pg_catalog.pg_proc p
				join pg_catalog.pg_namespace n on n.oid = p.pronamespace
			       where n.nspname = 'auth' and p.proname = 'jwt')
		      and exists (select 1 from pg_catalog.pg_roles r
				   where r.rolname = 'authenticated');

	-- Functions and procedures: only the owner may execute. The
	-- search_path is pinned on all but the shared rules of
	-- 001_schema.sql (language sql, not volatile, security invoker): a
	-- SET clause would keep PostgreSQL from inlining them into the
	-- caller's query, and they run under the pinned path of the
	-- function that calls them.
	for f, v_pin in
		select p.oid::regprocedure,
		       not (p.prolang = (select l.oid from pg_catalog.pg_language l
					  where l.lanname = 'sql')
			    and not p.prosecdef and p.provolatile <> 'v')
		  from pg_catalog.pg_proc p
		  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
		 where n.nspname = p_schema
		   and p.proowner = v_owner
		   and (p.proname like 'chatkit\_%'
			or p.proname = 'cleanup_expired_chatkit_sessions')
	loop
		execute pg_catalog.format('revoke all on routine %s from %s', f, v_from);
		if v_pin then
			execute pg_catalog.format('alter routine %s set search_path = pg_catalog, %I, pg_temp',
						  f, p_schema);
		end if;
	end loop;

	-- Tables: row-level security on, no grants; users only when it is
	-- ours (marked by 001_schema.sql), so an app's own users keeps its
	-- grants and policies.
	for t in
		select c.oid::regclass
		  from pg_catalog.pg_class c
		  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		 where n.nspname = p_schema
		   and c.relowner = v_owner
		   and c.relkind in ('r', 'p')
		   and (c.relname like 'chatkit\_%'
			or (c.relname = 'users'
			    and pg_catalog.obj_description(c.oid, 'pg_class') like 'chatkit-session:%'))
	loop
		execute pg_catalog.format('alter table %s enable row level security', t);
		execute pg_catalog.format('revoke all on table %s from %s', t, v_from);
	end loop;

	-- On Supabase (auth.jwt() and role authenticated exist), signed-in
	-- users may read their own chatkit_sessions rows through PostgREST,
	-- and nothing else.
	if v_supabase and exists (select 1
				    from pg_catalog.pg_class c
				    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
				   where n.nspname = p_schema and c.relname = 'chatkit_sessions') then
		if not exists (select 1 from pg_catalog.pg_policies
				where schemaname = p_schema
				  and tablename = 'chatkit_sessions'
				  and policyname = 'chatkit_sessions_select_own') then
			execute pg_catalog.format('create policy chatkit_sessions_select_own on %I.chatkit_sessions '
						  'for select to authenticated '
						  'using ((auth.jwt() ->> ''sub'') = clerk_user_id)', p_schema);
		else
			-- An earlier version made it for every role.
			execute pg_catalog.format('alter policy chatkit_sessions_select_own on %I.chatkit_sessions '
						  'to authenticated', p_schema);
		end if;
		execute pg_catalog.format('grant select on table %I.chatkit_sessions to authenticated',
					  p_schema);
	end if;
end;
$$;

call chatkit_apply_access(pg_catalog.current_schema());
