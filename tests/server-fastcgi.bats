#!/usr/bin/env bats
# server-fastcgi.bats: what only the FastCGI configurations show: the
# same processes of the program answer request after request, and none
# is started per request. One test per configuration, each with its own
# server in front (the shipped snippet, as server.bats starts it); the
# requests need no database, so none is started.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/httpd

setup_file() {
	tokens_setup "$BATS_FILE_TMPDIR/keys"
}

teardown() {
	httpd_log_tail
	httpd_stop
}

# _server_programs: pids of $HTTPD_CGI processes descended from the server
# (FastCGI processes: lighttpd's children, or mod_fcgid's manager's).
_server_programs() {
	local pid p i
	if httpd_has_pool; then
		# The pool is not the server's: spawn-fcgi forked it and left.
		httpd_pool_pids | sort
		return
	fi
	for pid in $(pgrep -f -- "$HTTPD_CGI"); do
		p=$pid
		for ((i = 0; i < 4; i++)); do
			p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || break
			if [[ $p == "$HTTPD_PID" ]]; then
				printf '%s\n' "$pid"
				break
			fi
		done
	done | sort
}


# server_up KIND USER: start KIND as USER (a user of its own per kind, as
# server.bats has them: a FastCGI manager signals its children by pid).
server_up() {
	HTTPD_USER=$2
	httpd_prepare "$1" && httpd_config_default && httpd_start 3>&- || return
	httpd_log_mark
}

# same_processes_answer: a first request (which makes mod_fcgid start a
# process), then the program's processes under the server stay the same
# over five more, answered by the program: 401 without a token, and with
# one signed by another key.
same_processes_answer() {
	local before after i bad
	http_post -d '{}'
	assert_status 401
	before=$(_server_programs)
	[[ -n $before ]] || die "no FastCGI process of $HTTPD_CGI under the server (pid $HTTPD_PID)" || return
	bad=$(mint_token --payload "$(claims user_fcgi)" --key "$OTHER_PRIV")
	for ((i = 0; i < 5; i++)); do
		http_post -t "$bad"
		assert_error 401 Unauthorized
		assert_header WWW-Authenticate 'error="invalid_token"'
	done
	after=$(_server_programs)
	assert_that "$after" == "$before" "FastCGI process ids before and after five requests"
}

@test "apache mod_fcgid: the same processes answer request after request" {
	server_up apache-fcgid www-data
	same_processes_answer
}

@test "apache mod_proxy_fcgi: the pool answers request after request, none started per request" {
	server_up apache-proxy-fcgi backup
	same_processes_answer
}

@test "lighttpd mod_fastcgi: the same processes answer request after request" {
	server_up lighttpd-fastcgi daemon
	same_processes_answer
}

@test "lighttpd mod_fastcgi pool: the pool answers request after request, none started per request" {
	server_up lighttpd-fastcgi-pool list
	same_processes_answer
}
