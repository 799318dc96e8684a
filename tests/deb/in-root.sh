#!/bin/bash
# in-root.sh: the Debian package from source to purge, in a fresh Debian
# 12 root (the shared fresh-root tool, driven by tests/deb.bats). Prints
# one line a check, "ok N - what" or "not ok N - what", and "# ..."
# lines that say why.
#
# Usage, as root in a clone of the repository:
#   tests/deb/in-root.sh build      the build dependencies from
#       debian/control (apt-get build-dep) and lintian, autoreconf -fi,
#       ./configure, make deb; after the check lines, a line
#       "# base64 of NAME" and the .deb in base64
#   tests/deb/in-root.sh install [DEB]   DEB (default: the base64 block
#       of build's output, on stdin) installed with apt-get on a root
#       that has nothing of the build, PostgreSQL with the installed
#       migrations, the endpoint through Apache (CGI, then the FastCGI
#       pool started as its systemd units say), the gate in front of a
#       stand-in ChatKit server (its pool started as its units say), and
#       lighttpd (CGI and pool), then everything stopped and the package
#       purged
#
# Two roots, so that the install finds only what the package pulls in.
# Servers listen on free 127.0.0.1 ports, but for the gate's pool and
# the ChatKit server, which are on the ports the package names
# (127.0.0.1:9123 and 8000; the root shares the host's network, so they
# must be free there). systemd is not PID 1 in the root, so the pools
# are started by hand from their installed units
# (systemd-socket-activate hands the listening socket as stdin, as
# StandardInput=socket does).
set -u
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=checks.bash
source "$top/tests/deb/checks.bash"
die() {
	printf '%s\n' "$*" >&2
	return 1
}
now() { date +%s; }

