# cgi.bash: run the built program as a web server would (RFC 3875), with
# no server: a clean environment, the body on stdin, output parsed.
#
#   cgi_call --token "$tok" --body '{"deviceId":"d1"}'
#   assert_status 200
#   assert_json .session.userId "$user"
#   assert_header Cache-Control '^no-store$'
#
# After cgi_call: $http_status (from "Status:", 200 when absent),
# $http_headers (one per line, CR stripped), $http_body, $cgi_stderr,
# $cgi_exit, and $output = $http_body for bats-assert's assert_output.
#
# Configuration: the array cgi_env (NAME=VALUE words) goes into every call
# of a test. When a test or its file's setup() has not set it, cgi_call
# uses cgi_env_defaults: workflow id, CLERK_JWT_KEY_FILE=$KEY_PUB,
# CHATKIT_DATABASE_URL from pg_start, and an empty CHATKIT_CONFIG file, so
# no stray configuration file is read.

CGI_TIMEOUT=${CGI_TIMEOUT:-30}

# FastCGI mode: a test file whose name starts with "fcgi-" (a link to the
# cgi-*.bats file of the same behaviours) or CGI_MODE=fastcgi runs every
# call through FastCGI processes of the same binary that live as long as
# the file, as a server keeps them: fcgi_start (from setup_file) starts
# FCGI_PROCESSES of them (default 1), each on its own socket (spawn-fcgi
# -n, as lighttpd or mod_fcgid start one), and fcgi_stop (teardown_file)
# stops them. cgi-fcgi sends each call's CGI variables as FastCGI params
# and the body as FCGI_STDIN. The processes start with an empty
# environment, so settings arrive as params, as Apache's SetEnv sends them
# to mod_fcgid, and a test that changes them makes the program read its
# configuration again. State one request leaves behind meets the next.
if [[ -z ${CGI_MODE:-} ]]; then
	case ${BATS_TEST_FILENAME##*/} in
	fcgi-*) CGI_MODE=fastcgi ;;
	*) CGI_MODE=cgi ;;
	esac
fi
CGI_WORKFLOW_ID=${CGI_WORKFLOW_ID:-wf_test}

