# httpd.bash: a real web server (Apache or lighttpd) in front of the CGI
# for the tests: scripts/lib/httpd.bash (httpd_prepare, httpd_config,
# httpd_start, httpd_stop, the kinds; read it), the configuration most
# tests want, the error log of a failed test, and requests.
#
#   setup_file() {
#       pg_start; tokens_setup "$BATS_FILE_TMPDIR/keys"
#       httpd_prepare apache-cgid        # or apache-cgi, lighttpd
#       httpd_config_default             # CHATKIT_CONFIG file for the CGI
#       httpd_start
#   }
#   teardown_file() { httpd_stop; pg_stop; }
#   setup()         { httpd_log_mark; }
#   teardown()      { httpd_log_tail; }  # shown only when a test fails
#
#   http_post --token "$tok" --body '{}'
#   assert_status 200                    # cgi.bash's assertions work here

# shellcheck source=../../scripts/lib/httpd.bash
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/httpd.bash"

HTTP_TIMEOUT=${HTTP_TIMEOUT:-30}

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
