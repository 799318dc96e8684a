# pgbouncer.bash: pgbouncer in transaction pooling mode in front of the
# cluster of pg_start (helpers/pg.bash), for the tests and the benchmark.
#
#   pgb_start [POOL_SIZE]     sets PGB_PORT, PGB_URL, PGB_PID (exported)
#   pgb_stop
#
# Transaction pooling hands each transaction whatever server connection
# is free, so anything a program leaves on a connection (SET, a named
# prepared statement, a session-level lock) leaks to other clients or is
# missing next time. A small pool makes that show.

# pgb_start [POOL_SIZE]: start it on a free loopback port, as the
# cluster's owner (pgbouncer refuses root); wait (10 s at most) until a
# query goes through.
pgb_start() {
	local dir=$PG_TEST_DIR/pgbouncer owner i pool=${1:-8}
	command -v pgbouncer >/dev/null || die "pgbouncer is not installed" || return
	owner=$(stat -c %U "$PG_TEST_DIR")
	mkdir -p "$dir" || return
	PGB_PORT=$(random_free_port) || return
	cat >"$dir/pgbouncer.ini" <<-EOF
		[databases]
		chatkit = host=127.0.0.1 port=$PG_TEST_PORT dbname=chatkit

		[pgbouncer]
		listen_addr = 127.0.0.1
		listen_port = $PGB_PORT
		unix_socket_dir =
		auth_type = trust
		auth_file = $dir/userlist.txt
		pool_mode = transaction
		max_client_conn = 200
		default_pool_size = $pool
		logfile = $dir/pgbouncer.log
		log_connections = 0
		log_disconnections = 0
	EOF
	printf '"chatkit" ""\n' >"$dir/userlist.txt"
	chown -R "$owner:" "$dir" || return
	if ((EUID == 0)); then
		(cd / && exec setpriv --reuid="$owner" --regid="$(id -g "$owner")" \
			--clear-groups -- pgbouncer "$dir/pgbouncer.ini") \
			</dev/null >"$dir/console.log" 2>&1 3>&- &
	else
		(cd / && exec pgbouncer "$dir/pgbouncer.ini") \
			</dev/null >"$dir/console.log" 2>&1 3>&- &
	fi
	pgb_pid=$!
	export PGB_PID=$pgb_pid PGB_PORT PGB_URL="host=127.0.0.1 port=$PGB_PORT dbname=chatkit user=chatkit"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pgb_pid" 2>/dev/null || break
		if PGCONNECT_TIMEOUT=2 "$(pg_bindir)/psql" -h 127.0.0.1 -p "$PGB_PORT" \
			-U chatkit -d chatkit -qtAX -c 'select 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	cat "$dir/console.log" "$dir/pgbouncer.log" >&2 2>/dev/null
	die "pgbouncer did not start (see above)"
}

# pgb_stop: stop pgbouncer if pgb_start started it.
pgb_stop() {
	[[ -n ${pgb_pid:-} ]] || return 0
	kill "$pgb_pid" 2>/dev/null || true
	wait "$pgb_pid" 2>/dev/null || true
	pgb_pid=
}
