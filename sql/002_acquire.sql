-- 002_acquire.sql: the reuse / refresh / create decision, in one call.
-- Idempotent; rules for every file: sql/README.md.
--
-- Each call is one transaction. Reusing a session reads only. Refreshing
-- or creating takes a transaction-scoped advisory lock on the user, which
-- serialises concurrent requests of that user, so they all end on the same
-- active row; nothing outlives the transaction, so pgbouncer's transaction
-- pooling works.
--
-- Two limits on create, both decided under that lock (so concurrent
-- creates of one user count each other):
--   p_create_rate  creates per user in the last hour (0: unlimited).
--                  Past it: outcome rate_limited, nothing written, and
--                  retry_after = whole seconds until enough of the
--                  window's creates have left it for one more.
--   p_max_devices  active sessions per user (0: no cap). A create that
--                  would pass it revokes the least recently active ones
--                  (last_activity_at, then created_at) first.
-- A revoked row is never reused or refreshed: only active rows are
-- looked at.
--
-- outcome: no_user | inactive | role_denied | rate_limited | reused |
-- refreshed | created. Only the last three fill the session columns.

-- 0.1.0 also had a 9-argument one, without either limit.
drop function if exists chatkit_acquire_session(text, text, text, integer, integer,
	jsonb, text[], uuid, uuid);

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
	select u.outcome into v_check
	  from chatkit_user_outcome(p_user_id, p_allowed_roles) u;
	if v_check <> 'ok' then
		outcome := v_check;
		return next;
		return;
	end if;

	-- Reuse needs no lock: when the newest active session has more than
	-- the threshold left it is returned as it is, and nothing is written
	-- (a concurrent request that refreshes or creates takes the lock
	-- below, and finds this same row first).
	v_now := pg_catalog.clock_timestamp();
	select n.* into s from chatkit_newest_session(p_user_id, p_device_id, v_now) n;
	if not (found and s.expires_at - v_now > pg_catalog.make_interval(secs => p_refresh_seconds::double precision)) then
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
		-- After the lock: a request that waited sees what the winner
		-- committed.
		v_now := pg_catalog.clock_timestamp();
		select n.* into s from chatkit_newest_session(p_user_id, p_device_id, v_now) n;
	end if;

	if found and s.expires_at - v_now > pg_catalog.make_interval(secs => p_refresh_seconds::double precision) then
		outcome := 'reused';
	else
		if found then
			-- Only while still active: the cleanup, which takes no
			-- user lock, may have marked it expired since.
			update chatkit_sessions c
			   set session_token = p_new_token::text,
			       expires_at = v_now + pg_catalog.make_interval(secs => p_ttl_seconds::double precision),
			       last_activity_at = v_now
			 where c.id = s.id
			   and chatkit_session_is_active(c.status, c.expires_at, v_now)
			returning c.* into s;
		end if;
		if found then
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
			   and chatkit_session_is_lapsed(c.status, c.expires_at, v_now)
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
					   and chatkit_session_is_active(o.status, o.expires_at, v_now)
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
	created_at := chatkit_iso(s.created_at);
	expires_at := chatkit_iso(s.expires_at);
	metadata := s.metadata;
	return next;
end;
$$;

call chatkit_apply_access(pg_catalog.current_schema());
