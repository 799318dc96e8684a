-- 003_find.sql: the read-only first step for a fresh connection.
-- Idempotent; rules for every file: sql/README.md.
--
-- A new PostgreSQL backend compiles chatkit_acquire_session's PL/pgSQL on
-- its first call, which every plain CGI request would pay
-- (docs/performance.md). A program on a fresh connection therefore asks
-- this plain SQL function first: the user check, and the newest active
-- session in scope with whether more than the threshold is left. When it
-- is, that session is the answer and nothing is written; a missing,
-- inactive or refused user is answered too; otherwise ("miss") the
-- program calls chatkit_acquire_session, which decides under the lock.
-- Always one row, in chatkit_acquire_session's shape.
create or replace function chatkit_find_session(
	p_user_id	text,
	p_device_id	text,		-- null: any device
	p_refresh_seconds integer,
	p_allowed_roles	text[])		-- null: every role
returns table (
	outcome		text,		-- no_user | inactive | role_denied | reused | miss
	session_token	text,
	device_id	text,
	user_id		text,
	workflow_id	text,
	created_at	text,
	expires_at	text,
	metadata	jsonb)
language sql
stable
security definer
as $$
	-- statement_timestamp(), not clock_timestamp(): a volatile argument
	-- would keep chatkit_newest_session from being inlined.
	select case
		when u.outcome <> 'ok' then u.outcome
		when s.expires_at - pg_catalog.statement_timestamp() > pg_catalog.make_interval(secs => p_refresh_seconds::double precision)
			then 'reused'
		else 'miss'
	       end,
	       s.session_token, s.device_id, s.clerk_user_id, s.workflow_id,
	       chatkit_iso(s.created_at), chatkit_iso(s.expires_at), s.metadata
	  from chatkit_user_outcome(p_user_id, p_allowed_roles) u
	  left join chatkit_newest_session(p_user_id, p_device_id,
					   pg_catalog.statement_timestamp()) s on true
$$;

call chatkit_apply_access(pg_catalog.current_schema());