# cgi_env_defaults: set cgi_env to the defaults described above.
cgi_env_defaults() {
	local conf=${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/chatkit-empty.conf
	[[ -e $conf ]] || : >"$conf"
	cgi_env=(
		"CHATKIT_WORKFLOW_ID=$CGI_WORKFLOW_ID"
		"CHATKIT_CONFIG=$conf"
	)
	[[ -z ${KEY_PUB:-} ]] || cgi_env+=("CLERK_JWT_KEY_FILE=$KEY_PUB")
	[[ -z ${CHATKIT_DATABASE_URL:-} ]] ||
		cgi_env+=("CHATKIT_DATABASE_URL=$CHATKIT_DATABASE_URL")
}

# cgi_call [OPTIONS] [NAME=VALUE...]
#   -X, --method M    REQUEST_METHOD (default POST)
#   -d, --body TEXT   request body on stdin, with CONTENT_LENGTH and
#                     CONTENT_TYPE=application/json (override by NAME=VALUE)
#   --body-file FILE  the same, from a file
#   -t, --token TOK   HTTP_AUTHORIZATION="Bearer TOK"
#   -u, --unset NAME  leave NAME out of the environment (from any source)
#   NAME=VALUE        add or override one variable
# Fails the test when the program exits non-zero, runs longer than
# $CGI_TIMEOUT seconds, or (CGI_VALGRIND=1) valgrind reports an error.
cgi_call() {
	local method=POST body_file= name
	local -A env=()
	local -a unset_names=() order=()

	[[ -x $CGI ]] || die "CGI binary not built or not executable: $CGI" || return
	if [[ $CGI_MODE == fastcgi && ${HAVE_FASTCGI:-yes} != yes ]]; then
		skip "built without FastCGI support (./configure --with-fastcgi)"
	fi
	declare -p cgi_env >/dev/null 2>&1 || cgi_env_defaults

	env[GATEWAY_INTERFACE]=CGI/1.1
	env[SERVER_PROTOCOL]=HTTP/1.1
	env[SERVER_SOFTWARE]=bats-cgi
	env[SERVER_NAME]=127.0.0.1
	env[SERVER_PORT]=80
	env[REMOTE_ADDR]=127.0.0.1
	env[SCRIPT_NAME]=/api/chatkit/session
	env[REQUEST_URI]=/api/chatkit/session
	env[QUERY_STRING]=
	local kv
	for kv in "${cgi_env[@]}"; do
		env[${kv%%=*}]=${kv#*=}
	done

	while (($#)); do
		case $1 in
		-X | --method) method=$2; shift ;;
		-d | --body)
			body_file=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/body.XXXXXX")
			printf '%s' "$2" >"$body_file"
			shift
			;;
		--body-file) body_file=$2; shift ;;
		-t | --token) env[HTTP_AUTHORIZATION]="Bearer $2"; shift ;;
		-u | --unset) unset_names+=("$2"); shift ;;
		[A-Za-z_]*=*) kv=$1; env[${kv%%=*}]=${kv#*=} ;;
		*) die "cgi_call: cannot read argument '$1'"; return ;;
		esac
		shift
	done
	env[REQUEST_METHOD]=$method
	if [[ -n $body_file ]]; then
		[[ -n ${env[CONTENT_LENGTH]+set} ]] ||
			env[CONTENT_LENGTH]=$(stat -c %s "$body_file")
		[[ -n ${env[CONTENT_TYPE]+set} ]] ||
			env[CONTENT_TYPE]=application/json
	fi
	for name in "${unset_names[@]}"; do
		unset 'env[$name]'
	done

	local -a envargs=() wrap=()
	for name in "${!env[@]}"; do
		envargs+=("$name=${env[$name]}")
	done
	if [[ ${CGI_VALGRIND:-0} == 1 ]]; then
		wrap=("$(command -v valgrind)" --error-exitcode=99
			--leak-check=full --errors-for-leak-kinds=definite -q)
	fi

	local out err
	out=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/cgi-out.XXXXXX")
	err=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/cgi-err.XXXXXX")
	cgi_exit=0
	if [[ $CGI_MODE == fastcgi ]]; then
		_fcgi_run "$out" "$err" "${body_file:-/dev/null}" "${envargs[@]}" ||
			cgi_exit=$?
	else
		timeout -k 5 "$CGI_TIMEOUT" env -i "${envargs[@]}" "${wrap[@]}" "$CGI" \
			<"${body_file:-/dev/null}" >"$out" 2>"$err" || cgi_exit=$?
	fi

	_cgi_parse "$out"
	cgi_stderr=$(<"$err")
	output=$http_body

	# What ran and what came back; bats shows it only when a test fails.
	printf '# $ %s %s (%s)\n' "$method" "${CGI##*/}" "$CGI_MODE"
	printf '#   %s\n' "${envargs[@]}" | LC_ALL=C sort | sed 's/\(Bearer [^ ]\{24\}\)[^ ]*/\1.../'
	[[ -z $body_file ]] || printf '#   body: %.300s\n' "$(<"$body_file")"
	printf '# -> exit %s, status %s\n' "$cgi_exit" "$http_status"
	printf '%s\n' "$http_headers" | sed 's/^/#   /'
	printf '#   %s\n' "$http_body"
	[[ -z $cgi_stderr ]] || printf '%s\n' "$cgi_stderr" | sed 's/^/# stderr: /'

	case $cgi_exit in
	0) ;;
	124 | 137) die "$CGI ran longer than $CGI_TIMEOUT s" ;;
	99) die "valgrind reported errors (see stderr above)" ;;
	86) die "the FastCGI process of $CGI died (see stderr above)" ;;
	*) die "$CGI exited with status $cgi_exit" ;;
	esac
}

FCGI_PROCESSES=${FCGI_PROCESSES:-1}

# _fcgi_dir: where the file's FastCGI processes keep socket, pid, stderr.
_fcgi_dir() {
	printf '%s/fcgi\n' "${BATS_FILE_TMPDIR:?FastCGI mode needs bats}"
}

