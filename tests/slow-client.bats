#!/usr/bin/env bats
# slow-client.bats: a client that sends its body slowly, or stops
# mid-body, holds a process a few seconds at most, whatever the answer:
# the program by itself as a CGI and as one FastCGI process, then behind
# Apache mod_proxy_fcgi, mod_fcgid and lighttpd mod_fastcgi with one
# process each, where a signed-in user's request meanwhile is answered.
#
# The bound asserted (8 s) is wide of the program's own (3 s), since a
# loaded machine is slow to start processes; a process held for as long
# as the client sends (12 to 20 s here) still fails it.

bats_require_minimum_version 1.5.0

# As in apache-proxy-fcgi.bats: a user of its own for the servers.
HTTPD_USER=backup

load helpers/common
load helpers/session
load helpers/httpd
load helpers/server-cases

HELD_MAX_MS=8000 # how long a slow client may hold a process, with slack

# assert_held_briefly START WHAT: at most HELD_MAX_MS since START (now_ms);
# the figure goes in the log.
assert_held_briefly() {
	local ms=$(($(now_ms) - $1))
	printf '# %s: %d ms\n' "$2" "$ms"
	assert_near 0 "$ms" "$HELD_MAX_MS" "$2 (ms)"
}

setup_file() {
	tokens_setup "$BATS_FILE_TMPDIR/keys" && pg_start 3>&-
}

teardown_file() {
	pg_stop
}

setup() {
	cgi_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
	started_server=
}

teardown() {
	local pid
	for pid in ${bg_pids:-}; do
		kill "$pid" 2>/dev/null || true
	done
	if [[ -n $started_server ]]; then
		httpd_log_tail
		httpd_stop
	fi
	fcgi_stop
}

# trickle CHUNKS [UNTIL]: 100 bytes every 0.5 s, CHUNKS times, then
# silence with the output still open until the file UNTIL exists, 20 s at
# most in all; the writer of a slow body.
trickle() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf '%0100d' 0 || return 0
		sleep 0.5
	done
	for ((i = $1 * 5; i < 200; i++)); do
		[[ -z ${2:-} || ! -e $2 ]] || return 0
		sleep 0.1
	done
}

# trickle_cgi CHUNKS: print the path of a wrapper that runs $CGI with its
# stdin fed by trickle CHUNKS. Use: CGI=$(trickle_cgi 40) cgi_call ...
trickle_cgi() {
	local w=$BATS_TEST_TMPDIR/trickle-cgi
	{
		printf '#!/bin/bash\n'
		# Bats waits for the holders of its descriptors: not the writer.
		printf 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-\n'
		declare -f trickle
		printf 'exec < <(trickle %d 2>/dev/null </dev/null)\n' "$1"
		printf 'exec %q\n' "$CGI"
	} >"$w"
	chmod +x "$w"
	printf '%s\n' "$w"
}

# slow_cgi CHUNKS [cgi_call ARGS...]: cgi_call with the body trickling in
# (CONTENT_LENGTH and CONTENT_TYPE given in ARGS); asserts the program
# was done within HELD_MAX_MS.
slow_cgi() {
	local chunks=$1 start
	shift
	start=$(now_ms)
	CGI=$(trickle_cgi "$chunks") cgi_call "$@"
	assert_held_briefly "$start" "the program ran"
}

# --- the program as a CGI ---------------------------------------------------

@test "a 1 MiB CONTENT_LENGTH trickling in gets 413, and the program ends within seconds" {
	slow_cgi 40 CONTENT_LENGTH=1048576 CONTENT_TYPE=application/json
	assert_error 413 'Payload Too Large'
}

@test "a body trickling in without a token gets 401, and the program ends within seconds" {
	slow_cgi 40 CONTENT_LENGTH=60000 CONTENT_TYPE=application/json
	assert_error 401 Unauthorized
}

@test "a PUT whose body trickles in gets 405, and the program ends within seconds" {
	slow_cgi 40 -X PUT CONTENT_LENGTH=60000 CONTENT_TYPE=application/json
	assert_error 405 'Method Not Allowed'
}

