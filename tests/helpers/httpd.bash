# httpd.bash: a real web server (Apache or lighttpd) in front of the CGI,
# on an ephemeral loopback port, configured from the shipped templates.
#
#   setup_file() {
#       pg_start; tokens_setup "$BATS_FILE_TMPDIR/keys"
#       httpd_prepare apache-cgid        # or apache-cgi, lighttpd
#       httpd_config_default             # CHATKIT_CONFIG file for the CGI
#       httpd_start
#   }
#   teardown_file() { httpd_stop; pg_stop; }
#   teardown()      { httpd_log_tail; }  # shown only when a test fails
#
#   http_post --token "$tok" --body '{}'
#   assert_status 200                    # cgi.bash's assertions work here
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

HTTPD_USER=${HTTPD_USER:-nobody}
APACHE_BIN=${APACHE_BIN:-$(command -v apache2 || command -v httpd || echo apache2)}
APACHE_MODULES_DIR=${APACHE_MODULES_DIR:-/usr/lib/apache2/modules}
LIGHTTPD_BIN=${LIGHTTPD_BIN:-$(command -v lighttpd || echo lighttpd)}
HTTPD_START_TIMEOUT=${HTTPD_START_TIMEOUT:-30}
HTTP_TIMEOUT=${HTTP_TIMEOUT:-30}

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

# _httpd_as_user: print, one per line, the words that run a command as
# $HTTPD_USER when root (setpriv execs, so the background job's pid is the
# server's), with an environment emptied but for PATH.
_httpd_as_user() {
	if ((EUID == 0)); then
		printf '%s\n' setpriv "--reuid=$HTTPD_USER" \
			"--regid=$(id -g "$HTTPD_USER")" --clear-groups --
	fi
	printf '%s\n' env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
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

	# Not $BATS_FILE_TMPDIR: that is root-only 0700, closed to the server.
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
		printf '# written by %s\n' "${BATS_TEST_FILENAME##*/}"
		for kv in "$@"; do
			printf '%s\n' "$kv"
		done
	} >"$f" || return
	chmod 0640 "$f"
	_httpd_chown "$f"
}

