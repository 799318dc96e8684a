-- 004_manage.sql: sessions a user can see and end (list, revoke), and
-- the cleanup. Idempotent; rules for every file: sql/README.md.

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
language plpgsql
stable
security definer
as $$
begin
	select u.outcome into outcome
	  from chatkit_user_outcome(p_user_id, p_allowed_roles) u;
	if outcome = 'ok' then
		select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(
			'deviceId'::text, l.device_id,
			'workflowId'::text, l.workflow_id,
			'createdAt'::text, chatkit_iso(l.created_at),
			'expiresAt'::text, chatkit_iso(l.expires_at),
			'lastActivityAt'::text, chatkit_iso(l.last_activity_at),
			'metadata'::text, l.metadata)
			order by l.created_at desc, l.id), '[]'::json)
		  into sessions
		  from (select c.*
			  from chatkit_sessions c
			 where c.clerk_user_id = p_user_id
			   and chatkit_session_is_active(c.status, c.expires_at,
							 pg_catalog.clock_timestamp())
			 order by c.created_at desc, c.id
			 limit greatest(p_limit, 0)) l;
	end if;
	return next;
end;
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
	select u.outcome into outcome
	  from chatkit_user_outcome(p_user_id, p_allowed_roles) u;
	if outcome = 'ok' then
		perform pg_catalog.pg_advisory_xact_lock(
			pg_catalog.hashtextextended('chatkit_session:'::text || p_user_id, 0::bigint));
		update chatkit_sessions c
		   set status = 'revoked'
		 where c.clerk_user_id = p_user_id
		   and chatkit_session_is_active(c.status, c.expires_at,
						 pg_catalog.clock_timestamp())
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
		 where chatkit_session_is_lapsed(o.status, o.expires_at, v_now)
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

-- Marks active rows whose time is up as expired; returns how many.
-- Rows are never deleted: run it from cron or pg_cron if you like tidy data.
create or replace function cleanup_expired_chatkit_sessions()
returns integer
language plpgsql
as $$
declare
	n integer;
begin
	update chatkit_sessions c
	   set status = 'expired'
	 where chatkit_session_is_lapsed(c.status, c.expires_at, pg_catalog.now());
	get diagnostics n = row_count;
	return n;
end;
$$;

-- 0.1.0's user check; chatkit_user_outcome (001_schema.sql) replaces it.
-- Dropped only here: until the calls above were replaced, 0.1.0's
-- acquire, list and revoke called it.
drop function if exists chatkit_user_check(text, text[]);

call chatkit_apply_access(pg_catalog.current_schema());
