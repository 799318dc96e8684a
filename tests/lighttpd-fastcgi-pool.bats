#!/usr/bin/env bats
# lighttpd-fastcgi-pool.bats: the FastCGI mode behind lighttpd with mod_fastcgi,
# in front of a pool of processes spawn-fcgi started on one Unix socket
# (HTTPD_POOL_SIZE, default 4).
# Configured by the shipped lighttpd/chatkit-session-fastcgi-pool.conf.in inside
# lighttpd/standalone.conf.in. The cases live in
# helpers/server-cases.bash, shared by every server's file.

bats_require_minimum_version 1.5.0

# A FastCGI manager signals its children by pid. With the machine's pids
# wrapping quickly under the suite, a stale pid may by then be another
# file's server; a user of its own keeps such a signal from reaching it.
HTTPD_USER=list

load helpers/common
load helpers/httpd
load helpers/server-cases

setup_file() {
	server_setup_file lighttpd-fastcgi-pool
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

@test "lighttpd mod_fastcgi pool: a valid token and a body get 200 with the session fields" {
	case_success
}

@test "lighttpd mod_fastcgi pool: a second request of the same user reuses the session" {
	case_reuse
}

@test "lighttpd mod_fastcgi pool: a request without an Authorization header gets 401" {
	case_no_header
}

@test "lighttpd mod_fastcgi pool: a token signed with another key gets 401 invalid_token" {
	case_bad_token
}

@test "lighttpd mod_fastcgi pool: the Authorization header reaches the program" {
	case_header_reaches_program
}

@test "lighttpd mod_fastcgi pool: a user without a users row gets 403 User role not found" {
	case_no_users_row
}

@test "lighttpd mod_fastcgi pool: GET lists and DELETE revokes; PUT gets 405" {
	case_manage
}

@test "lighttpd mod_fastcgi pool: a body over 64 KiB gets 413" {
	case_too_large
}

@test "lighttpd mod_fastcgi pool: 20 concurrent requests of a fresh user end in one active session" {
	case_concurrent
}

@test "lighttpd mod_fastcgi pool: the demo page and its module are served from the same origin" {
	case_page
}


@test "lighttpd mod_fastcgi pool: the program keeps running between requests (the pool answers, none started per request)" {
	case_persistent
}
