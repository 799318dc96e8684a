# proc.bash: free loopback ports, commands run as an unprivileged user,
# and processes stopped and waited for. Plain bash (no Bats), for the
# tests, scripts/demo and bench/.
#
# The scripts that source these files define die MESSAGE... (print the
# reason, return 1); a plain one is defined here when they have not.

if ! declare -F die >/dev/null; then
	die() {
		printf '%s\n' "$*" >&2
		return 1
	}
fi

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# random_free_port: a port in 20000..32767 nothing listens on now. Another
# process may take it first (make check -j), so callers retry on failure.
random_free_port() {
	local i port
	for ((i = 0; i < 100; i++)); do
		# Below Linux's ephemeral range (32768-60999), where client sockets
		# would take the port between our check and the bind.
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		if ! port_in_use "$port"; then
			printf '%s\n' "$port"
			return 0
		fi
	done
	die "no free TCP port found on 127.0.0.1"
}

# run_as USER CMD...: run CMD from / (the caller's directory may be
# closed to USER) and wait for it; as USER when we are root, as
# ourselves otherwise. initdb, PostgreSQL and pgbouncer refuse root.
run_as() {
	local user=$1
	local -a as=()
	shift
	((EUID != 0)) ||
		as=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups --)
	(cd / && exec "${as[@]}" "$@")
}

# spawn_as USER CMD...: run_as in the background. Sets SPAWNED_PID, the
# command's own pid (the subshell and setpriv exec it), to kill and wait
# for. CMD inherits the call's descriptors: redirect the call.
spawn_as() {
	local user=$1
	local -a as=()
	shift
	((EUID != 0)) ||
		as=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups --)
	(cd / && exec "${as[@]}" "$@") &
	# shellcheck disable=SC2034 # the caller's
	SPAWNED_PID=$!
}

# wait_gone PID [TENTHS]: wait until PID is gone, TENTHS tenths of a
# second at most (default 300); false if it still lives then.
wait_gone() {
	local pid=$1 i
	for ((i = 0; i < ${2:-300}; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null
}

# stop_pid PID [TENTHS]: TERM, wait TENTHS tenths of a second at most
# (default 100), then KILL; reap it when it is our child.
stop_pid() {
	local pid=$1
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" "${2:-100}" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
