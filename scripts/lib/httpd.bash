# httpd.bash: a real web server (Apache or lighttpd) in front of the CGI,
# on a loopback port, configured from the shipped templates, for the
# tests, scripts/demo and bench/. Plain bash (no Bats); loads proc.bash.
# Paths: TOP_SRCDIR (default: this checkout), CGI (the program).
#
# A throwaway server:
#
#   httpd_prepare apache-cgid        # or apache-cgi, lighttpd, ...
#   httpd_config NAME=VALUE...       # CHATKIT_CONFIG file for the CGI
#   httpd_start
#   ...
#   httpd_stop
#
# Kinds: apache-cgid (mpm_event + mod_cgid), apache-cgi (mpm_prefork +
# mod_cgi), lighttpd (mod_cgi), and the persistent FastCGI mode:
# apache-fcgid (mpm_event + mod_fcgid), lighttpd-fastcgi (mod_fastcgi),
# apache-proxy-fcgi (mpm_event + mod_proxy_fcgi in front of a pool of
# HTTPD_POOL_SIZE processes, default 4, started by spawn-fcgi on one Unix
# socket before the server and stopped with it), lighttpd-fastcgi-pool
# (mod_fastcgi in front of such a pool). The server runs from a clean environment,
# so the CGI sees only what the configuration gives it. As root it runs as
# $HTTPD_USER (default nobody), as a shared host would.
#
# After httpd_prepare: HTTPD_DIR (temp dir, removed by httpd_stop; holds
# copies of www/ and of $CGI, HTTPD_CGI, which the server runs),
# HTTPD_RUNDIR (pid, logs, sockets), HTTPD_ETC (the @SYSCONFDIR@ of the
# filled snippet), HTTPD_SITE (the filled snippet the server includes; a
# test may overwrite it before httpd_start). After httpd_start: HTTPD_PORT,
# HTTPD_URL, HTTPD_PID, CHATKIT_URL.
#
# A server of another layout (scripts/demo): set HTTPD_KIND, HTTPD_DIR
# (where httpd.conf and server.out go), HTTPD_RUNDIR and HTTPD_SITE
# yourself, then httpd_start PORT and httpd_stop (which removes only a
# directory of httpd_prepare's).

_httpd_lib=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=proc.bash
source "$_httpd_lib/proc.bash"
: "${TOP_SRCDIR:=$(cd "$_httpd_lib/../.." && pwd)}"
unset _httpd_lib

HTTPD_USER=${HTTPD_USER:-nobody}
APACHE_BIN=${APACHE_BIN:-$(command -v apache2 || command -v httpd || echo /usr/sbin/apache2)}
APACHE_MODULES_DIR=${APACHE_MODULES_DIR:-/usr/lib/apache2/modules}
LIGHTTPD_BIN=${LIGHTTPD_BIN:-$(command -v lighttpd || echo lighttpd)}
HTTPD_START_TIMEOUT=${HTTPD_START_TIMEOUT:-30}
# The servers' environment: a PATH and nothing else.
_HTTPD_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)

# fill_template IN OUT NAME=VALUE...: copy IN to OUT replacing each
# @NAME@ by VALUE (values must not contain '|'). Fails if a placeholder
# of IN is left unfilled, so a template and its users cannot drift apart.
fill_template() {
	local in=$1 out=$2 kv
	local -a script=()
	shift 2
	for kv in "$@"; do
		script+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${script[@]}" "$in" >"$out" || die "cannot fill $in" || return
	if grep -n '@[A-Z_]*@' "$out" >&2; then
		die "unfilled placeholders in $out (from $in), see above"
	fi
}