@test "a text/plain body trickling in gets 415, and the program ends within seconds" {
	slow_cgi 40 CONTENT_LENGTH=60000 CONTENT_TYPE=text/plain
	assert_error 415 'Unsupported Media Type'
}

@test "a signed-in POST whose body trickles in gets 400 within seconds" {
	local tok
	tok=$(valid_token "$user")
	slow_cgi 40 --token "$tok" CONTENT_LENGTH=60000 CONTENT_TYPE=application/json
	assert_error 400 'Bad Request'
	assert_rows "$user" 0
}

@test "a signed-in POST whose body stops mid-way gets 400 within seconds" {
	local tok
	tok=$(valid_token "$user")
	slow_cgi 3 --token "$tok" CONTENT_LENGTH=1000 CONTENT_TYPE=application/json
	assert_error 400 'Bad Request'
	assert_rows "$user" 0
}

@test "a body that comes in pieces in good time is read whole" {
	local w=$BATS_TEST_TMPDIR/pieces-cgi tok
	tok=$(valid_token "$user")
	# {"deviceId":"d-pieces"} in three writes half a second apart.
	cat >"$w" <<-EOF
		#!/bin/bash
		exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
		exec < <(printf '{"device'; sleep 0.5; printf 'Id":"d-'; sleep 0.5; printf 'pieces"}')
		exec $(printf '%q' "$CGI")
	EOF
	chmod +x "$w"
	CGI=$w cgi_call --token "$tok" CONTENT_LENGTH=23 CONTENT_TYPE=application/json
	assert_status 200
	assert_json .session.deviceId d-pieces
}

# --- one FastCGI process, no server -----------------------------------------

# fcgi_one: start one FastCGI process of $CGI (fcgi_stop in teardown).
fcgi_one() {
	[[ ${HAVE_FASTCGI:-yes} == yes ]] ||
		skip "built without FastCGI support (./configure --with-fastcgi)"
	FCGI_PROCESSES=1
	_fcgi_spawn 0
}

# fcgi_slow CHUNKS OUT NAME=VALUE...: in the background, a request to the
# file's FastCGI process through cgi-fcgi with its body fed by trickle
# CHUNKS; OUT gets the answer, OUT.ms the ms until cgi-fcgi ended (the
# request's end). Its pid goes in bg_pids.
fcgi_slow() {
	local chunks=$1 out=$2 dir
	shift 2
	dir=$(_fcgi_dir)
	(
		exec 3>&-
		start=$(now_ms)
		trickle "$chunks" "$out.ms" 2>/dev/null </dev/null | {
			timeout 30 env -i GATEWAY_INTERFACE=CGI/1.1 \
				SERVER_PROTOCOL=HTTP/1.1 "${cgi_env[@]}" "$@" \
				cgi-fcgi -bind -connect "$dir/0.sock" >"$out" 2>/dev/null
			echo $(($(now_ms) - start)) >"$out.ms"
		}
	) &
	bg_pids+=" $!"
}

# fcgi_slow_wait OUT: wait (bounded) until fcgi_slow's request has ended.
fcgi_slow_wait() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -s $1.ms ]] && return 0
		sleep 0.1
	done
	die "the slow request did not end within 30 s"
}

@test "FastCGI: a 1 MiB body trickling in gets 413, and the process serves the next request within seconds" {
	local out=$BATS_TEST_TMPDIR/slow start tok
	fcgi_one
	fcgi_slow 40 "$out" REQUEST_METHOD=POST CONTENT_LENGTH=1048576 \
		CONTENT_TYPE=application/json
	sleep 1
	tok=$(valid_token "$user")
	start=$(now_ms)
	CGI_MODE=fastcgi cgi_call --token "$tok"
	assert_status 200
	assert_held_briefly "$start" "the signed-in request took"
	fcgi_slow_wait "$out"
	_cgi_parse "$out"
	assert_status 413
	printf '# the slow request ended after %d ms\n' "$(<"$out.ms")"
	assert_near 0 "$(<"$out.ms")" "$HELD_MAX_MS" "ms until the slow request ended"
}

