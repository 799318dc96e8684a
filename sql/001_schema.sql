-- 001_schema.sql: tables, indexes, trigger and cleanup for chatkit-session.
-- Idempotent: safe to run again, on plain PostgreSQL 12+ and on Supabase.

-- users: on Supabase (or an existing app) the table may already exist;
-- it is created only when absent, and only is_active is added if missing.
create table if not exists users (
	clerk_user_id	text primary key,
	role		text not null default 'user',
	is_active	boolean not null default true,
	created_at	timestamptz not null default now()
);
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
	new.updated_at := now();
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
	 where status = 'active' and expires_at <= now();
	get diagnostics n = row_count;
	return n;
end;
$$;

alter table chatkit_sessions enable row level security;

-- Supabase: signed-in users may read their own rows through PostgREST.
-- Only where the auth schema (and its jwt() helper) exists.
do $$
begin
	if exists (select 1
		     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		    where n.nspname = 'auth' and p.proname = 'jwt')
	   and not exists (select 1 from pg_policies
			    where tablename = 'chatkit_sessions'
			      and policyname = 'chatkit_sessions_select_own') then
		execute 'create policy chatkit_sessions_select_own on chatkit_sessions '
			'for select using ((auth.jwt() ->> ''sub'') = clerk_user_id)';
	end if;
end;
$$;
