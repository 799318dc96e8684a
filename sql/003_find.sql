-- 003_find.sql: the read-only first step for a fresh connection.
-- Idempotent (create or replace).
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
set search_path from current
as $$
	select case
		when u.clerk_user_id is null then 'no_user'
		when not coalesce(u.is_active, false) then 'inactive'
		when p_allowed_roles is not null
		     and not coalesce(u.role::text = any (p_allowed_roles), false)
			then 'role_denied'
		when s.expires_at - clock_timestamp() > make_interval(secs => p_refresh_seconds)
			then 'reused'
		else 'miss'
	       end,
	       s.session_token, s.device_id, s.clerk_user_id, s.workflow_id,
	       to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
	       to_char(s.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
	       s.metadata
	  from (select 1) as one
	  left join users u on u.clerk_user_id = p_user_id
	  left join lateral (
		select c.*
		  from chatkit_sessions c
		 where c.clerk_user_id = u.clerk_user_id
		   and c.status = 'active'
		   and c.expires_at > clock_timestamp()
		   and (p_device_id is null or c.device_id = p_device_id)
		 order by c.created_at desc, c.expires_at desc
		 limit 1) s on true
$$;

-- As for chatkit_acquire_session: only its owner, unless granted.
revoke all on function chatkit_find_session(text, text, integer, text[]) from public;
