#!/bin/bash
# in-nspawn.sh: the Debian package's systemd units run for real, by
# systemd as PID 1 in a Debian 12 container (systemd-nspawn), driven by
# tests/deb.bats after in-root.sh built the package. Prints one line a
# check, "ok N - what" or "not ok N - what", and "# ..." lines that say
# why.
#
# Usage, as root on the test machine (its own PID 1 need not be
# systemd): tests/deb/in-nspawn.sh DEB
#
# The container's root is made once with mmdebstrap (minbase, systemd,
# dbus) and kept in ~/.cache/chatkit-session/nspawn-root for 7 days; each
# run boots it with --volatile=overlay, so nothing a run does stays in
# it. --register=no and --keep-unit: the container needs no machined and
# no system bus on the host. Commands go in with nsenter; the pool's
# socket is reached from here through /proc/<container's PID 1>/root.
# The checks: the socket and the timer enabled and active after
# apt-get install, the pool started by its socket under its sandbox (as
# www-data, no capability, seccomp, a read-only system), the gate's pool
# started by its socket once the admin enables it, the cleanup run
# failing on the missing database and not on its sandbox, the exposure
# systemd-analyze gives, and after apt-get purge no unit, file, failed
# unit or process left.
set -u
export LC_ALL=C.UTF-8
top=$(cd "$(dirname "$0")/../.." && pwd)
deb=$(readlink -f "${1:?usage: in-nspawn.sh DEB}")
# shellcheck source=checks.bash
source "$top/tests/deb/checks.bash"
work=$(mktemp -d /tmp/in-nspawn.XXXXXX)
root=${XDG_CACHE_HOME:-$HOME/.cache}/chatkit-session/nspawn-root
nspawn=
leader=

stop() {
	trap - EXIT
	if [[ -n $nspawn ]] && kill -0 "$nspawn" 2>/dev/null; then
		# nspawn halts the container on SIGTERM.
		[[ -z $leader ]] || in_ct systemctl poweroff >/dev/null 2>&1
		for ((i = 0; i < 100; i++)); do
			kill -0 "$nspawn" 2>/dev/null || break
			((i != 50)) || kill -TERM "$nspawn" 2>/dev/null
			sleep 0.2
		done
		kill -KILL "$nspawn" 2>/dev/null
	fi
	rm -rf "$log" "$notes" "$work"
}
trap stop EXIT

# in_ct CMD...: CMD in the container, in all its namespaces.
in_ct() { nsenter -t "$leader" -a "$@"; }

make_root() {
	if [[ -x $root/lib/systemd/systemd && -n $(find "$root/.made" -mtime -7 2>/dev/null) ]]; then
		note "the root of $(date -r "$root/.made" +%F), from the cache"
		return 0
	fi
	rm -rf "$root" && mkdir -p "$(dirname "$root")" &&
		mmdebstrap --variant=minbase \
			--include=systemd,systemd-sysv,dbus,ca-certificates \
			bookworm "$root" && touch "$root/.made"
}

boot() {
	local i
	mkdir -p "$work/in" && cp "$deb" "$work/in/" || return
	setsid systemd-nspawn -D "$root" -M chatkit-deb-test -b --register=no \
		--keep-unit --volatile=overlay --bind-ro="$work/in:/mnt/in" \
		--console=pipe </dev/null >"$work/console.log" 2>&1 &
	nspawn=$!
	for ((i = 0; i < 150; i++)); do
		leader=$(pgrep -P "$nspawn" -x systemd) && break
		kill -0 "$nspawn" 2>/dev/null || break
		sleep 0.2
	done
	[[ -n $leader ]] || { cat "$work/console.log"; return 1; }
	for ((i = 0; i < 150; i++)); do
		in_ct true 2>/dev/null && break
		sleep 0.2
	done
	# degraded is fine here: a minimal root has units that fail.
	note "system: $(timeout 60 nsenter -t "$leader" -a systemctl is-system-running --wait 2>&1)"
}

install_deb() {
	in_ct sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends /mnt/in/*.deb'
}

enabled_and_active() {
	local u state
	for u in chatkit-session-fcgi.socket chatkit-session-cleanup.timer; do
		state="$(in_ct systemctl is-enabled "$u") $(in_ct systemctl is-active "$u")"
		note "$u: $state"
		[[ $state == 'enabled active' ]] || return
	done
	state=$(in_ct systemctl is-active chatkit-session-fcgi.service)
	note "chatkit-session-fcgi.service before a request: $state"
	[[ $state == inactive ]]
}

# The pool is started by its first request: the program answers, with no
# settings yet, its configuration error.
socket_starts_pool() {
	local out
	out=$(timeout 30 python3 "$top/tests/helpers/fcgi-client.py" --timeout 20 \
		"/proc/$leader/root/run/chatkit-session/chatkit-session.sock" \
		REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1) || return
	note "answer: $(head -n 1 <<<"$out")"
	[[ $out == 'Status: 500 Configuration Error'* ]]
}

# The processes of the program under multiwatch, each www-data with no
# capability, no new privileges, a seccomp filter, and / read-only.
pool_sandboxed() {
	local main pids p status want n=0
	main=$(in_ct systemctl show -P MainPID chatkit-session-fcgi.service)
	[[ $main =~ ^[1-9][0-9]*$ ]] || return
	# The container's PID 1 is $leader on this side: find the host pids
	# (multiwatch forks them all at once; give it a few seconds).
	want=$(sed -n -E 's/^ExecStart=.*multiwatch -f ([0-9]+) .*/\1/p' \
		"/proc/$leader/root/lib/systemd/system/chatkit-session-fcgi.service")
	[[ -n $want ]] || return
	for ((p = 0; p < 50; p++)); do
		pids=$(pgrep -P "$(pgrep -n -x multiwatch)")
		(($(wc -w <<<"$pids") >= want)) && break
		sleep 0.1
	done
	for p in $pids; do
		status=$(<"/proc/$p/status") || return
		[[ $(readlink "/proc/$p/exe") == /usr/lib/cgi-bin/chatkit-session.cgi ]] &&
			grep -q '^Uid:[[:space:]]33[[:space:]]' <<<"$status" &&
			grep -q '^CapEff:[[:space:]]0*$' <<<"$status" &&
			grep -q '^NoNewPrivs:[[:space:]]1$' <<<"$status" &&
			grep -q '^Seccomp:[[:space:]]2$' <<<"$status" ||
			{ note "process $p: $(grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' <<<"$status" | tr -s '\t\n' '  ')"; return 1; }
		grep -qE '^[^ ]+ / [^ ]+ ro[, ]' "/proc/$p/mounts" ||
			{ note "process $p: / is not read-only"; return 1; }
		n=$((n + 1))
	done
	note "$n processes of the program (the unit asks for ${want:-?}), uid 33, CapEff 0, NoNewPrivs 1, Seccomp 2, / read-only"
	[[ -n $want ]] && ((n == want))
}