# httpd_prepare KIND: make HTTPD_DIR, copy this checkout's www/ and $CGI
# into it, and fill the shipped snippet for KIND with those copies and
# HTTPD_ETC.
httpd_prepare() {
	HTTPD_KIND=${1:?httpd_prepare apache-cgid|apache-cgi|lighttpd}
	local snippet
	case $HTTPD_KIND in
	apache-cgid | apache-cgi) snippet=$TOP_SRCDIR/apache/chatkit-session.conf.in ;;
	apache-fcgid) snippet=$TOP_SRCDIR/apache/chatkit-session-fcgid.conf.in ;;
	apache-proxy-fcgi) snippet=$TOP_SRCDIR/apache/chatkit-session-proxy-fcgi.conf.in ;;
	lighttpd) snippet=$TOP_SRCDIR/lighttpd/chatkit-session.conf.in ;;
	lighttpd-fastcgi) snippet=$TOP_SRCDIR/lighttpd/chatkit-session-fastcgi.conf.in ;;
	lighttpd-fastcgi-pool) snippet=$TOP_SRCDIR/lighttpd/chatkit-session-fastcgi-pool.conf.in ;;
	*) die "httpd_prepare: unknown kind '$HTTPD_KIND'"; return ;;
	esac
	[[ -x $CGI ]] || die "CGI binary not built or not executable: $CGI" || return

	# In /tmp, open to the server's user (a caller's temp directory may
	# be closed to it).
	HTTPD_DIR=$(mktemp -d /tmp/chatkit-httpd.XXXXXX) || die "mktemp failed" || return
	chmod 0755 "$HTTPD_DIR"
	HTTPD_RUNDIR=$HTTPD_DIR/run
	HTTPD_ETC=$HTTPD_DIR/etc
	HTTPD_SITE=$HTTPD_DIR/site.conf
	mkdir -p "$HTTPD_RUNDIR" "$HTTPD_ETC" || return
	export HTTPD_KIND HTTPD_DIR HTTPD_RUNDIR HTTPD_ETC HTTPD_SITE

	# What the server serves, copied in: the checkout may lie under a
	# directory its user cannot enter (/root, a mktemp -d directory).
	mkdir -p "$HTTPD_DIR/www" "$HTTPD_DIR/cgi-bin" || return
	cp -R "$TOP_SRCDIR/www/." "$HTTPD_DIR/www/" || return
	HTTPD_CGI=$HTTPD_DIR/cgi-bin/chatkit-session.cgi
	cp "$CGI" "$HTTPD_CGI" || return
	chmod -R a+rX "$HTTPD_DIR/www" "$HTTPD_DIR/cgi-bin" || return
	export HTTPD_CGI

	fill_template "$snippet" "$HTTPD_SITE" \
		"CGIDIR=$HTTPD_DIR/cgi-bin" \
		"WWWDIR=$HTTPD_DIR/www" \
		"SYSCONFDIR=$HTTPD_ETC" \
		"SOCKETDIR=$HTTPD_RUNDIR"
}

# httpd_config NAME=VALUE...: write $HTTPD_ETC/chatkit-session.conf, the
# file the snippet names in CHATKIT_CONFIG, readable by the server only.
httpd_config() {
	local f=$HTTPD_ETC/chatkit-session.conf kv
	{
		printf '# written by %s\n' "${0##*/}"
		for kv in "$@"; do
			printf '%s\n' "$kv"
		done
	} >"$f" || return
	chmod 0640 "$f"
	_httpd_chown "$f"
}

# _httpd_chown PATH...: give PATH to the server's user when we are root.
_httpd_chown() {
	((EUID == 0)) || return 0
	chown "$HTTPD_USER:$(id -g "$HTTPD_USER")" "$@"
}

