-- 001_schema.sql: tables, indexes, the updated_at trigger, and the rules
-- every call shares: what an active session is, the newest one, the user
-- check and the timestamp format. Idempotent; rules for every file:
-- sql/README.md.

-- users: on Supabase (or in an existing app) the table may already exist.
-- Created here only when absent, with a comment that marks it as ours; a
-- table without the comment that has exactly the four columns below and
-- belongs to this role is the one an earlier version of this file made,
-- and is marked now. Only a marked table is locked down (000_access.sql):
-- an existing app's users keeps its own grants and policies (README.md
-- says what to check). Only is_active is added if missing.
do $$
declare
	v_users regclass;
begin
	select c.oid into v_users
	  from pg_catalog.pg_class c
	  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
	 where n.nspname = pg_catalog.current_schema() and c.relname = 'users';
	if v_users is null then
		create table users (
			clerk_user_id	text primary key,
			role		text not null default 'user',
			is_active	boolean not null default true,
			created_at	timestamptz not null default now()
		);
	elsif pg_catalog.obj_description(v_users, 'pg_class') is not null
	      or (select c.relowner from pg_catalog.pg_class c where c.oid = v_users)
		 <> (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user)
	      or (select pg_catalog.array_agg(a.attname::text order by a.attname::text)
		    from pg_catalog.pg_attribute a
		   where a.attrelid = v_users and a.attnum > 0 and not a.attisdropped)
		 is distinct from array['clerk_user_id', 'created_at', 'is_active', 'role']::text[] then
		return;
	end if;
	comment on table users is
		'chatkit-session: made by sql/001_schema.sql; owner only (row-level security, no grants)';
end;
$$;
alter table users add column if not exists is_active boolean not null default true;

create table if not exists chatkit_sessions (
	id		uuid primary key,
	clerk_user_id	text not null,
	device_id	text not null,
	workflow_id	text not null,
	session_token	text not null unique,
	status		text not null default 'active'
			check (status in ('active', 'expired', 'revoked')),
	expires_at	timestamptz not null,
	metadata	jsonb not null default '{}'::jsonb,
	last_activity_at timestamptz not null default now(),
	created_at	timestamptz not null default now(),
	updated_at	timestamptz not null default now()
);

-- At most one row marked active per user and device: the acquire function
-- marks stale rows expired before it inserts, so this only catches bugs.
create unique index if not exists chatkit_sessions_one_active
	on chatkit_sessions (clerk_user_id, device_id) where status = 'active';
-- "Newest active session of this user, any device".
create index if not exists chatkit_sessions_user_active
	on chatkit_sessions (clerk_user_id, created_at desc) where status = 'active';
-- Active rows whose time is up, for the cleanup functions.
create index if not exists chatkit_sessions_active_expiry
	on chatkit_sessions (expires_at) where status = 'active';
-- CHATKIT_CREATE_RATE counts a user's rows created in the last hour, of
-- any status (revoking a session does not give its create back), from
-- this index rather than from a counter that could drift.
create index if not exists chatkit_sessions_user_created
	on chatkit_sessions (clerk_user_id, created_at);
-- --cleanup: expired rows by expires_at, revoked rows by updated_at.
create index if not exists chatkit_sessions_expired_expiry
	on chatkit_sessions (expires_at) where status = 'expired';
create index if not exists chatkit_sessions_revoked_updated
	on chatkit_sessions (updated_at) where status = 'revoked';

create or replace function chatkit_sessions_touch_updated_at()
returns trigger
language plpgsql
as $$
begin
	new.updated_at := pg_catalog.now();
	return new;
end;
$$;

drop trigger if exists chatkit_sessions_updated_at on chatkit_sessions;
create trigger chatkit_sessions_updated_at
	before update on chatkit_sessions
	for each row execute procedure chatkit_sessions_touch_updated_at();

-- The rules every call shares, each written once. Plain language sql,
-- security invoker, no SET clause, never volatile: PostgreSQL then
-- inlines them into the calling query as if written there, so the
-- indexes above serve it and no function call is left at run time (a SET
-- clause or security definer would stop that).

-- A session in use: marked active and not yet over at p_at.
create or replace function chatkit_session_is_active(
	p_status	text,
	p_expires_at	timestamptz,
	p_at		timestamptz)
returns boolean
language sql
immutable
as $$
	select p_status = 'active'::text and p_expires_at > p_at
$$;

-- Marked active, but over at p_at: what the cleanup marks expired.
create or replace function chatkit_session_is_lapsed(
	p_status	text,
	p_expires_at	timestamptz,
	p_at		timestamptz)
returns boolean
language sql
immutable
as $$
	select p_status = 'active'::text and p_expires_at <= p_at
$$;

-- The user's newest active session at p_at, on p_device_id or (null) any
-- device; no row when there is none. p_at must not be volatile
-- (clock_timestamp() itself): PostgreSQL inlines no set-returning
-- function whose arguments are.
create or replace function chatkit_newest_session(
	p_user_id	text,
	p_device_id	text,
	p_at		timestamptz)
returns setof chatkit_sessions
language sql
stable
as $$
	select c.*
	  from chatkit_sessions c
	 where c.clerk_user_id = p_user_id
	   and chatkit_session_is_active(c.status, c.expires_at, p_at)
	   and (p_device_id is null or c.device_id = p_device_id)
	 order by c.created_at desc, c.expires_at desc
	 limit 1
$$;

-- The check every call makes first, one row: outcome no_user | inactive |
-- role_denied | ok, and the user's role as text (null for no_user).
-- p_allowed_roles null: every role.
--
-- Earlier versions returned the outcome alone, and a function's row type
-- cannot change in place: that one is dropped first. The callers find
-- the new one by name (nothing records a dependency on it).
do $$
begin
	if exists (select 1
		     from pg_catalog.pg_proc p
		    where p.oid = pg_catalog.to_regprocedure('chatkit_user_outcome(text, text[])'::text)
		      and not ('role'::text = any (p.proargnames::text[]))) then
		drop function chatkit_user_outcome(text, text[]);
	end if;
end;
$$;
create or replace function chatkit_user_outcome(
	p_user_id	text,
	p_allowed_roles	text[])
returns table (outcome text, role text)
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
	       end,
	       u.role::text
	  from (select 1) as one
	  left join users u on u.clerk_user_id::text = p_user_id
$$;

-- Timestamps go out as UTC ISO-8601 text with milliseconds. Stable, as
-- to_char is: an immutable one would not be inlined.
create or replace function chatkit_iso(p_at timestamptz)
returns text
language sql
stable
as $$
	select pg_catalog.to_char(p_at at time zone 'UTC'::text,
				  'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'::text)
$$;

call chatkit_apply_access(pg_catalog.current_schema());
