# pgbouncer.bash: pgbouncer in transaction pooling mode in front of a
# cluster of pg.bash (which loads this file), for the tests, scripts/demo
# and bench/. Plain bash (no Bats).
#
#   pgbouncer_start DIR PGPORT POOL [SETTING...]   sets PGB_PORT, PGB_PID, PGB_URL
#   pgb_start [POOL_SIZE]   the same in front of pg_start's cluster, with
#                           PGB_PORT, PGB_URL and PGB_PID exported
#   pgb_stop                stops what pgb_start started
#
# Transaction pooling hands each transaction whatever server connection
# is free, so anything a program leaves on a connection (SET, a named
# prepared statement, a session-level lock) leaks to other clients or is
# missing next time. A small pool makes that show.

# pgbouncer_start DIR PGPORT POOL [SETTING...]: pgbouncer for database
# chatkit (role chatkit, trust) of the cluster on 127.0.0.1:PGPORT, with
# POOL server connections, on a free loopback port. Its files are in DIR
# (made, and as root given to pg_owner: pgbouncer refuses root); each
# SETTING ("name = value") is added to its [pgbouncer] section. Waits
# (10 s at most) until a query goes through; on failure shows its logs
# and stops it.
pgbouncer_start() {
	local dir=$1 pgport=$2 pool=$3 setting i
	shift 3
	command -v pgbouncer >/dev/null || die "pgbouncer is not installed" || return
	mkdir -p "$dir" || return
	PGB_PORT=$(random_free_port) || return
	{
		cat <<-EOF
			[databases]
			chatkit = host=127.0.0.1 port=$pgport dbname=chatkit

			[pgbouncer]
			listen_addr = 127.0.0.1
			listen_port = $PGB_PORT
			unix_socket_dir =
			auth_type = trust
			auth_file = $dir/userlist.txt
			pool_mode = transaction
			default_pool_size = $pool
			logfile = $dir/pgbouncer.log
		EOF
		for setting in "$@"; do
			printf '%s\n' "$setting"
		done
	} >"$dir/pgbouncer.ini" || return
	printf '"chatkit" ""\n' >"$dir/userlist.txt"
	if ((EUID == 0)); then
		chown -R "$(pg_owner):" "$dir" || return
	fi
	spawn_as "$(stat -c %U "$dir")" pgbouncer "$dir/pgbouncer.ini" \
		</dev/null >"$dir/console.log" 2>&1 3>&-
	PGB_PID=$SPAWNED_PID
	PGB_URL="host=127.0.0.1 port=$PGB_PORT dbname=chatkit user=chatkit"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PGB_PID" 2>/dev/null || break
		if PGCONNECT_TIMEOUT=2 "$(pg_bindir)/psql" -h 127.0.0.1 -p "$PGB_PORT" \
			-U chatkit -d chatkit -qtAX -c 'select 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	cat "$dir/console.log" "$dir/pgbouncer.log" >&2 2>/dev/null
	stop_pid "$PGB_PID"
	die "pgbouncer did not start (see above)"
}

# pgb_start [POOL_SIZE]: pgbouncer_start in front of pg_start's cluster
# (default pool 8, up to 200 clients, no connection log lines).
pgb_start() {
	pgbouncer_start "$PG_TEST_DIR/pgbouncer" "$PG_TEST_PORT" "${1:-8}" \
		'max_client_conn = 200' 'log_connections = 0' 'log_disconnections = 0' ||
		return
	pgb_pid=$PGB_PID
	export PGB_PID PGB_PORT PGB_URL
}

# pgb_stop: stop pgbouncer if pgb_start (in this shell) started it.
pgb_stop() {
	[[ -n ${pgb_pid:-} ]] || return 0
	stop_pid "$pgb_pid"
	pgb_pid=
}
