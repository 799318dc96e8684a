# pgstop.bash: a database that stops answering altogether. SIGSTOP on
# the postmaster (in a pgbouncer-* file, on pgbouncer too): its listening
# socket still takes connections (the kernel completes the handshake),
# but nothing answers them, nor a cancel request. Load after
# helpers/common; call resume_database from teardown, before anything
# that needs the server.

# _stop_targets: the postmaster's pid and, behind pgbouncer, pgbouncer's.
_stop_targets() {
	local pid
	read -r pid <"$PG_TEST_DIR/data/postmaster.pid" ||
		die "no postmaster.pid in $PG_TEST_DIR/data" || return
	printf '%s\n' "$pid"
	[[ -z ${PGB_PID:-} ]] || printf '%s\n' "$PGB_PID"
}

# stop_database_after SECONDS [COMMAND...]: in the background, SIGSTOP
# the targets SECONDS from now, once COMMAND succeeds (when given; tried
# every 50 ms, at most 5 s, then they are stopped anyway). Sets stopper,
# its pid.
stop_database_after() {
	local delay=$1 i
	local -a pids
	shift
	mapfile -t pids < <(_stop_targets)
	((${#pids[@]} > 0)) || die "no process to stop" || return
	(
		sleep "$delay"
		for ((i = 0; $# > 0 && i < 100; i++)); do
			"$@" && break
			sleep 0.05
		done
		kill -STOP "${pids[@]}"
	) </dev/null >/dev/null 2>&1 3>&- &
	stopper=$!
}

# resume_database: once the stop that was asked for has come (bounded
# above), SIGCONT for the targets.
resume_database() {
	local -a pids
	if [[ -n ${stopper:-} ]]; then
		wait "$stopper" 2>/dev/null || true
		stopper=
	fi
	mapfile -t pids < <(_stop_targets 2>/dev/null)
	((${#pids[@]} == 0)) || kill -CONT "${pids[@]}" 2>/dev/null || true
}