work=$(mktemp -d /tmp/in-root.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$log" "$notes" "$work"' EXIT

apt_get() {
	apt-get -q -y -o DPkg::Lock::Timeout=300 "$@"
}

# --- build -------------------------------------------------------------

build_deps() {
	apt_get update &&
		apt_get install --no-install-recommends dpkg-dev &&
		apt_get build-dep --no-install-recommends "$top" &&
		apt_get install --no-install-recommends lintian
}

make_deb() {
	mkdir -p "$work/build" &&
		(cd "$top" && autoreconf -fi) &&
		(cd "$work/build" && "$top/configure" && make deb) &&
		ls "$work/build"/chatkit-session_*.deb
}

run_build() {
	local deb
	check "the build dependencies install from debian/control" build_deps
	check "make deb builds the package and lintian finds no error or warning" make_deb
	deb=$(find "$work/build" -maxdepth 1 -name "chatkit-session_*.deb" | head -n 1)
	if [[ -n $deb ]]; then
		echo "# base64 of ${deb##*/}"
		base64 "$deb"
	fi
	((failed == 0))
}

# --- install ---------------------------------------------------------------

conf=/etc/chatkit-session.conf
cgi=/usr/lib/cgi-bin/chatkit-session.cgi
units=/lib/systemd/system
user=user_deb_test

# unit_value UNIT KEY: KEY's value in the installed UNIT (the last one).
unit_value() {
	sed -n "s/^$2=//p" "$units/$1" | tail -n 1
}

install_deb() {
	apt_get update && apt_get install "$deb" &&
		dpkg-query -W -f='${Status}\n' chatkit-session multiwatch libcurl4 |
		grep -c 'install ok installed' | grep -qx 3
}

settings_mode() {
	[[ $(stat -c '%U:%G %a' "$conf") == 'root:www-data 640' ]]
}

settings_file() {
	local settings
	settings_mode || return
	# The same settings as the template (tests/conffile.bats holds that
	# to the program's), all commented out.
	settings=$(grep -o -E '^#[A-Z_]+=' "$conf" | sort)
	note "$(wc -l <<<"$settings") settings, commented out"
	[[ -n $settings && $settings == "$(grep -o -E '^#[A-Z_]+=' "$top/etc/chatkit-session.conf.in" | sort)" ]] &&
		! grep -q -E '^[A-Z_]+=' "$conf"
}

cache_dir() {
	[[ $(stat -c '%U:%G %a' /var/cache/chatkit-session) == 'www-data:www-data 700' ]]
}

gate_socket_link=/etc/systemd/system/sockets.target.wants/chatkit-session-gate.socket

enabled_units() {
	[[ -L /etc/systemd/system/sockets.target.wants/chatkit-session-fcgi.socket ]] &&
		[[ -L /etc/systemd/system/timers.target.wants/chatkit-session-cleanup.timer ]] &&
		[[ ! -e $gate_socket_link && ! -L $gate_socket_link ]] &&
		! ls /etc/apache2/conf-enabled/chatkit-session* 2>/dev/null &&
		! ls /etc/lighttpd/conf-enabled/*chatkit-session* 2>/dev/null
}

# gate_maintscripts: removal stops the gate's socket (when systemd runs);
# installation leaves it disabled, and its postinst starts it only
# through deb-systemd-invoke, which starts no disabled unit.
gate_maintscripts() {
	local info=/var/lib/dpkg/info/chatkit-session
	grep "deb-systemd-invoke stop 'chatkit-session-gate.socket'" "$info.prerm" &&
		! grep -E "systemctl .*(start|enable).*chatkit-session-gate" "$info.postinst" &&
		[[ $(systemctl is-enabled chatkit-session-gate.socket) == disabled ]]
}

units_verify() {
	local u exposure
	(cd "$units" && systemd-analyze verify --man=no chatkit-session-fcgi.socket \
		chatkit-session-fcgi.service chatkit-session-cleanup.service \
		chatkit-session-cleanup.timer chatkit-session-gate.socket \
		chatkit-session-gate.service) || return
	for u in chatkit-session-fcgi.service chatkit-session-cleanup.service \
		chatkit-session-gate.service; do
		exposure=$(systemd-analyze security --offline=true --no-pager "$units/$u" 2>&1 |
			sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
		note "$u: exposure $exposure"
		[[ -n $exposure ]] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || return
	done
}

database() {
	# shellcheck source=../../scripts/lib/pg.bash disable=SC1091
	source "$top/scripts/lib/pg.bash" &&
		pg_cluster_init "$work/pg" --no-sync 'fsync = off' &&
		pg_cluster_start "$work/pg" &&
		pg_chatkit_db "$PG_PORT" /usr/share/chatkit-session/sql &&
		pg_chatkit_user "$PG_PORT" "$user" &&
		[[ $(pg_psql "$PG_PORT" chatkit postgres -c "select count(*) from users") == 1 ]]
}

settings() {
	# shellcheck source=../helpers/tokens.bash disable=SC1091
	source "$top/tests/helpers/tokens.bash" &&
		tokens_setup "$work/keys" &&
		chmod 0755 "$work/keys" &&
		cat >>"$conf" <<-EOF
			CHATKIT_WORKFLOW_ID=workflow_deb_test
			CHATKIT_DATABASE_URL=$(pg_url "$PG_PORT")
			CLERK_JWT_KEY_FILE=$KEY_PUB
			CLERK_ISSUER=$TOKEN_ISSUER
		EOF
}

# post URL FILE: POST a fresh token to URL; status in FILE.status, body
# in FILE.
post() {
	local url=$1 out=$2 token
	token=$(mint_token --payload "$(claims "$user")") || return
	curl -sS -o "$out" -w '%{http_code}' --max-time 30 -X POST "$url" \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"deviceId":"deb-test"}' >"$out.status"
	note "$url: $(cat "$out.status") $(head -c 300 "$out")"
	[[ $(cat "$out.status") == 200 ]] && grep -q '"chatKitSessionId"' "$out"
}

get_page() {
	local url=$1
	[[ $(curl -sS -o "$work/page" -w '%{http_code}' --max-time 10 "$url") == 200 ]] &&
		grep -q 'chatkit-session.js' "$work/page"
}

# reinstall: dpkg's upgrade path (configure with the old version):
# the admin's settings, the file's owner and mode, the cache stay.
reinstall() {
	local before
	before=$(sha256sum "$conf") &&
		apt_get install --reinstall "$deb" &&
		[[ $(sha256sum "$conf") == "$before" ]] &&
		settings_mode && cache_dir
}

apache_start() {
	apache_port=$(random_free_port) &&
		printf 'Listen 127.0.0.1:%s\n' "$apache_port" >/etc/apache2/ports.conf &&
		a2enmod -q cgid && a2enconf -q chatkit-session &&
		apache2ctl configtest && apache2ctl start &&
		wait_port "$apache_port"
}

wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		port_in_use "$1" && return 0
		sleep 0.1
	done
	return 1
}

cleanup_service() {
	local exec env
	exec=$(unit_value chatkit-session-cleanup.service ExecStart)
	env=$(unit_value chatkit-session-cleanup.service Environment)
	# shellcheck disable=SC2086 # ExecStart's words
	run_as "$(unit_value chatkit-session-cleanup.service User)" env -i PATH=/usr/bin:/bin "$env" $exec
}

# pool_start NAME: the pool of NAME.socket and NAME.service as they
# say: the socket at ListenStream (a path, with SocketUser, SocketGroup
# and SocketMode; or ADDRESS:PORT); ExecStart as User and Group, with
# Environment; the socket as stdin, stdout to the log as
# StandardOutput=journal sends it elsewhere than the socket. Sets
# started_pid.
pool_start() {
	local name=$1 sock exec env u g i
	sock=$(unit_value "$name.socket" ListenStream)
	exec=$(unit_value "$name.service" ExecStart)
	env=$(unit_value "$name.service" Environment)
	u=$(unit_value "$name.service" User)
	g=$(unit_value "$name.service" Group)
	[[ $(unit_value "$name.service" StandardInput) == socket ]] || return
	note "$name: $exec as $u:$g on $sock"
	# systemd makes the socket as root; the service runs as User.
	[[ $sock != /* ]] || mkdir -p "${sock%/*}"
	# shellcheck disable=SC2086 # ExecStart's words
	(cd / && exec systemd-socket-activate --inetd -l "$sock" -- \
		setpriv --reuid="$u" --regid="$g" --clear-groups -- \
		env -i PATH=/usr/bin:/bin "$env" \
		/bin/sh -c 'exec "$@" >&2' sh $exec) >>"$work/$name.log" 2>&1 &
	started_pid=$!
	if [[ $sock != /* ]]; then
		wait_port "${sock##*:}"
		return
	fi
	for ((i = 0; i < 100; i++)); do
		[[ -S $sock ]] && break
		sleep 0.1
	done
	chown "$(unit_value "$name.socket" SocketUser):$(unit_value "$name.socket" SocketGroup)" "$sock" &&
		chmod "$(unit_value "$name.socket" SocketMode)" "$sock"
}

apache_pool() {
	a2disconf -q chatkit-session && a2enmod -q proxy_fcgi &&
		a2enconf -q chatkit-session-proxy-fcgi &&
		apache2ctl configtest && apache2ctl graceful && sleep 1 &&
		pool_start chatkit-session-fcgi && pool_pid=$started_pid
}

pool_processes() {
	local kids want
	# As many as the unit's multiwatch -f asks for.
	want=$(sed -n -E 's/^ExecStart=.*multiwatch -f ([0-9]+) .*/\1/p' \
		/lib/systemd/system/chatkit-session-fcgi.service)
	kids=$(pgrep -u www-data -x -f "$cgi" | wc -l)
	note "pool: $kids processes of $cgi as www-data under multiwatch ($(pgrep -x multiwatch)); the unit asks for ${want:-?}"
	[[ -n $want ]] && ((kids == want))
}

# pool_stop NAME PID: NAME.service stopped as systemctl stop would,
# with PID the pool's (pool_start's started_pid); no process of the
# program is left, and a Unix socket is removed as systemd would.
pool_stop() {
	local name=$1 pid=$2 sock
	sock=$(unit_value "$name.socket" ListenStream)
	# systemctl stop: SIGTERM to multiwatch alone (KillMode=mixed); it
	# asks its children to finish.
	[[ -n $pid && $(unit_value "$name.service" KillMode) == mixed ]] &&
		kill -TERM "$pid" && wait_gone "$pid" 300 &&
		! pgrep -f "$cgi" && { [[ $sock != /* ]] || rm -f "$sock"; }
}

gate_conf=/etc/apache2/conf-available/chatkit-session-gate.conf

# gate_start: what docs/debian.md has the admin do (enable the socket;
# the modules and the snippet, which refuses to load without them), the
# gate's pool as its units say, and the stand-in ChatKit server where
# the snippet's setting says. Both ports are the package's: they must be
# free on the host.
gate_start() {
	local server gate port i
	server=$(sed -n 's/^Define CHATKIT_SESSION_CHATKIT_SERVER //p' "$gate_conf")
	gate=$(unit_value chatkit-session-gate.socket ListenStream)
	note "gate: the pool on $gate, the ChatKit server on $server"
	[[ $server == 127.0.0.1:* && $gate == 127.0.0.1:* ]] || return
	standin_port=${server##*:}
	for port in "${gate##*:}" "$standin_port"; do
		if port_in_use "$port"; then
			note "127.0.0.1:$port is taken on the host (the root shares its network)"
			return 1
		fi
	done
	systemctl enable chatkit-session-gate.socket && [[ -L $gate_socket_link ]] || return
	a2enconf -q chatkit-session-gate || return
	if apache2ctl configtest >"$work/configtest" 2>&1; then
		note "apache2ctl configtest passed without the gate's modules"
		return 1
	fi
	grep -F 'a2enmod authnz_fcgi proxy proxy_http headers' "$work/configtest" || return
	a2enmod -q authnz_fcgi proxy proxy_http headers &&
		apache2ctl configtest && apache2ctl graceful && sleep 1 || return
	(cd / && exec python3 "$top/scripts/chatkit-standin" "$standin_port" \
		"$work/standin.requests") >"$work/standin.log" 2>&1 &
	standin_pid=$!
	wait_port "$standin_port" && pool_start chatkit-session-gate && gate_pid=$started_pid
}

# gate_request FILE [CURL-ARG...]: POST a ChatKit request to /chatkit
# through Apache; status in FILE.status, headers in FILE.headers, body
# in FILE. (The stand-in, like a ChatKit server, answers POST.)
gate_request() {
	local out=$1
	shift
	curl -sS -o "$out" -D "$out.headers" -w '%{http_code}' --max-time 30 \
		-X POST "http://127.0.0.1:$apache_port/chatkit" "$@" \
		-H 'Content-Type: application/json' -d '{"type":"threads.list","params":{}}' \
		>"$out.status"
	note "$(cat "$out.status") $(head -c 300 "$out")"
}

# gate_passes: the session id of an earlier POST as Bearer: the
# stand-in answers, and names the user the gate let through.
gate_passes() {
	local sid
	sid=$(sed -n 's/.*"chatKitSessionId": *"\([^"]*\)".*/\1/p' "$work/pool.json")
	[[ -n $sid ]] || return
	gate_request "$work/gate.json" -H "Authorization: Bearer $sid" &&
		[[ $(cat "$work/gate.json.status") == 200 ]] &&
		grep -q "\"userId\": *\"$user\"" "$work/gate.json"
}

# gate_refuses: no credential: 401 and the Bearer challenge, and the
# stand-in is not reached.
gate_refuses() {
	local before
	before=$(wc -l <"$work/standin.requests")
	gate_request "$work/gate401.json" &&
		[[ $(cat "$work/gate401.json.status") == 401 ]] &&
		grep -i '^WWW-Authenticate: Bearer realm="chatkit-session"' "$work/gate401.json.headers" &&
		[[ $(wc -l <"$work/standin.requests") == "$before" ]]
}

gate_stop() {
	kill -TERM "$standin_pid" && wait_gone "$standin_pid" 100 &&
		pool_stop chatkit-session-gate "$gate_pid"
}

lighttpd_start() {
	local c=/etc/lighttpd/lighttpd.conf
	apt_get install --no-install-recommends lighttpd || return
	lighttpd_port=$(random_free_port) || return
	sed -i -e "s/^server.port .*/server.port = $lighttpd_port\nserver.bind = \"127.0.0.1\"/" \
		-e '/use-ipv6.pl/d' "$c" &&
		lighty-enable-mod chatkit-session &&
		lighttpd -tt -f "$c" && lighttpd -f "$c" && wait_port "$lighttpd_port"
}

lighttpd_pool() {
	kill -TERM "$(cat /run/lighttpd.pid)" && sleep 1 &&
		lighty-disable-mod chatkit-session &&
		lighty-enable-mod chatkit-session-fastcgi-pool &&
		lighttpd -tt -f /etc/lighttpd/lighttpd.conf &&
		lighttpd -f /etc/lighttpd/lighttpd.conf && wait_port "$lighttpd_port" &&
		pool_start chatkit-session-fcgi && pool_pid=$started_pid
}

servers='chatkit-session|chatkit-standin|multiwatch|apache2|lighttpd|postgres'
stop_all() {
	local i
	pool_stop chatkit-session-fcgi "${pool_pid:-}"
	pool_stop chatkit-session-gate "${gate_pid:-}"
	[[ -z ${standin_pid:-} ]] || kill -TERM "$standin_pid" 2>/dev/null
	kill -TERM "$(cat /run/lighttpd.pid 2>/dev/null)" 2>/dev/null
	apache2ctl stop
	pg_cluster_stop "$work/pg"
	for ((i = 0; i < 100; i++)); do
		pgrep -f "$servers" >/dev/null || return 0
		sleep 0.1
	done
	pgrep -a -f "$servers"
	return 1
}

purge() {
	dpkg -L chatkit-session >"$work/files" &&
		apt_get purge chatkit-session
}

nothing_left() {
	local f left=0
	while read -r f; do
		[[ $f != /. ]] || continue
		[[ -e $f || -L $f ]] || continue
		# A directory another package also has (/etc, /usr/lib/cgi-bin)
		dpkg -S "$f" >/dev/null 2>&1 && continue
		note "left: $f"
		left=1
	done <"$work/files"
	for f in "$conf" /var/cache/chatkit-session /etc/apache2/conf-enabled/chatkit-session.conf \
		/etc/apache2/conf-enabled/chatkit-session-proxy-fcgi.conf \
		/etc/apache2/conf-enabled/chatkit-session-gate.conf "$gate_socket_link" \
		/etc/lighttpd/conf-enabled/50-chatkit-session.conf \
		/etc/lighttpd/conf-enabled/50-chatkit-session-fastcgi-pool.conf \
		/etc/systemd/system/sockets.target.wants/chatkit-session-fcgi.socket \
		/etc/systemd/system/timers.target.wants/chatkit-session-cleanup.timer; do
		[[ -e $f || -L $f ]] || continue
		note "left: $f"
		left=1
	done
	if dpkg-statoverride --list "$conf"; then
		note "left: the statoverride of $conf"
		left=1
	fi
	f=$(find /var/lib/apache2 /var/lib/systemd -name '*chatkit-session*' 2>/dev/null)
	[[ -z $f ]] || { note "left: $f"; left=1; }
	((left == 0)) && ! pgrep -a -f 'chatkit-session|multiwatch'
}

run_install() {
	deb=${1:-}
	if [[ -z $deb ]]; then
		# build's output: the name, then base64
		local name
		name=$(sed -n 's/^# base64 of //p' "$work/in")
		[[ -n $name ]] || die "no '# base64 of NAME' line on stdin" || return
		sed -n '/^# base64 of /,$p' "$work/in" | sed 1d | base64 -d >"$work/$name" || return
		deb=$work/$name
	fi
	[[ $deb == /* ]] || deb=$PWD/$deb
	echo "# installing $deb"
	check "apt-get install ./chatkit-session_*.deb pulls in what it needs" install_deb
	check "/etc/chatkit-session.conf is root:www-data 0640 with every setting commented out" settings_file
	check "/var/cache/chatkit-session is www-data's, mode 0700" cache_dir
	check "the pool's socket and the cleanup timer are enabled; the gate's socket and the server snippets are not" enabled_units
	check "the test tools install: PostgreSQL, curl, openssl, systemd, python3" \
		apt_get install --no-install-recommends postgresql curl openssl systemd procps python3
	check "removal stops the gate's socket; installation leaves it disabled, and deb-systemd-invoke starts no disabled unit" \
		gate_maintscripts
	check "systemd-analyze verifies the installed units and rates the three services 2.0 or better" units_verify
	check "the installed migrations apply to a new database" database
	check "the settings file takes the database, a key and the workflow" settings
	check "a reinstall keeps the edited settings file, its owner and mode, and the key cache" reinstall
	check "a2enconf chatkit-session: Apache starts" apache_start
	check "POST /api/chatkit/session through Apache's CGI answers 200 with a session" \
		post "http://127.0.0.1:$apache_port/api/chatkit/session" "$work/cgi.json"
	check "the demo page is at /chatkit-session/" get_page "http://127.0.0.1:$apache_port/chatkit-session/"
	check "the demo page's endpoint, /chatkit-session/api/chatkit/session, answers 200" \
		post "http://127.0.0.1:$apache_port/chatkit-session/api/chatkit/session" "$work/cgi2.json"
	check "the cleanup service's command runs as its user with the settings file" cleanup_service
	check "a2enconf chatkit-session-proxy-fcgi and the pool started as its units say" apache_pool
	check "POST /api/chatkit/session through Apache's mod_proxy_fcgi and the pool answers 200" \
		post "http://127.0.0.1:$apache_port/api/chatkit/session" "$work/pool.json"
	check "the pool runs as many processes of the program as its unit says, as www-data" pool_processes
	check "stopping the pool as systemd would ends every process of it" \
		pool_stop chatkit-session-fcgi "$pool_pid"
	check "the gate: its socket enabled, a2enconf chatkit-session-gate with its modules, its pool as its units say, a stand-in ChatKit server" \
		gate_start
	check "POST /chatkit with a session as Bearer reaches the ChatKit server with the user" gate_passes
	check "POST /chatkit without a session gets 401 with the Bearer challenge" gate_refuses
	check "stopping the gate's pool as systemd would ends every process of it" gate_stop
	apache2ctl stop >/dev/null 2>&1
	check "lighty-enable-mod chatkit-session: lighttpd starts" lighttpd_start
	check "POST /api/chatkit/session through lighttpd's CGI answers 200" \
		post "http://127.0.0.1:$lighttpd_port/api/chatkit/session" "$work/l-cgi.json"
	check "the demo page is at /chatkit-session/ under lighttpd" \
		get_page "http://127.0.0.1:$lighttpd_port/chatkit-session/"
	check "lighty-enable-mod chatkit-session-fastcgi-pool with the pool" lighttpd_pool
	check "POST /chatkit-session/api/chatkit/session through lighttpd and the pool answers 200" \
		post "http://127.0.0.1:$lighttpd_port/chatkit-session/api/chatkit/session" "$work/l-pool.json"
	check "everything stops: no process of the package or the servers runs" stop_all
	check "apt-get purge chatkit-session" purge
	check "after the purge nothing of the package is left" nothing_left
	((failed == 0))
}

case ${1:-} in
build) run_build ;;
install)
	[[ -n ${2:-} ]] || cat >"$work/in"
	run_install "${2:-}"
	;;
*)
	echo "usage: $0 build | install [DEB]" >&2
	exit 2
	;;
esac