# _httpd_command: print the server command line for HTTPD_KIND, one word
# per line, after filling the standalone template for HTTPD_PORT.
_httpd_command() {
	local conf
	case $HTTPD_KIND in
	apache-*)
		conf=$HTTPD_DIR/httpd.conf
		fill_template "$TOP_SRCDIR/apache/standalone.conf.in" "$conf" \
			"RUNDIR=$HTTPD_RUNDIR" "LISTEN=127.0.0.1:$HTTPD_PORT" \
			"MODULESDIR=$APACHE_MODULES_DIR" "INCLUDE=$HTTPD_SITE" || return
		printf '%s\n' "$APACHE_BIN" -f "$conf" -DFOREGROUND
		[[ $HTTPD_KIND != apache-cgi ]] || printf '%s\n' -DPREFORK
		[[ $HTTPD_KIND != apache-fcgid ]] || printf '%s\n' -DFCGID
		[[ $HTTPD_KIND != apache-proxy-fcgi ]] || printf '%s\n' -DPROXY_FCGI
		;;
	lighttpd*)
		conf=$HTTPD_DIR/lighttpd.conf
		fill_template "$TOP_SRCDIR/lighttpd/standalone.conf.in" "$conf" \
			"RUNDIR=$HTTPD_RUNDIR" "PORT=$HTTPD_PORT" \
			"INCLUDE=$HTTPD_SITE" || return
		printf '%s\n' "$LIGHTTPD_BIN" -D -f "$conf"
		;;
	esac
}

# httpd_start [PORT]: start the server on PORT, or on a free loopback
# port, and wait, at most HTTPD_START_TIMEOUT seconds and only while its
# pid lives, until it answers HTTP. Without PORT, when another process
# grabbed the port first (make check -j), it tries a new one, 5 attempts
# in all. HTTPD_RUNDIR (and HTTPD_ETC, when set) go to the server's
# user. Dumps the error log on failure.
httpd_start() {
	local attempt words fixed=${1:-}
	local -a cmd=()
	[[ -n ${HTTPD_DIR:-} ]] || die "httpd_start: call httpd_prepare first" || return
	_httpd_chown -R "$HTTPD_RUNDIR" ${HTTPD_ETC:+"$HTTPD_ETC"} || return
	if httpd_has_pool; then
		_httpd_pool_start || return
	fi
	for ((attempt = 1; attempt <= 5; attempt++)); do
		HTTPD_PORT=${fixed:-$(random_free_port)} || return
		words=$(_httpd_command) || return
		mapfile -t cmd <<<"$words"
		: >"$HTTPD_RUNDIR/error.log"
		_httpd_chown "$HTTPD_RUNDIR/error.log"
		# fd 3 closed: a Bats caller would wait for every holder of it.
		spawn_as "$HTTPD_USER" "${_HTTPD_ENV[@]}" "${cmd[@]}" \
			</dev/null >"$HTTPD_DIR/server.out" 2>&1 3>&-
		HTTPD_PID=$SPAWNED_PID
		if _httpd_wait_ready; then
			export HTTPD_PORT HTTPD_PID
			export HTTPD_URL=http://127.0.0.1:$HTTPD_PORT
			export CHATKIT_URL=$HTTPD_URL/api/chatkit/session
			return 0
		fi
		_httpd_kill
		[[ -z $fixed ]] || break
		grep -qi 'address already in use' "$HTTPD_RUNDIR/error.log" \
			"$HTTPD_DIR/server.out" 2>/dev/null || break
	done
	httpd_dump_logs
	die "$HTTPD_KIND did not start and answer within ${HTTPD_START_TIMEOUT}s (see logs above)"
}

