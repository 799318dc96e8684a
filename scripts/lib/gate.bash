# gate.bash: the gate in front of a ChatKit server, for scripts/demo,
# the tests and bench/: the program's pool in the FastCGI AUTHORIZER role
# on a loopback TCP port (spawn-fcgi, as apache/chatkit-session-gate.conf
# says), the shipped Apache snippet filled for it, and the stand-in
# ChatKit server (scripts/chatkit-standin). Plain bash (no Bats); loads
# proc.bash and httpd.bash.
#
#   gate_apache_site SITE GATE_PORT STANDIN_PORT CGIDIR SYSCONFDIR
#                              append the snippet to SITE, its ports
#                              replaced, with the modules it needs
#   gate_pool_start ADDRESS SIZE PROGRAM CONFIG PIDFILE LOG
#                              (httpd_pool_stop PIDFILE stops it)
#   standin_start PORT LOGFILE OUT   sets STANDIN_PID
#   standin_stop

_gate_lib=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=httpd.bash
source "$_gate_lib/httpd.bash"
unset _gate_lib

# gate_apache_modules: LoadModule lines for the modules the gate's
# snippet names, beside standalone.conf's; each guarded, since a kind of
# httpd.bash may load one already.
gate_apache_modules() {
	local m
	for m in authn_core:mod_authn_core.so authz_user:mod_authz_user.so \
		authnz_fcgi:mod_authnz_fcgi.so headers:mod_headers.so \
		proxy:mod_proxy.so proxy_http:mod_proxy_http.so; do
		printf '<IfModule !%s_module>\n\tLoadModule %s_module "%s/%s"\n</IfModule>\n' \
			"${m%%:*}" "${m%%:*}" "$APACHE_MODULES_DIR" "${m#*:}"
	done
}

# gate_apache_site SITE GATE_PORT STANDIN_PORT CGIDIR SYSCONFDIR: append
# apache/chatkit-session-gate.conf.in to SITE with the pool's and the
# ChatKit server's ports in place of the snippet's 9123 and 8000, and the
# modules it needs before it.
gate_apache_site() {
	local site=$1 gport=$2 sport=$3 tmp=$1.gate
	fill_template "$TOP_SRCDIR/apache/chatkit-session-gate.conf.in" "$tmp" \
		"CGIDIR=$4" "SYSCONFDIR=$5" || return
	sed -i -e "s|127\.0\.0\.1:9123|127.0.0.1:$gport|g" \
		-e "s|127\.0\.0\.1:8000|127.0.0.1:$sport|g" "$tmp" || return
	grep -q "127\.0\.0\.1:$gport/" "$tmp" && grep -q "127\.0\.0\.1:$sport/" "$tmp" ||
		die "apache/chatkit-session-gate.conf.in no longer names 127.0.0.1:9123 and 127.0.0.1:8000" ||
		return
	{
		printf '\n# The gate (apache/chatkit-session-gate.conf.in, ports filled)\n'
		gate_apache_modules
		cat "$tmp"
	} >>"$site" || return
	rm -f "$tmp"
}

# gate_pool_start ADDRESS SIZE PROGRAM CONFIG PIDFILE LOG: httpd_pool_spawn's
# pool on 127.0.0.1:ADDRESS (a port: Apache's mod_authnz_fcgi reaches its
# authorizer over TCP only) or on the Unix socket ADDRESS (a path, for
# lighttpd), with CHATKIT_CONFIG=CONFIG: an authorizer gets nothing from
# the server's SetEnv.
gate_pool_start() {
	httpd_pool_spawn "$1" "$2" "$3" "$5" "$6" "CHATKIT_CONFIG=$4"
}

# standin_start PORT LOGFILE OUT: scripts/chatkit-standin on
# 127.0.0.1:PORT, one JSON line per request in LOGFILE, its own output in
# OUT; waits (10 s at most, while it lives) until it answers. Sets
# STANDIN_PID.
standin_start() {
	local port=$1 i
	python3 "$TOP_SRCDIR/scripts/chatkit-standin" "$port" "$2" \
		</dev/null >"$3" 2>&1 3>&- &
	STANDIN_PID=$!
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null --max-time 1 -X OPTIONS \
			"http://127.0.0.1:$port/chatkit" && return 0
		kill -0 "$STANDIN_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$3" >&2
	standin_stop
	die "scripts/chatkit-standin did not answer on 127.0.0.1:$port"
}

# standin_stop: stop standin_start's stand-in.
standin_stop() {
	stop_pid "${STANDIN_PID:-}" 50
	STANDIN_PID=
}
