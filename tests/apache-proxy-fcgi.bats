#!/usr/bin/env bats
# apache-proxy-fcgi.bats: the FastCGI mode behind Apache with mpm_event +
# mod_proxy_fcgi, in front of a pool of processes spawn-fcgi started on one
# Unix socket (HTTPD_POOL_SIZE, default 4).
# Configured by the shipped apache/chatkit-session-proxy-fcgi.conf.in inside
# apache/standalone.conf.in. The cases live in
# helpers/server-cases.bash, shared by every server's file.

bats_require_minimum_version 1.5.0

# A FastCGI manager signals its children by pid. With the machine's pids
# wrapping quickly under the suite, a stale pid may by then be another
# file's server; a user of its own keeps such a signal from reaching it.
HTTPD_USER=backup

load helpers/common
load helpers/httpd
load helpers/server-cases

setup_file() {
	server_setup_file apache-proxy-fcgi
}

teardown_file() {
	server_teardown_file
}

setup() {
	httpd_log_mark
}

teardown() {
	httpd_log_tail
}

@test "apache mod_proxy_fcgi: a valid token and a body get 200 with the session fields" {
	case_success
}

@test "apache mod_proxy_fcgi: a second request of the same user reuses the session" {
	case_reuse
}

@test "apache mod_proxy_fcgi: a request without an Authorization header gets 401" {
	case_no_header
}

@test "apache mod_proxy_fcgi: a token signed with another key gets 401 invalid_token" {
	case_bad_token
}

@test "apache mod_proxy_fcgi: the Authorization header reaches the program" {
	case_header_reaches_program
}

@test "apache mod_proxy_fcgi: a user without a users row gets 403 User role not found" {
	case_no_users_row
}

@test "apache mod_proxy_fcgi: GET lists and DELETE revokes; PUT gets 405" {
	case_manage
}

@test "apache mod_proxy_fcgi: a body over 64 KiB gets 413" {
	case_too_large
}

@test "apache mod_proxy_fcgi: 20 concurrent requests of a fresh user end in one active session" {
	case_concurrent
}

@test "apache mod_proxy_fcgi: the demo page and its module are served from the same origin" {
	case_page
}


@test "apache mod_proxy_fcgi: the program keeps running between requests (the pool answers, none started per request)" {
	case_persistent
}
