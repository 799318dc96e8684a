-- 004_manage.sql: sessions a user can see and end (list, revoke), and
-- batched cleanup.
-- Idempotent (if not exists, create or replace); applies on top of
-- 001-003 and keeps every row of an existing database. Rules for every
-- file: sql/README.md.

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

-- The user checks every action makes first:
-- no_user | inactive | role_denied | ok.
-- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined,
-- so PostgreSQL parsed and planned its body again on every call (the
-- largest part of a warm reuse call's server time); PL/pgSQL keeps the
-- query's plan for the backend's life (docs/performance.md).
create or replace function chatkit_user_check(
	p_user_id	text,
	p_allowed_roles	text[])		-- null: every role
returns text
language plpgsql
stable
as $$
begin
	return (select case
		when u.clerk_user_id is null then 'no_user'
		when not coalesce(u.is_active, false) then 'inactive'
		when p_allowed_roles is not null
		     and not coalesce(u.role::text = any (p_allowed_roles), false)
			then 'role_denied'
		else 'ok'
	       end
	  from (select 1) as one
	  left join users u on u.clerk_user_id::text = p_user_id);
end;
$$;


-- The caller's active sessions, newest first, at most p_limit of them, as
-- one JSON array (key order kept): deviceId, workflowId, createdAt,
-- expiresAt, lastActivityAt, metadata. Never the session token: that is
-- a bearer credential. sessions is null unless outcome is 'ok'.
create or replace function chatkit_list_sessions(
	p_user_id	text,
	p_allowed_roles	text[],		-- null: every role
	p_limit		integer)
returns table (
	outcome		text,		-- no_user | inactive | role_denied | ok
	sessions	json)
language sql
stable
security definer
as $$
	select chk.v,
	       case when chk.v = 'ok' then
		(select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(
			'deviceId'::text, l.device_id,
			'workflowId'::text, l.workflow_id,
			'createdAt'::text, pg_catalog.to_char(l.created_at at time zone 'UTC',
				'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
			'expiresAt'::text, pg_catalog.to_char(l.expires_at at time zone 'UTC',
				'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
			'lastActivityAt'::text, pg_catalog.to_char(l.last_activity_at at time zone 'UTC',
				'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
			'metadata'::text, l.metadata)
			order by l.created_at desc, l.id), '[]'::json)
		   from (select c.*
			   from chatkit_sessions c
			  where c.clerk_user_id = p_user_id
			    and c.status = 'active'
			    and c.expires_at > pg_catalog.clock_timestamp()
			  order by c.created_at desc, c.id
			  limit greatest(p_limit, 0)) l)
	       end
	  from (select chatkit_user_check(p_user_id, p_allowed_roles) as v) chk
$$;


-- Revokes the caller's active session on p_device_id, or every active
-- one (p_device_id null), under the per-user lock the acquire decision
-- takes, so a create never counts a session being revoked. revoked: how
-- many rows changed (0 when there was nothing to revoke).
create or replace function chatkit_revoke_sessions(
	p_user_id	text,
	p_device_id	text,		-- null: all of the user's sessions
	p_allowed_roles	text[])		-- null: every role
returns table (
	outcome		text,		-- no_user | inactive | role_denied | ok
	revoked		integer)
language plpgsql
volatile
security definer
as $$
declare
	n integer := 0;
begin
	outcome := chatkit_user_check(p_user_id, p_allowed_roles);
	if outcome = 'ok' then
		perform pg_catalog.pg_advisory_xact_lock(
			pg_catalog.hashtextextended('chatkit_session:'::text || p_user_id, 0::bigint));
		update chatkit_sessions c
		   set status = 'revoked'
		 where c.clerk_user_id = p_user_id
		   and c.status = 'active'
		   and c.expires_at > pg_catalog.clock_timestamp()
		   and (p_device_id is null or c.device_id = p_device_id);
		get diagnostics n = row_count;
	end if;
	revoked := n;
	return next;
end;
$$;


-- One batch of --cleanup, one short transaction: marks at most p_batch
-- active rows whose time is up as expired, deletes at most p_batch
-- expired rows whose expires_at and at most p_batch revoked rows whose
-- updated_at is more than p_retention_days ago. Rows a request holds are
-- skipped (skip locked), never waited for; the next run takes them. The
-- caller repeats until a batch comes back with every count below
-- p_batch.
create or replace function chatkit_cleanup_batch(
	p_retention_days integer,
	p_batch		integer)
returns table (
	expired		integer,	-- marked expired
	deleted_expired	integer,
	deleted_revoked	integer)
language plpgsql
volatile
security definer
as $$
declare
	v_now	timestamptz := pg_catalog.clock_timestamp();
	v_cut	timestamptz := v_now - pg_catalog.make_interval(days => p_retention_days);
begin
	update chatkit_sessions c
	   set status = 'expired'
	 where c.id in (
		select o.id
		  from chatkit_sessions o
		 where o.status = 'active' and o.expires_at <= v_now
		 limit p_batch
		   for update skip locked);
	get diagnostics expired = row_count;

	delete from chatkit_sessions c
	 where c.id in (
		select o.id
		  from chatkit_sessions o
		 where o.status = 'expired' and o.expires_at < v_cut
		 limit p_batch
		   for update skip locked);
	get diagnostics deleted_expired = row_count;

	delete from chatkit_sessions c
	 where c.id in (
		select o.id
		  from chatkit_sessions o
		 where o.status = 'revoked' and o.updated_at < v_cut
		 limit p_batch
		   for update skip locked);
	get diagnostics deleted_revoked = row_count;
	return next;
end;
$$;

call chatkit_apply_access(pg_catalog.current_schema());