# httpd_config_default: the configuration most tests want: workflow
# wf_test, the database of pg_start, the main public key of tokens_setup
# (copied, since its directory is closed to the server).
httpd_config_default() {
	cp "$KEY_PUB" "$HTTPD_ETC/clerk.pem" || return
	chmod 0644 "$HTTPD_ETC/clerk.pem"
	httpd_config \
		"CHATKIT_WORKFLOW_ID=${CGI_WORKFLOW_ID:-wf_test}" \
		"CHATKIT_DATABASE_URL=$CHATKIT_DATABASE_URL" \
		"CLERK_JWT_KEY_FILE=$HTTPD_ETC/clerk.pem"
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

# httpd_start: start the server on a free loopback port and wait, at most
# HTTPD_START_TIMEOUT seconds and only while its pid lives, until it
# answers HTTP. Another test file may grab the port first (make check -j):
# then it tries a new port, 5 attempts in all. Dumps the error log on
# failure.
httpd_start() {
	local attempt
	[[ -n ${HTTPD_DIR:-} ]] || die "httpd_start: call httpd_prepare first" || return
	_httpd_chown -R "$HTTPD_RUNDIR" "$HTTPD_ETC" || return
	if httpd_has_pool; then
		_httpd_pool_start || return
	fi
	for ((attempt = 1; attempt <= 5; attempt++)); do
		HTTPD_PORT=$(random_free_port) || return
		local words
		local -a cmd=()
		words=$(_httpd_as_user && _httpd_command) || return
		mapfile -t cmd <<<"$words"
		: >"$HTTPD_RUNDIR/error.log"
		_httpd_chown "$HTTPD_RUNDIR/error.log"
		# From /, which the server's user may enter; fd 3 closed, since
		# bats waits for every holder of it before it ends.
		(cd / && exec "${cmd[@]}") </dev/null >"$HTTPD_DIR/server.out" 2>&1 3>&- &
		HTTPD_PID=$!
		if _httpd_wait_ready; then
			export HTTPD_PORT HTTPD_PID
			export HTTPD_URL=http://127.0.0.1:$HTTPD_PORT
			export CHATKIT_URL=$HTTPD_URL/api/chatkit/session
			return 0
		fi
		_httpd_kill
		grep -qi 'address already in use' "$HTTPD_RUNDIR/error.log" \
			"$HTTPD_DIR/server.out" 2>/dev/null || break
	done
	httpd_dump_logs
	die "$HTTPD_KIND did not start and answer within ${HTTPD_START_TIMEOUT}s (see logs above)"
}

# _httpd_pool_start: HTTPD_POOL_SIZE processes of $HTTPD_CGI accepting on
# $HTTPD_RUNDIR/chatkit-session.sock, forked by spawn-fcgi (as
# $HTTPD_USER when root), their pids in $HTTPD_RUNDIR/pool.pid. The
# settings come from the server as FastCGI params, as in a deployment.
_httpd_pool_start() {
	local words
	local -a cmd=()
	command -v spawn-fcgi >/dev/null || die "spawn-fcgi is not installed" || return
	words=$(_httpd_as_user) || return
	mapfile -t cmd <<<"$words"
	(cd / && exec "${cmd[@]}" spawn-fcgi -s "$HTTPD_RUNDIR/chatkit-session.sock" \
		-M 0600 -F "${HTTPD_POOL_SIZE:-4}" -P "$HTTPD_RUNDIR/pool.pid" \
		-- "$HTTPD_CGI") </dev/null >"$HTTPD_DIR/pool.out" 2>&1 3>&- ||
		{ cat "$HTTPD_DIR/pool.out" >&2; die "spawn-fcgi failed"; return; }
}

# httpd_has_pool: true for the kinds whose FastCGI processes are a pool
# started before the server (apache-proxy-fcgi, lighttpd-fastcgi-pool).
httpd_has_pool() {
	[[ $HTTPD_KIND == apache-proxy-fcgi || $HTTPD_KIND == lighttpd-fastcgi-pool ]]
}

# httpd_pool_pids: the live processes of the pool.
httpd_pool_pids() {
	local p
	[[ -f ${HTTPD_RUNDIR:-}/pool.pid ]] || return 0
	# spawn-fcgi ends the file without a newline.
	while read -r p || [[ -n $p ]]; do
		[[ $p =~ ^[0-9]+$ && -d /proc/$p ]] || continue
		[[ $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) != Z ]] || continue
		printf '%s\n' "$p"
	done <"$HTTPD_RUNDIR/pool.pid"
}