# The gate's socket waits for the admin; enabled, its first check starts
# its pool, which refuses a request without a session before any
# database is asked.
gate_on_demand() {
	local state out
	state="$(in_ct systemctl is-enabled chatkit-session-gate.socket) $(in_ct systemctl is-active chatkit-session-gate.socket)"
	note "chatkit-session-gate.socket after install: $state"
	[[ $state == 'disabled inactive' ]] || return
	if ss -Hltn 'sport = :9123' | grep -q .; then
		note "127.0.0.1:9123 is taken on this machine (the container shares its network): $(ss -Hltnp 'sport = :9123')"
		return 1
	fi
	in_ct systemctl enable --now chatkit-session-gate.socket || return
	out=$(timeout 30 python3 "$top/tests/helpers/fcgi-client.py" --timeout 20 \
		--role authorizer --no-stdin 127.0.0.1:9123 \
		REQUEST_METHOD=POST GATEWAY_INTERFACE=CGI/1.1) || return
	note "answer: $(head -n 1 <<<"$out")"
	[[ $out == 'Status: 401'* ]] &&
		[[ $(in_ct systemctl show -P User chatkit-session-gate.service) == www-data ]] &&
		[[ $(in_ct systemctl is-active chatkit-session-gate.service) == active ]]
}

# With no database the cleanup fails on its connection (ENOENT on the
# socket path), not on its sandbox: SystemCallErrorNumber=EPERM would
# turn a denied call into "Operation not permitted".
cleanup_runs() {
	local journal
	in_ct systemctl start chatkit-session-cleanup.service
	[[ $(in_ct systemctl show -P ExecMainStatus chatkit-session-cleanup.service) == 1 ]] ||
		return
	journal=$(in_ct journalctl --no-pager -b -o cat -u chatkit-session-cleanup.service)
	note "$(grep 'database connection failed' <<<"$journal" | tail -n 1 | cut -c 1-160)"
	grep -q 'database connection failed: .*No such file or directory' <<<"$journal"
}

no_sandbox_error() {
	local bad
	bad=$(in_ct journalctl --no-pager -b -o cat |
		grep -E 'Operation not permitted|status=2[0-9][0-9]/|SIGSYS|code=killed|core-dump' |
		grep -i chatkit)
	[[ -z $bad ]] || { note "$bad"; return 1; }
}

exposure() {
	local line unit
	for unit in chatkit-session-fcgi.service chatkit-session-gate.service \
		chatkit-session-cleanup.service; do
		line=$(in_ct systemd-analyze security --no-pager "$unit" | tail -n 1)
		note "$unit: $line"
		[[ $line =~ exposure\ level\ for\ .*:\ ([0-9.]+)\  ]] || return
		awk -v e="${BASH_REMATCH[1]}" 'BEGIN { exit !(e <= 2.0) }' || return
	done
}

purge() {
	in_ct sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q chatkit-session'
}

nothing_left() {
	local left
	left=$(in_ct systemctl list-units --all --no-legend 'chatkit-session*')
	[[ -z $left ]] || { note "units: $left"; return 1; }
	left=$(in_ct systemctl list-unit-files --no-legend 'chatkit-session*')
	[[ -z $left ]] || { note "unit files: $left"; return 1; }
	left=$(in_ct sh -c 'ls -d /etc/chatkit-session.conf /var/cache/chatkit-session \
		/run/chatkit-session /usr/lib/cgi-bin/chatkit-session.cgi \
		/usr/share/chatkit-session 2>/dev/null')
	[[ -z $left ]] || { note "files: $left"; return 1; }
	left=$(pgrep -a -f 'chatkit-session.cgi|multiwatch')
	[[ -z $left ]] || { note "processes: $left"; return 1; }
}

check "a Debian 12 root with systemd (mmdebstrap)" make_root
check "systemd boots as PID 1 in the container" boot
if [[ -z $leader ]]; then
	echo "# the container did not boot: no further check"
	exit 1
fi
check "apt-get install the package under systemd" install_deb
check "the pool's socket and the cleanup timer are enabled and active" enabled_and_active
check "the first request on the socket starts the pool" socket_starts_pool
check "the pool runs its processes as www-data in its sandbox" pool_sandboxed
check "the gate's socket, once enabled, starts its pool on the first check" gate_on_demand
check "the cleanup service fails on the missing database, not on its sandbox" cleanup_runs
check "no sandbox error in the journal" no_sandbox_error
check "systemd-analyze security rates the three services 2.0 or better" exposure
check "apt-get purge under systemd" purge
check "after the purge no unit, failed unit, file or process is left" nothing_left