# _fcgi_spawn I: start FastCGI process I (0-based) of the file on
# $dir/I.sock; its own stderr (what it logs outside a request) is
# appended to $dir/I.stderr. Waits until the program runs: spawn-fcgi
# listens before it execs it.
_fcgi_spawn() {
	local i=$1 dir pid n exe
	dir=$(_fcgi_dir)
	mkdir -p "$dir" || return
	exe=$(readlink -f "$CGI")
	rm -f "$dir/$i.sock" "$dir/$i.pid"
	# Only 0-2 open: bats waits for the holders of its own descriptors.
	(
		for n in /proc/"$BASHPID"/fd/*; do
			n=${n##*/}
			((n <= 2)) || eval "exec $n>&-"
		done
		exec env -i PATH=/usr/bin:/bin spawn-fcgi -n -s "$dir/$i.sock" -- "$exe"
	) </dev/null >/dev/null 2>>"$dir/$i.stderr" &
	pid=$!
	for ((n = 0; n < 1000; n++)); do
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$exe" ]] && break
		kill -0 "$pid" 2>/dev/null ||
			die "spawn-fcgi did not start $exe: $(cat "$dir/$i.stderr")" || return
		sleep 0.01
	done
	printf '%s\n' "$pid" >"$dir/$i.pid"
}

# fcgi_start: start the file's FastCGI processes (call from setup_file;
# fcgi_stop in teardown_file). Sets CGI_MODE, and FCGI_PID and
# FCGI_SOCKET for the first process.
fcgi_start() {
	local i dir
	[[ ${HAVE_FASTCGI:-yes} == yes ]] || return 0
	command -v spawn-fcgi >/dev/null && command -v cgi-fcgi >/dev/null ||
		die "FastCGI mode needs spawn-fcgi and cgi-fcgi (libfcgi-bin)" || return
	[[ -x $CGI ]] || die "CGI binary not built or not executable: $CGI" || return
	export CGI_MODE=fastcgi FCGI_PROCESSES
	dir=$(_fcgi_dir)
	for ((i = 0; i < FCGI_PROCESSES; i++)); do
		_fcgi_spawn "$i" || return
	done
	read -r FCGI_PID <"$dir/0.pid"
	export FCGI_PID FCGI_SOCKET=$dir/0.sock
}

