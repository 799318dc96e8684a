# jwks.bash: the tests' own HTTPS JWKS server on loopback
# (helpers/jwks-server.py), with a throwaway CA made by the openssl CLI.
#
#   setup_file() { tokens_setup ...; jwks_setup "$BATS_FILE_TMPDIR/jwks"; jwks_start; }
#   teardown_file() { jwks_stop; }
#   url=$(jwks_case c1)          # serves $JWKS_MAIN_FILE at a URL of its own
#   jwks_mode c1 invalid         # good invalid oversized slow status500
#                                # redirect-same redirect-other reset
#   jwks_count c1                # requests the server has had for c1
#
# jwks_setup exports JWKS_STATE (the server's directory), JWKS_CA_FILE
# (the CA that signed its certificate) and JWKS_WRONG_CA_FILE (another
# CA); jwks_start exports JWKS_PORT.

# _jwks_cert NAME CA: a key and certificate for localhost and 127.0.0.1
# signed by CA (ca or wrong-ca) in $JWKS_STATE.
_jwks_cert() {
	local name=$1 ca=$2 d=$JWKS_STATE
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$d/$name.key" -out "$d/$name.csr" \
		-subj "/CN=localhost" 2>/dev/null || return
	printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		'basicConstraints=CA:FALSE' 'extendedKeyUsage=serverAuth' >"$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" \
		-CAcreateserial -days 2 -extfile "$d/$name.ext" \
		-out "$d/$name.crt" 2>/dev/null
}

# jwks_setup DIR: both CAs and both server certificates in DIR.
jwks_setup() {
	local ca
	export JWKS_STATE=${1:?jwks_setup DIR}
	mkdir -p "$JWKS_STATE" || return
	for ca in ca wrong-ca; do
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$JWKS_STATE/$ca.key" -out "$JWKS_STATE/$ca.crt" \
			-days 2 -subj "/CN=chatkit test $ca" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
			die "openssl could not make the test CA $ca" || return
	done
	_jwks_cert server ca && _jwks_cert wrong-server wrong-ca ||
		die "openssl could not make the server certificates" || return
	export JWKS_CA_FILE=$JWKS_STATE/ca.crt
	export JWKS_WRONG_CA_FILE=$JWKS_STATE/wrong-ca.crt
	echo good >"$JWKS_STATE/cert"
}

# jwks_start: the server on a free loopback port (again on the same port
# after jwks_stop, when JWKS_PORT is set).
jwks_start() {
	local i
	: "${JWKS_PORT:=$(random_free_port)}" || return
	export JWKS_PORT
	rm -f "$JWKS_STATE/server.ready"
	python3 "$TOP_SRCDIR/tests/helpers/jwks-server.py" "$JWKS_PORT" "$JWKS_STATE" \
		</dev/null >>"$JWKS_STATE/server.log" 2>&1 3>&- &
	local pid=$!
	for ((i = 0; i < 500; i++)); do
		[[ -s $JWKS_STATE/server.ready ]] && port_in_use "$JWKS_PORT" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	cat "$JWKS_STATE/server.log" >&2
	die "the JWKS server did not start on port $JWKS_PORT"
}

# jwks_server_pid: the running server's pid (it writes server.ready),
# whichever test process started it; fails when none runs.
jwks_server_pid() {
	local pid
	pid=$(cat "$JWKS_STATE/server.ready" 2>/dev/null) || return 1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

# jwks_stop: stop the server and wait until it is gone.
jwks_stop() {
	local i pid
	pid=$(jwks_server_pid) || return 0
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 250; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$JWKS_STATE/server.ready"
	return 0
}

# jwks_running: true when the server is up.
jwks_running() {
	jwks_server_pid >/dev/null
}

# jwks_case NAME [JWKS]: a case served from the file JWKS (default
# $JWKS_MAIN_FILE) in mode good; prints its URL.
jwks_case() {
	local name=${1:?jwks_case NAME} src=${2:-$JWKS_MAIN_FILE}
	mkdir -p "$JWKS_STATE/$name" || return
	cp "$src" "$JWKS_STATE/$name/jwks.json" || return
	echo good >"$JWKS_STATE/$name/mode"
	echo 0 >"$JWKS_STATE/$name/count"
	printf 'https://localhost:%s/%s/jwks.json\n' "$JWKS_PORT" "$name"
}

# jwks_serve NAME JWKS: from now on the case serves the file JWKS.
jwks_serve() {
	cp "$2" "$JWKS_STATE/$1/jwks.json"
}

# jwks_mode NAME MODE: how the case answers from now on.
jwks_mode() {
	echo "$2" >"$JWKS_STATE/$1/mode"
}

# jwks_delay NAME SECONDS: wait that long before answering.
jwks_delay() {
	echo "$2" >"$JWKS_STATE/$1/delay"
}

# jwks_cert good|wrong: the certificate new connections get.
jwks_cert() {
	echo "$1" >"$JWKS_STATE/cert"
}

# jwks_count NAME: requests the case has had.
jwks_count() {
	local n
	n=$(<"$JWKS_STATE/$1/count") || return
	printf '%s\n' "$n"
}

# publishable_key HOST: a Clerk publishable key whose Frontend API is HOST.
publishable_key() {
	printf 'pk_test_%s\n' "$(printf '%s$' "$1" | openssl base64 -A)"
}