@test "FastCGI: a signed-in POST whose body stops mid-way gets 400, and the process serves the next request" {
	local out=$BATS_TEST_TMPDIR/slow tok
	fcgi_one
	tok=$(valid_token "$user")
	fcgi_slow 3 "$out" REQUEST_METHOD=POST CONTENT_LENGTH=1000 \
		CONTENT_TYPE=application/json "HTTP_AUTHORIZATION=Bearer $tok"
	fcgi_slow_wait "$out"
	_cgi_parse "$out"
	assert_status 400
	printf '# the slow request ended after %d ms\n' "$(<"$out.ms")"
	assert_near 0 "$(<"$out.ms")" "$HELD_MAX_MS" "ms until the slow request ended"
	CGI_MODE=fastcgi cgi_call --token "$tok" --body '{"deviceId":"d-after"}'
	assert_status 200
	assert_json .session.deviceId d-after
}

# --- behind a server, one process of the program ----------------------------

# server_one KIND: start KIND (the shipped snippet) in front of a single
# process of the program; httpd_stop in teardown.
server_one() {
	started_server=1
	httpd_prepare "$1" || return
	if [[ $1 == apache-fcgid ]]; then
		sed -i -e 's/^FcgidMaxProcessesPerClass .*/FcgidMaxProcessesPerClass 1/' \
			-e 's/^FcgidMinProcessesPerClass .*/FcgidMinProcessesPerClass 1/' \
			"$HTTPD_SITE"
		assert_that "$(grep -c '^Fcgid[A-Za-z]*ProcessesPerClass 1$' "$HTTPD_SITE")" \
			== 2 "one mod_fcgid process in $HTTPD_SITE"
	fi
	httpd_config_default && HTTPD_POOL_SIZE=1 httpd_start 3>&-
}

# slow_sender_meanwhile LENGTH [STATUS]: a client without a token
# declares a body of LENGTH bytes and sends 600 bytes a second (12 s at
# most); a second later a signed-in user's POST is answered within
# HELD_MAX_MS, and so is one after it. STATUS: what the slow client gets
# within HELD_MAX_MS; none when the server holds the body until it is
# whole, so the program never sees the request.
slow_sender_meanwhile() {
	local out=$BATS_TEST_TMPDIR/slow-sender start tok sender
	python3 "$BATS_TEST_DIRNAME/helpers/slow-sender.py" "$HTTPD_PORT" \
		"$1" 600 12 >"$out" 3>&- &
	sender=$!
	bg_pids+=" $sender"
	sleep 1
	tok=$(valid_token "$user")
	start=$(now_ms)
	http_post -t "$tok"
	assert_status 200
	assert_held_briefly "$start" "the signed-in request took"
	if [[ -n ${2:-} ]]; then
		wait "$sender" || true
		printf '# slow client: %s\n' "$(<"$out")"
		assert_that "$(<"$out")" =~ "^status $2 after [0-9]+ ms$" "slow client's answer"
		[[ $(<"$out") =~ ([0-9]+)\ ms ]]
		assert_near 0 "${BASH_REMATCH[1]}" "$HELD_MAX_MS" "ms until the slow client's answer"
	fi
	start=$(now_ms)
	http_post -t "$tok"
	assert_status 200
	assert_held_briefly "$start" "the next request took"
}

@test "Apache mod_proxy_fcgi, one process: a slow 1 MiB sender gets its 413 and a signed-in user is answered meanwhile" {
	server_one apache-proxy-fcgi
	slow_sender_meanwhile 1048576 413
}

@test "Apache mod_proxy_fcgi, one process: a slow sender without a token gets its 401 and a signed-in user is answered meanwhile" {
	server_one apache-proxy-fcgi
	slow_sender_meanwhile 60000 401
}

@test "Apache mod_fcgid, one process: a slow sender does not delay a signed-in user" {
	server_one apache-fcgid
	slow_sender_meanwhile 60000
}

@test "lighttpd mod_fastcgi, one process: a slow sender does not delay a signed-in user" {
	server_one lighttpd-fastcgi-pool
	slow_sender_meanwhile 60000
}
