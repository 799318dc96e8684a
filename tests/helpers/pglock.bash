# pglock.bash: hold a lock on the users table from a session of its own,
# so that the program's calls wait (tests of CHATKIT_DB_TIMEOUT). Load
# after helpers/common; call unlock_users from teardown.

LOCKER=chatkit-test-locker

# lock_users: a psql session of its own (application_name $LOCKER) holds
# users in ACCESS EXCLUSIVE mode for at most 40 s, so that every call of
# the program waits; returns once the lock is granted (5 s at most).
lock_users() {
	local i
	PGAPPNAME=$LOCKER _pg_psql chatkit postgres \
		-c "begin; lock table users in access exclusive mode;
		    select pg_sleep(40); commit" </dev/null >/dev/null 2>&1 3>&- &
	for ((i = 0; i < 100; i++)); do
		[[ $(pg_sql "select count(*) from pg_locks l
			join pg_class c on c.oid = l.relation
			where c.relname = 'users' and l.granted
			  and l.mode = 'AccessExclusiveLock'") == 1 ]] && return 0
		sleep 0.05
	done
	die "the users table could not be locked"
}

# unlock_users: end the locking session (its backend, not only psql).
unlock_users() {
	pg_sql "select pg_terminate_backend(pid) from pg_stat_activity
		where application_name = '$LOCKER'" >/dev/null 2>&1 || true
}

# waiting_backends: backends waiting for a lock now (the locker holds its
# own, it does not wait).
waiting_backends() {
	pg_sql "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
}
