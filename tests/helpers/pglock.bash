# pglock.bash: hold a lock from a database session of its own, so that
# the program's calls wait on it (tests of CHATKIT_DB_TIMEOUT, of the
# gate's counter). Load after helpers/common; release in teardown.
#
#   pg_hold NAME SECONDS LOCK HELD [PSQL-ARGS...]   the lock, held
#   pg_release NAME                                  let it go
#   lock_users, unlock_users                         users, ACCESS EXCLUSIVE

# pg_hold NAME SECONDS LOCK HELD [PSQL-ARGS...]: a psql session of its
# own (application_name NAME, as postgres on database chatkit, with
# PSQL-ARGS such as -v) runs LOCK in a transaction and keeps it SECONDS;
# returns once the query HELD answers 1 (10 s at most).
pg_hold() {
	local name=$1 secs=$2 lock=$3 held=$4 i
	shift 4
	PGAPPNAME=$name _pg_psql chatkit postgres "$@" \
		<<<"begin; $lock; select pg_sleep($secs); commit;" >/dev/null 2>&1 3>&- &
	for ((i = 0; i < 200; i++)); do
		[[ $(pg_sql "$held") == 1 ]] && return 0
		sleep 0.05
	done
	die "$name: the lock was not held within 10 s"
}

# pg_release NAME: end pg_hold's session NAME (its backend, not only
# psql), if there is one.
pg_release() {
	pg_sql "select pg_terminate_backend(pid) from pg_stat_activity
		where application_name = '$1'" >/dev/null 2>&1 || true
}

# lock_users: users held in ACCESS EXCLUSIVE mode for at most 40 s, so
# that every call of the program waits.
lock_users() {
	pg_hold chatkit-test-locker 40 'lock table users in access exclusive mode' \
		"select count(*) from pg_locks l join pg_class c on c.oid = l.relation
		  where c.relname = 'users' and l.granted and l.mode = 'AccessExclusiveLock'"
}

# unlock_users: end lock_users's session.
unlock_users() { pg_release chatkit-test-locker; }

# waiting_backends: backends waiting for a lock now (the locker holds its
# own, it does not wait).
waiting_backends() {
	pg_sql "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
}