# _httpd_pool_stop: TERM the pool's processes, wait for them (5 s), KILL.
_httpd_pool_stop() {
	local i pids
	pids=$(httpd_pool_pids)
	[[ -n $pids ]] || return 0
	# shellcheck disable=SC2086 # a list of pids
	kill -TERM $pids 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		[[ -n $(httpd_pool_pids) ]] || return 0
		sleep 0.1
	done
	# shellcheck disable=SC2046
	kill -KILL $(httpd_pool_pids) 2>/dev/null || true
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

# _httpd_kill: TERM the server and wait for it (10 s), then KILL.
_httpd_kill() {
	local i
	[[ -n ${HTTPD_PID:-} ]] || return 0
	kill -TERM "$HTTPD_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$HTTPD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$HTTPD_PID" 2>/dev/null; then
		kill -KILL "$HTTPD_PID" 2>/dev/null || true
	fi
	wait "$HTTPD_PID" 2>/dev/null || true
	HTTPD_PID=
}

# httpd_stop: stop the server (and a pool) and remove HTTPD_DIR.
httpd_stop() {
	_httpd_kill
	_httpd_pool_stop
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

# httpd_log_mark: remember the error log's size; httpd_log_tail prints
# what was written after it. Call from setup(), tail from teardown().
httpd_log_mark() {
	_httpd_log_mark=$(stat -c %s "$HTTPD_RUNDIR/error.log" 2>/dev/null || echo 0)
}

# httpd_log_tail: error log lines since httpd_log_mark (or all of it).
httpd_log_tail() {
	[[ -f ${HTTPD_RUNDIR:-}/error.log ]] || return 0
	printf '# ---- server error log ----\n'
	tail -c +"$((${_httpd_log_mark:-0} + 1))" "$HTTPD_RUNDIR/error.log" | sed 's/^/# /'
}

# http_request [OPTIONS] [PATH]: one request to the running server.
#   -X, --method M    method (default POST)
#   -d, --body TEXT   request body, Content-Type application/json
#   --body-file FILE  the same, from a file
#   -t, --token TOK   Authorization: Bearer TOK
#   -H, --header H    an extra request header (repeatable)
#   PATH              default /api/chatkit/session
# Sets $http_status, $http_headers (CR stripped, status line dropped),
# $http_body and $output, like cgi_call, and shows what ran.
http_request() {
	local method=POST path=/api/chatkit/session body_file= token=
	local -a extra=()
	while (($#)); do
		case $1 in
		-X | --method) method=$2; shift ;;
		-d | --body)
			body_file=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/body.XXXXXX")
			printf '%s' "$2" >"$body_file"
			shift
			;;
		--body-file) body_file=$2; shift ;;
		-t | --token) token=$2; shift ;;
		-H | --header) extra+=(-H "$2"); shift ;;
		/*) path=$1 ;;
		*) die "http_request: cannot read argument '$1'"; return ;;
		esac
		shift
	done
	local -a args=(-sS -X "$method" --max-time "$HTTP_TIMEOUT" -o - -D -)
	[[ -z $token ]] || args+=(-H "Authorization: Bearer $token")
	if [[ -n $body_file ]]; then
		args+=(-H 'Content-Type: application/json' --data-binary "@$body_file")
	elif [[ $method == POST ]]; then
		# As browsers do; lighttpd answers 411 to a POST without it.
		args+=(-H 'Content-Length: 0')
	fi
	args+=("${extra[@]}")

	local out rc=0
	out=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/http-out.XXXXXX")
	curl "${args[@]}" "$HTTPD_URL$path" >"$out" 2>"$out.err" || rc=$?
	_http_parse "$out"
	output=$http_body

	printf '# $ curl -X %s %s%s\n' "$method" "$HTTPD_URL" "$path"
	[[ -z $token ]] || printf '#   Authorization: Bearer %.24s...\n' "$token"
	[[ -z $body_file ]] || printf '#   body: %.300s\n' "$(<"$body_file")"
	printf '# -> curl exit %s, status %s\n' "$rc" "$http_status"
	printf '%s\n' "$http_headers" | sed 's/^/#   /'
	printf '#   %.2000s\n' "$http_body"
	[[ ! -s $out.err ]] || sed 's/^/# curl: /' "$out.err"
	((rc == 0)) || die "curl failed with exit status $rc"
}

# http_post ARGS...: http_request with the default method and path.
http_post() {
	http_request "$@"
}

# _http_parse FILE: split curl's -D - output (headers, blank line, body)
# into $http_status, $http_headers and $http_body. Interim 1xx responses
# are skipped.
_http_parse() {
	local line in_body=0 body=
	http_headers=
	http_status=none
	while IFS= read -r line || [[ -n $line ]]; do
		if ((in_body)); then
			body+=$line$'\n'
			continue
		fi
		line=${line%$'\r'}
		if [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
			http_status=${BASH_REMATCH[1]}
			http_headers=
			continue
		fi
		if [[ -z $line ]]; then
			[[ $http_status == 1?? ]] && continue
			in_body=1
			continue
		fi
		http_headers+=$line$'\n'
	done <"$1"
	http_headers=${http_headers%$'\n'}
	http_body=${body%$'\n'}
}