# fcgi_stop: TERM the file's FastCGI processes, KILL what is left after 5 s.
fcgi_stop() {
	local f pid n dir
	dir=$(_fcgi_dir)
	for f in "$dir"/*.pid; do
		[[ -f $f ]] || continue
		pid=$(<"$f")
		kill -TERM "$pid" 2>/dev/null || continue
		for ((n = 0; n < 50; n++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	return 0
}

# _fcgi_run OUT ERR BODY NAME=VALUE...: one request to one of the file's
# FastCGI processes; what that process wrote to its own stderr meanwhile
# is appended to ERR after what it sent as FCGI_STDERR. The exit status
# is cgi-fcgi's, or 86 when the process died during the request. A
# process that died, or hung past CGI_TIMEOUT (then it is killed), is
# started again for the next call, as a server would.
_fcgi_run() {
	local out=$1 err=$2 body=$3 dir i pid mark rc=0
	shift 3
	dir=$(_fcgi_dir)
	[[ -f $dir/0.pid ]] ||
		die "FastCGI mode: the test file must call fcgi_start in setup_file" || return
	i=$((BASHPID % FCGI_PROCESSES))
	read -r pid <"$dir/$i.pid"
	if ! kill -0 "$pid" 2>/dev/null; then
		_fcgi_spawn "$i" || return
		read -r pid <"$dir/$i.pid"
	fi
	# Mostly empty (the program logs a request's lines as FCGI_STDERR):
	# then no process is spent on it.
	mark=0
	[[ ! -s $dir/$i.stderr ]] || mark=$(stat -c %s "$dir/$i.stderr")
	timeout -k 5 "$CGI_TIMEOUT" env -i "$@" cgi-fcgi -bind \
		-connect "$dir/$i.sock" <"$body" >"$out" 2>>"$err" || rc=$?
	[[ ! -s $dir/$i.stderr ]] || tail -c +"$((mark + 1))" "$dir/$i.stderr" >>"$err"
	if ! kill -0 "$pid" 2>/dev/null; then
		printf 'FastCGI process %s exited during the request\n' "$pid" >>"$err"
		return 86
	fi
	if ((rc == 124 || rc == 137)); then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	return "$rc"
}

# _cgi_parse FILE: split CGI output into headers and body.
_cgi_parse() {
	local line in_body=0 body=
	http_headers=
	http_status=200
	while IFS= read -r line || [[ -n $line ]]; do
		if ((in_body)); then
			body+=$line$'\n'
			continue
		fi
		line=${line%$'\r'}
		if [[ -z $line ]]; then
			in_body=1
			continue
		fi
		http_headers+=$line$'\n'
		if [[ ${line,,} =~ ^status:[[:space:]]*([0-9]{3}) ]]; then
			http_status=${BASH_REMATCH[1]}
		fi
	done <"$1"
	http_headers=${http_headers%$'\n'}
	http_body=${body%$'\n'}
	((in_body)) || http_status=malformed
}

# header_value NAME: the value of the first header NAME (any case).
header_value() {
	local line name want=${1,,}
	while IFS= read -r line; do
		name=${line%%:*}
		[[ ${name,,} == "$want" && $line == *:* ]] || continue
		line=${line#*:}
		line=${line#"${line%%[![:space:]]*}"}
		printf '%s\n' "$line"
		return 0
	done <<<"$http_headers"
	return 1
}

# assert_status CODE: the last cgi_call answered CODE.
assert_status() {
	assert_that "$http_status" == "$1" "HTTP status (body: $http_body)"
}

# assert_header NAME REGEX: header NAME is present and its value matches.
assert_header() {
	local v
	if ! v=$(header_value "$1"); then
		batslib_print_kv_single_or_multi 8 'header' "$1" \
			'headers' "$http_headers" |
			batslib_decorate 'header missing' | fail
		return
	fi
	assert_that "$v" =~ "$2" "header $1"
}

# refute_header NAME: header NAME is absent.
refute_header() {
	local v
	if v=$(header_value "$1"); then
		batslib_print_kv_single_or_multi 8 'header' "$1" 'value' "$v" |
			batslib_decorate 'header should be absent' | fail
	fi
}

# json_field FILTER: jq -r FILTER applied to the last response body.
json_field() {
	jq -r "$1" <<<"$http_body"
}

# assert_json FILTER EXPECTED: the body is JSON and FILTER gives EXPECTED.
assert_json() {
	local v
	if ! v=$(jq -r "$1" <<<"$http_body" 2>&1); then
		batslib_print_kv_single_or_multi 8 'filter' "$1" \
			'body' "$http_body" 'jq' "$v" |
			batslib_decorate 'body is not JSON' | fail
		return
	fi
	assert_that "$v" == "$2" "JSON $1"
}

# assert_log_has TEXT: the program's stderr holds TEXT verbatim, and no
# byte outside printable ASCII but the newlines ending its lines (what a
# client sent, escaped, cannot act on a terminal or reorder a line).
assert_log_has() {
	[[ $cgi_stderr == *"$1"* ]] ||
		fail "stderr lacks '$1'; it was: $cgi_stderr"
	if printf '%s\n' "$cgi_stderr" | LC_ALL=C grep -q '[^[:print:]]'; then
		printf '%s\n' "$cgi_stderr" | od -An -c |
			fail "stderr has bytes outside printable ASCII:"
	fi
}

# assert_error STATUS TITLE [MESSAGE-REGEX]: an error response of that
# shape: status, {"error": TITLE, "message": ...}.
assert_error() {
	assert_status "$1"
	assert_json .error "$2"
	assert_json '.message | type' string
	[[ -z ${3:-} ]] || assert_that "$(json_field .message)" =~ "$3" "JSON .message"
}
