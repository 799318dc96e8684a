-- 004_manage.sql: sessions a user can see and end: list, revoke, a device
-- cap and a creation rate inside the acquire decision, batched cleanup.
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


-- The reuse / refresh / create decision of 002, with two limits on
-- create, both decided under the per-user advisory lock (so concurrent
-- creates of one user count each other):
--   p_create_rate  creates per user in the last hour (0: unlimited).
--                  Past it: outcome rate_limited, nothing written, and
--                  retry_after = whole seconds until enough of the
--                  window's creates have left it for one more.
--   p_max_devices  active sessions per user (0: no cap). A create that
--                  would pass it revokes the least recently active ones
--                  (last_activity_at, then created_at) first.
-- A revoked row is never reused or refreshed: only status = 'active'
-- rows are looked at. outcome: no_user | inactive | role_denied |
-- rate_limited | reused | refreshed | created.
create or replace function chatkit_acquire_session(
	p_user_id	text,
	p_device_id	text,		-- null: newest active session, any device
	p_workflow_id	text,
	p_ttl_seconds	integer,
	p_refresh_seconds integer,
	p_metadata	jsonb,		-- stored only when a row is created
	p_allowed_roles	text[],		-- null: every role
	p_new_id	uuid,
	p_new_token	uuid,
	p_max_devices	integer,	-- 0: no cap
	p_create_rate	integer)	-- 0: unlimited
returns table (
	outcome		text,
	session_token	text,
	device_id	text,
	user_id		text,
	workflow_id	text,
	created_at	text,
	expires_at	text,
	metadata	jsonb,
	retry_after	integer)	-- seconds, with rate_limited only
language plpgsql
volatile
security definer
as $$
declare
	v_check		text;
	v_now		timestamptz;
	v_n		integer;
	v_leaves	timestamptz;
	s		chatkit_sessions%rowtype;
begin
	v_check := chatkit_user_check(p_user_id, p_allowed_roles);
	if v_check <> 'ok' then
		outcome := v_check;
		return next;
		return;
	end if;

	-- Reuse needs no lock (see 002).
	v_now := pg_catalog.clock_timestamp();
	select c.* into s
	  from chatkit_sessions c
	 where c.clerk_user_id = p_user_id
	   and c.status = 'active'
	   and c.expires_at > v_now
	   and (p_device_id is null or c.device_id = p_device_id)
	 order by c.created_at desc, c.expires_at desc
	 limit 1;
	if found and s.expires_at - v_now > pg_catalog.make_interval(secs => p_refresh_seconds::double precision) then
		outcome := 'reused';
	else
		-- The lock serialises a user's writers only under READ
		-- COMMITTED, where each statement below sees what the
		-- previous holder committed. Under REPEATABLE READ or
		-- SERIALIZABLE (a default_transaction_isolation set on the
		-- server, database, role or pooler) the snapshot predates the
		-- wait, so the cap and the rate would count stale rows: refuse
		-- rather than exceed them.
		if pg_catalog.current_setting('transaction_isolation'::text) <> 'read committed'::text then
			raise exception 'chatkit_acquire_session needs READ COMMITTED isolation, not %',
				pg_catalog.current_setting('transaction_isolation'::text)
				using errcode = 'feature_not_supported',
				      hint = 'Reset default_transaction_isolation for the role or database the program uses.';
		end if;
		perform pg_catalog.pg_advisory_xact_lock(
			pg_catalog.hashtextextended('chatkit_session:'::text || p_user_id, 0::bigint));
		v_now := pg_catalog.clock_timestamp();

		select c.* into s
		  from chatkit_sessions c
		 where c.clerk_user_id = p_user_id
		   and c.status = 'active'
		   and c.expires_at > v_now
		   and (p_device_id is null or c.device_id = p_device_id)
		 order by c.created_at desc, c.expires_at desc
		 limit 1
		 for update;

		if found and s.expires_at - v_now > pg_catalog.make_interval(secs => p_refresh_seconds::double precision) then
			outcome := 'reused';
		elsif found then
			update chatkit_sessions c
			   set session_token = p_new_token::text,
			       expires_at = v_now + pg_catalog.make_interval(secs => p_ttl_seconds::double precision),
			       last_activity_at = v_now
			 where c.id = s.id
			returning c.* into s;
			outcome := 'refreshed';
		else
			if coalesce(p_create_rate, 0) > 0 then
				select pg_catalog.count(*) into v_n
				  from chatkit_sessions c
				 where c.clerk_user_id = p_user_id
				   and c.created_at > v_now - interval '1 hour';
				if v_n >= p_create_rate then
					-- One more create is allowed once the
					-- (v_n - rate + 1) oldest have left.
					select c.created_at + interval '1 hour' into v_leaves
					  from chatkit_sessions c
					 where c.clerk_user_id = p_user_id
					   and c.created_at > v_now - interval '1 hour'
					 order by c.created_at
					offset v_n - p_create_rate
					 limit 1;
					outcome := 'rate_limited';
					retry_after := greatest(1, pg_catalog.ceil(pg_catalog.date_part(
						'epoch'::text, v_leaves - v_now))::integer);
					return next;
					return;
				end if;
			end if;
			update chatkit_sessions c
			   set status = 'expired'
			 where c.clerk_user_id = p_user_id
			   and c.status = 'active'
			   and c.expires_at <= v_now
			   and (p_device_id is null or c.device_id = p_device_id);
			if coalesce(p_max_devices, 0) > 0 then
				-- Keep the (cap - 1) most recently active; the
				-- new row makes cap.
				update chatkit_sessions c
				   set status = 'revoked'
				 where c.id in (
					select o.id
					  from chatkit_sessions o
					 where o.clerk_user_id = p_user_id
					   and o.status = 'active'
					   and o.expires_at > v_now
					 order by o.last_activity_at desc, o.created_at desc
					offset p_max_devices - 1);
			end if;
			insert into chatkit_sessions as c (id, clerk_user_id, device_id,
				workflow_id, session_token, status, expires_at, metadata,
				last_activity_at, created_at)
			values (p_new_id, p_user_id,
				coalesce(p_device_id, 'device_'::text || p_user_id || '_'::text ||
					pg_catalog.floor(pg_catalog.date_part('epoch'::text, v_now)
							 * 1000::double precision)::bigint::text),
				p_workflow_id, p_new_token::text, 'active',
				v_now + pg_catalog.make_interval(secs => p_ttl_seconds::double precision),
				coalesce(p_metadata, '{}'::jsonb), v_now, v_now)
			returning c.* into s;
			outcome := 'created';
		end if;
	end if;

	session_token := s.session_token;
	device_id := s.device_id;
	user_id := s.clerk_user_id;
	workflow_id := s.workflow_id;
	created_at := pg_catalog.to_char(s.created_at at time zone 'UTC',
			      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
	expires_at := pg_catalog.to_char(s.expires_at at time zone 'UTC',
			      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
	metadata := s.metadata;
	return next;
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
