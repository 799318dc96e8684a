-- 005_gate.sql: the gate's one check of a ChatKit request's session.
-- Idempotent; rules for every file: sql/README.md.
--
-- Every request to the site's ChatKit server carries a session token as
-- its Bearer credential; chatkit_check_session says whether it may pass.
-- Nothing about an answer is kept, so a revocation, an expiry or a
-- deactivated user counts on the very next check.

-- Requests per session in its current window, for the request rate.
-- Unlogged: a crash empties it, which only starts every window afresh,
-- and no write of the hot path goes to the WAL. A row goes with its
-- session (the cleanup deletes old sessions).
create unlogged table if not exists chatkit_session_hits (
	session_id	uuid primary key
			references chatkit_sessions (id) on delete cascade,
	window_start	timestamptz not null,
	hits		integer not null
);

-- No row: p_token names no session that is active and unexpired now
-- (unknown, expired, revoked). Otherwise one row, outcome:
--   ok        the request may pass; user_id (clerk_user_id), device_id,
--             expires_at (ISO-8601 UTC, as in the session JSON) and role
--             are filled.
--   inactive  the user is deactivated, or has no row in users any more.
--   role      the user's role is not in p_roles.
--   rate      the session made p_rate requests in its window already;
--             retry_after: whole seconds until the window ends, 1..60.
--
-- The rate counts the requests that reach it (a refused user's do not)
-- in fixed windows of 60 s per session, the first request opening one:
-- one row and one upsert per check, exact under concurrency (the upsert
-- locks the row, and a waiting check counts on what the one before it
-- wrote), and a retry_after that is simply the window's end. A burst
-- across a window's end may pass up to twice p_rate within 60 s; a
-- sliding window would need a row per request, or an estimate.
--
-- last_activity_at is written when it is a minute old or more, so most
-- checks write nothing to chatkit_sessions; only an active row is
-- touched, so a revoked row's updated_at (which the cleanup ages it by)
-- stays the time it was revoked.
--
-- Writes need READ COMMITTED, where a check that waited on another's row
-- lock goes on with what that one committed; under REPEATABLE READ or
-- SERIALIZABLE concurrent checks of one session would end in
-- serialization failures instead, so they are refused up front.
create or replace function chatkit_check_session(
	p_token		text,
	p_roles		text[],		-- null or empty: every role
	p_rate		integer)	-- requests per session per minute; 0: unlimited
returns table (
	outcome		text,		-- ok | inactive | role | rate
	retry_after	integer,	-- rate only
	user_id		text,		-- ok only, and the three below
	device_id	text,
	expires_at	text,
	role		text)
language plpgsql
volatile
security definer
as $$
declare
	v_now		timestamptz := pg_catalog.clock_timestamp();
	v_roles		text[];
	v_id		uuid;
	v_user		text;
	v_device	text;
	v_expires	timestamptz;
	v_last		timestamptz;
	v_check		text;
	v_role		text;
	v_start		timestamptz;
	v_hits		integer;
begin
	if pg_catalog.cardinality(p_roles) > 0 then
		v_roles := p_roles;
	end if;

	select c.id, c.clerk_user_id, c.device_id, c.expires_at,
	       c.last_activity_at, u.outcome, u.role
	  into v_id, v_user, v_device, v_expires, v_last, v_check, v_role
	  from chatkit_sessions c
	 cross join lateral chatkit_user_outcome(c.clerk_user_id, v_roles) u
	 where c.session_token = p_token
	   and chatkit_session_is_active(c.status, c.expires_at, v_now);
	if not found then
		return;
	end if;
	if v_check <> 'ok' then
		-- A session whose user row is gone is a deleted user's.
		outcome := case v_check when 'role_denied' then 'role' else 'inactive' end;
		return next;
		return;
	end if;

	if coalesce(p_rate, 0) > 0
	   or v_last is null or v_last < v_now - interval '1 minute' then
		if pg_catalog.current_setting('transaction_isolation'::text) <> 'read committed'::text then
			raise exception 'chatkit_check_session needs READ COMMITTED isolation, not %',
				pg_catalog.current_setting('transaction_isolation'::text)
				using errcode = 'feature_not_supported',
				      hint = 'Reset default_transaction_isolation for the role or database that calls it.';
		end if;
	end if;

	if coalesce(p_rate, 0) > 0 then
		insert into chatkit_session_hits as h (session_id, window_start, hits)
		values (v_id, v_now, 1)
		on conflict (session_id) do update
		   set window_start = case when h.window_start > v_now - interval '1 minute'
					   then h.window_start else v_now end,
		       hits = case when h.window_start > v_now - interval '1 minute'
				   then h.hits + 1 else 1 end
		returning h.window_start, h.hits into v_start, v_hits;
		if v_hits > p_rate then
			outcome := 'rate';
			retry_after := least(60, greatest(1, pg_catalog.ceil(pg_catalog.date_part(
				'epoch'::text, v_start + interval '1 minute' - v_now))::integer));
			return next;
			return;
		end if;
	end if;

	if v_last is null or v_last < v_now - interval '1 minute' then
		-- Only while still active; a concurrent check that wrote first
		-- leaves nothing to write.
		update chatkit_sessions c
		   set last_activity_at = v_now
		 where c.id = v_id
		   and chatkit_session_is_active(c.status, c.expires_at, v_now)
		   and (c.last_activity_at is null
			or c.last_activity_at < v_now - interval '1 minute');
	end if;

	outcome := 'ok';
	user_id := v_user;
	device_id := v_device;
	expires_at := chatkit_iso(v_expires);
	role := v_role;
	return next;
end;
$$;

call chatkit_apply_access(pg_catalog.current_schema());
