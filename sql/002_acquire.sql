-- 002_acquire.sql: the one reuse / refresh / create decision, in one call.
-- Idempotent; rules for every file: sql/README.md.
--
-- The CGI runs exactly one statement per request:
--   select * from chatkit_acquire_session($1 .. $9)
-- which is one transaction. Reusing a session reads only. Refreshing or
-- creating takes a transaction-scoped advisory lock on the user, which
-- serialises concurrent requests of that user, so they all end on the same
-- active row; nothing outlives the transaction, so pgbouncer's transaction
-- pooling works.
--
-- outcome: no_user | inactive | role_denied | reused | refreshed | created.
-- Only the last three fill the session columns. Timestamps come back as
-- UTC ISO-8601 text with milliseconds.
create or replace function chatkit_acquire_session(
	p_user_id	text,
	p_device_id	text,		-- null: newest active session, any device
	p_workflow_id	text,
	p_ttl_seconds	integer,
	p_refresh_seconds integer,
	p_metadata	jsonb,		-- stored only when a row is created
	p_allowed_roles	text[],		-- null: every role
	p_new_id	uuid,
	p_new_token	uuid)
returns table (
	outcome		text,
	session_token	text,
	device_id	text,
	user_id		text,
	workflow_id	text,
	created_at	text,
	expires_at	text,
	metadata	jsonb)
language plpgsql
volatile
security definer
as $$
declare
	v_role		text;
	v_active	boolean;
	v_now		timestamptz;
	s		chatkit_sessions%rowtype;
begin
	select u.role::text, u.is_active into v_role, v_active
	  from users u where u.clerk_user_id::text = p_user_id;
	if not found then
		outcome := 'no_user';
		return next;
		return;
	end if;
	if not coalesce(v_active, false) then
		outcome := 'inactive';
		return next;
		return;
	end if;
	if p_allowed_roles is not null
	   and not coalesce(v_role = any (p_allowed_roles), false) then
		outcome := 'role_denied';
		return next;
		return;
	end if;

	-- Reuse needs no lock: when the newest active session has more than
	-- the threshold left it is returned as it is, and nothing is written
	-- (a concurrent request that refreshes or creates takes the lock
	-- below, and finds this same row first).
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
		perform pg_catalog.pg_advisory_xact_lock(
			pg_catalog.hashtextextended('chatkit_session:'::text || p_user_id, 0::bigint));
		-- After the lock: a request that waited sees what the winner
		-- committed.
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
			update chatkit_sessions c
			   set status = 'expired'
			 where c.clerk_user_id = p_user_id
			   and c.status = 'active'
			   and c.expires_at <= v_now
			   and (p_device_id is null or c.device_id = p_device_id);
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

call chatkit_apply_access(pg_catalog.current_schema());
