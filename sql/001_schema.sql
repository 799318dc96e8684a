-- 001_schema.sql: tables, indexes, trigger and cleanup for chatkit-session.
-- Idempotent; rules for every file: sql/README.md.

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
-- cleanup_expired_chatkit_sessions().
create index if not exists chatkit_sessions_active_expiry
	on chatkit_sessions (expires_at) where status = 'active';

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

-- Marks active rows whose time is up as expired; returns how many.
-- Rows are never deleted: run it from cron or pg_cron if you like tidy data.
create or replace function cleanup_expired_chatkit_sessions()
returns integer
language plpgsql
as $$
declare
	n integer;
begin
	update chatkit_sessions
	   set status = 'expired'
	 where status = 'active' and expires_at <= pg_catalog.now();
	get diagnostics n = row_count;
	return n;
end;
$$;

call chatkit_apply_access(pg_catalog.current_schema());