# httpd_pool_spawn ADDRESS SIZE PROGRAM PIDFILE LOG [NAME=VALUE...]:
# SIZE processes of PROGRAM forked by spawn-fcgi (as $HTTPD_USER when
# root), accepting on the Unix socket ADDRESS (a path; mode 0600) or on
# 127.0.0.1:ADDRESS (a port), from the server's clean environment and
# NAME=VALUE. Their pids go to PIDFILE (made here, for the pool's user
# to write), spawn-fcgi's output to LOG.
httpd_pool_spawn() {
	local size=$2 program=$3 pidfile=$4 log=$5
	local -a listen=(-a 127.0.0.1 -p "$1")
	[[ $1 != /* ]] || listen=(-s "$1" -M 0600)
	command -v spawn-fcgi >/dev/null || die "spawn-fcgi is not installed" || return
	: >"$pidfile" && _httpd_chown "$pidfile" || return
	run_as "$HTTPD_USER" "${_HTTPD_ENV[@]}" "${@:6}" spawn-fcgi \
		"${listen[@]}" -F "$size" -P "$pidfile" -- "$program" \
		</dev/null >"$log" 2>&1 3>&- ||
		{ cat "$log" >&2; die "spawn-fcgi failed on $1"; return; }
}

# _httpd_pool_start: HTTPD_POOL_SIZE processes of $HTTPD_CGI accepting on
# $HTTPD_RUNDIR/chatkit-session.sock, their pids in $HTTPD_RUNDIR/pool.pid.
# The settings come from the server as FastCGI params, as in a
# deployment.
_httpd_pool_start() {
	httpd_pool_spawn "$HTTPD_RUNDIR/chatkit-session.sock" "${HTTPD_POOL_SIZE:-4}" \
		"$HTTPD_CGI" "$HTTPD_RUNDIR/pool.pid" "$HTTPD_DIR/pool.out"
}

# httpd_has_pool: true for the kinds whose FastCGI processes are a pool
# started before the server (apache-proxy-fcgi, lighttpd-fastcgi-pool).
httpd_has_pool() {
	[[ $HTTPD_KIND == apache-proxy-fcgi || $HTTPD_KIND == lighttpd-fastcgi-pool ]]
}

# httpd_pool_pids [PIDFILE]: the live processes a spawn-fcgi pid file
# names (default: the pool's, $HTTPD_RUNDIR/pool.pid).
httpd_pool_pids() {
	local p f=${1:-${HTTPD_RUNDIR:-}/pool.pid}
	[[ -f $f ]] || return 0
	# spawn-fcgi ends the file without a newline.
	while read -r p || [[ -n $p ]]; do
		[[ $p =~ ^[0-9]+$ && -d /proc/$p ]] || continue
		[[ $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) != Z ]] || continue
		printf '%s\n' "$p"
	done <"$f"
}

# httpd_pool_stop [PIDFILE]: TERM the processes PIDFILE names (default:
# the pool's), wait for them (5 s), KILL. PIDFILE stays, for a caller to
# see that what it names is gone.
httpd_pool_stop() {
	local i pids
	pids=$(httpd_pool_pids "$@")
	[[ -n $pids ]] || return 0
	# shellcheck disable=SC2086 # a list of pids
	kill -TERM $pids 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		[[ -n $(httpd_pool_pids "$@") ]] || return 0
		sleep 0.1
	done
	# shellcheck disable=SC2046
	kill -KILL $(httpd_pool_pids "$@") 2>/dev/null || true
}

# _httpd_wait_ready: true once the server answers any HTTP status; false
# as soon as its process is gone or the time is up.
_httpd_wait_ready() {
	local deadline=$((SECONDS + HTTPD_START_TIMEOUT)) code
	while ((SECONDS < deadline)); do
		kill -0 "$HTTPD_PID" 2>/dev/null || return 1
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			"http://127.0.0.1:$HTTPD_PORT/" 2>/dev/null) || true
		[[ $code == 000 || -z $code ]] || return 0
		sleep 0.1
	done
	return 1
}

# _httpd_kill: TERM the server and wait for it (30 s), then KILL.
_httpd_kill() {
	[[ -n ${HTTPD_PID:-} ]] || return 0
	stop_pid "$HTTPD_PID" 300
	HTTPD_PID=
}

# httpd_stop: stop the server (and a pool), and remove HTTPD_DIR if
# httpd_prepare made it.
httpd_stop() {
	_httpd_kill
	httpd_pool_stop
	case ${HTTPD_DIR:-} in
	/tmp/chatkit-httpd.*) rm -rf -- "$HTTPD_DIR" ;;
	esac
}

# httpd_dump_logs: the server's error log and console output, to stderr.
httpd_dump_logs() {
	local f
	for f in "$HTTPD_RUNDIR/error.log" "$HTTPD_DIR/server.out"; do
		[[ -s $f ]] || continue
		printf '# ---- %s ----\n' "$f" >&2
		sed 's/^/# /' "$f" >&2
	done
}
