# lookup.bash: a database host given by name, for cgi-lookup.bats and the
# files of one mode beside it. The program runs in a mount namespace of
# its own (unshare -m, so root only) where /etc/resolv.conf names a
# loopback nameserver that takes queries and never answers, and
# /etc/hosts names localhost and $NAMED_HOST; in FastCGI mode one
# long-lived process, started in that namespace, whose connection is kept.
# Load after helpers/common, helpers/session and helpers/timeout
# (unavailable_within).

SILENT_HOST=db.chatkit.test # not in the namespace's hosts file: DNS
NAMED_HOST=pg.chatkit.test  # in it, as 127.0.0.1

# _silent_nameserver DIR: in the background, a UDP socket on port 53 of a
# loopback address of its own that reads nothing and answers nothing
# (so no ICMP error either) for 10 minutes at most. Sets NS_ADDR, NS_PID.
_silent_nameserver() {
	local dir=$1 i n
	for ((i = 0; i < 20; i++)); do
		NS_ADDR=127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
		python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
time.sleep(600)' "$NS_ADDR" </dev/null >"$dir/ns.out" 2>&1 3>&- &
		NS_PID=$!
		for ((n = 0; n < 100; n++)); do
			grep -q ready "$dir/ns.out" && return 0
			kill -0 "$NS_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$NS_PID" 2>/dev/null
		wait "$NS_PID" 2>/dev/null
	done
	die "no silent nameserver: $(cat "$dir/ns.out")"
}

# _in_namespace_cmd: the words that run a command in a new mount
# namespace with the file's resolv.conf and hosts bound over the system's.
_in_namespace_cmd() {
	printf '%s\n' "$(command -v unshare)" -m /bin/sh -c \
		'"$0" --bind "$1" /etc/resolv.conf && "$0" --bind "$2" /etc/hosts && shift 3 && exec "$@"' \
		"$(command -v mount)" "$NS_DIR/resolv.conf" "$NS_DIR/hosts" --
}

# _fcgi_start_in_namespace: the file's FastCGI process as fcgi_start
# starts it (socket and pid in the same places), inside the namespace.
_fcgi_start_in_namespace() {
	local dir exe pid n
	local -a ns
	dir=$(_fcgi_dir)
	exe=$(readlink -f "$REAL_CGI")
	mkdir -p "$dir" || return
	mapfile -t ns < <(_in_namespace_cmd)
	(
		for n in /proc/"$BASHPID"/fd/*; do
			n=${n##*/}
			((n <= 2)) || eval "exec $n>&-"
		done
		exec env -i PATH=/usr/bin:/bin "${ns[@]}" spawn-fcgi -n \
			-s "$dir/0.sock" -- "$exe"
	) </dev/null >/dev/null 2>>"$dir/0.stderr" &
	pid=$!
	for ((n = 0; n < 1000; n++)); do
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$exe" ]] && break
		kill -0 "$pid" 2>/dev/null ||
			die "the FastCGI process did not start: $(cat "$dir/0.stderr")" || return
		sleep 0.01
	done
	printf '%s\n' "$pid" >"$dir/0.pid"
	export CGI_MODE=fastcgi FCGI_PROCESSES=1 FCGI_PID=$pid FCGI_SOCKET=$dir/0.sock
}

setup_file() {
	local -a ns
	((EUID == 0)) || skip "a mount namespace and port 53 need root"
	command -v unshare >/dev/null && unshare -m true 2>/dev/null ||
		skip "no mount namespaces here (unshare -m)"
	command -v python3 >/dev/null || skip "no python3 for the silent nameserver"
	export NS_DIR=$BATS_FILE_TMPDIR/ns
	mkdir -p "$NS_DIR"
	_silent_nameserver "$NS_DIR"
	export NS_PID
	printf 'nameserver %s\n' "$NS_ADDR" >"$NS_DIR/resolv.conf"
	printf '127.0.0.1 localhost %s\n' "$NAMED_HOST" >"$NS_DIR/hosts"
	# The program, always in the namespace; as a CGI through this script.
	export REAL_CGI=$CGI
	mapfile -t ns < <(_in_namespace_cmd)
	{
		printf '#!/bin/sh\n'
		printf 'exec'
		printf " '%s'" "${ns[@]}" "$(readlink -f "$REAL_CGI")"
		printf '\n'
	} >"$NS_DIR/chatkit-session.cgi"
	chmod 0755 "$NS_DIR/chatkit-session.cgi"
	export CGI=$NS_DIR/chatkit-session.cgi
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	# TLS offered, not required: sslmode=disable connects too.
	pg_start --ssl
	sed -i '/^hostnossl all all all reject$/d' "$PG_TEST_DIR/data/pg_hba.conf"
	pg_sql 'select pg_reload_conf()' >/dev/null
	[[ $CGI_MODE != fastcgi ]] || _fcgi_start_in_namespace
}

teardown_file() {
	fcgi_stop
	pg_stop
	[[ -z ${NS_PID:-} ]] || kill "$NS_PID" 2>/dev/null || true
}

setup() {
	cgi_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
}

# url HOST [KEYWORD=VALUE...]: the test database's URL with another host.
url() {
	local host=$1
	shift
	printf 'host=%s port=%s dbname=chatkit user=chatkit' "$host" "$PG_TEST_PORT"
	(($# == 0)) || printf ' %s' "$@"
	printf '\n'
}

# fcgi_children_fds: "CHILDREN FDS" of the file's FastCGI process.
fcgi_children_fds() {
	local pid children
	read -r pid <"$(_fcgi_dir)/0.pid"
	children=$(cat /proc/"$pid"/task/*/children)
	printf '%s %s\n' "$(wc -w <<<"$children")" "$(ls /proc/"$pid"/fd | wc -l)"
}

