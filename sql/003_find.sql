-- 003_find.sql: the read-only first step for a fresh connection.
-- Idempotent; rules for every file: sql/README.md.
--
-- A new PostgreSQL backend compiles chatkit_acquire_session's PL/pgSQL on
-- its first call, which costs milliseconds: every plain CGI request pays
-- it. A program on a fresh connection therefore asks this plain SQL
-- function first: the user's row, and the newest active session in scope
-- with whether more than the threshold is left. When it is, that session
-- is the answer and nothing is written; a missing, inactive or refused
-- user is answered too; otherwise ("miss") the program calls
-- chatkit_acquire_session, which decides under the lock. Always one row,
-- in chatkit_acquire_session's shape.
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
	select case
		when u.clerk_user_id is null then 'no_user'
		when not coalesce(u.is_active, false) then 'inactive'
		when p_allowed_roles is not null
		     and not coalesce(u.role::text = any (p_allowed_roles), false)
			then 'role_denied'
		when s.expires_at - pg_catalog.clock_timestamp() > pg_catalog.make_interval(secs => p_refresh_seconds::double precision)
			then 'reused'
		else 'miss'
	       end,
	       s.session_token, s.device_id, s.clerk_user_id, s.workflow_id,
	       pg_catalog.to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
	       pg_catalog.to_char(s.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
	       s.metadata
	  from (select 1) as one
	  left join users u on u.clerk_user_id::text = p_user_id
	  left join lateral (
		select c.*
		  from chatkit_sessions c
		 where c.clerk_user_id = u.clerk_user_id::text
		   and c.status = 'active'
		   and c.expires_at > pg_catalog.clock_timestamp()
		   and (p_device_id is null or c.device_id = p_device_id)
		 order by c.created_at desc, c.expires_at desc
		 limit 1) s on true
$$;

call chatkit_apply_access(pg_catalog.current_schema());
