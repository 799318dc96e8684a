# gate.bash: the program in the FastCGI AUTHORIZER role, and the web
# servers that put it in front of a ChatKit server. Load after
# helpers/common and helpers/session:
#
#   gate_call --token "$session_id"       one AUTHORIZER request to the
#   assert_status 200                     file's FastCGI process
#
# After gate_call: $http_status, $http_headers, $http_body (as after
# cgi_call), $gate_out (a file: the whole FCGI_STDOUT), $gate_stderr,
# and $took (milliseconds).

GATE_CLIENT=$(dirname "${BASH_SOURCE[0]}")/fcgi-client.py

# gate_env_defaults: the settings of a gate call (the array gate_env):
# the database and an empty CHATKIT_CONFIG; no workflow id and no key,
# which the gate does without.
gate_env_defaults() {
	local conf=${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/chatkit-empty.conf
	[[ -e $conf ]] || : >"$conf"
	gate_env=("CHATKIT_CONFIG=$conf")
	[[ -z ${CHATKIT_DATABASE_URL:-} ]] ||
		gate_env+=("CHATKIT_DATABASE_URL=$CHATKIT_DATABASE_URL")
}

# gate_call [--token ID] [--authorization VALUE] [--address A]
#           [--timeout S] [NAME=VALUE...]: one AUTHORIZER request as
# Apache's mod_authnz_fcgi sends it: no FCGI_STDIN record at all, the
# variables of a ChatKit POST (REQUEST_METHOD, CONTENT_LENGTH and
# CONTENT_TYPE of a body the gate must never wait for), gate_env, then
# NAME=VALUE over them. The address is $FCGI_SOCKET unless given; the
# timeout (default 15 s) bounds the request.
gate_call() {
	local address=${FCGI_SOCKET:-} timeout=15 rc=0 start
	local -a params=(GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1
		REQUEST_METHOD=POST REQUEST_URI=/chatkit SCRIPT_NAME=/chatkit
		CONTENT_LENGTH=64 CONTENT_TYPE=application/json
		REMOTE_ADDR=127.0.0.1)
	declare -p gate_env >/dev/null 2>&1 || gate_env_defaults
	params+=("${gate_env[@]}")
	while (($#)); do
		case $1 in
		-t | --token) params+=("HTTP_AUTHORIZATION=Bearer $2"); shift ;;
		--authorization) params+=("HTTP_AUTHORIZATION=$2"); shift ;;
		--address) address=$2; shift ;;
		--timeout) timeout=$2; shift ;;
		[A-Za-z_]*=*) params+=("$1") ;;
		*) die "gate_call: cannot read argument '$1'"; return ;;
		esac
		shift
	done
	[[ -n $address ]] || die "gate_call: no address (fcgi_start sets FCGI_SOCKET)" || return
	local out=$BATS_TEST_TMPDIR/gate-out err=$BATS_TEST_TMPDIR/gate-err
	start=$(now_ms)
	timeout -k 5 $((${timeout%.*} + 5)) python3 "$GATE_CLIENT" --role authorizer \
		--no-stdin --timeout "$timeout" "$address" "${params[@]}" \
		>"$out" 2>"$err" || rc=$?
	took=$(($(now_ms) - start))
	gate_out=$out
	gate_stderr=$(<"$err")
	_cgi_parse "$out"
	output=$http_body

	printf '# $ gate %s (%s ms, client exit %s)\n' "$address" "$took" "$rc"
	printf '#   %s\n' "${params[@]}" | LC_ALL=C sort |
		sed 's/\(Bearer .\{8\}\)[^ ]*/\1.../'
	printf '# -> status %s\n' "$http_status"
	printf '%s\n' "$http_headers" | sed 's/^/#   /'
	printf '#   %s\n' "$http_body"
	[[ -z $gate_stderr ]] || printf '%s\n' "$gate_stderr" | sed 's/^/# stderr: /'
	((rc == 0)) || die "fcgi-client.py exited with status $rc"
}

# new_session USER [DEVICE]: a session of USER made through the endpoint
# (POST, as the browser does): sets session_id (its chatKitSessionId) and
# session_expires (its expiresAt). Not to be called in $(...).
new_session() {
	local dev=${2:-dev-$RANDOM}
	session_call "$1" --body "{\"deviceId\":\"$dev\"}"
	[[ $http_status == 200 ]] ||
		die "no session for $1: $http_status $http_body" || return
	session_id=$(json_field .session.chatKitSessionId)
	session_expires=$(json_field .session.expiresAt)
}

# assert_gate_refusal STATUS TITLE: an authorizer's refusal: status,
# the JSON error shape, Cache-Control: no-store, JSON content type, and
# the Status line first (lighttpd drops the headers before it).
assert_gate_refusal() {
	assert_error "$1" "$2"
	assert_header Cache-Control '^no-store$'
	assert_header Content-Type '^application/json$'
	assert_that "${http_headers%%$'\n'*}" =~ "^Status: $1 " "first header line"
}
