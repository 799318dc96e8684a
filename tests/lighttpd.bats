#!/usr/bin/env bats
# lighttpd.bats: the CGI behind lighttpd with mod_cgi, driven with curl.
# Configured by the shipped lighttpd/chatkit-session.conf.in inside
# lighttpd/standalone.conf.in. The cases live in
# helpers/server-cases.bash, shared by every server's file.

bats_require_minimum_version 1.5.0

# A server user of its own (Debian's base "proxy" account). Under the
# sanitizer build this file's lighttpd, running as nobody like the Apache
# files' servers, was twice stopped by a signal from another nobody
# process; most likely a kill by pid that hit a reused pid (this machine's
# pids wrap at 32768 and the suite starts thousands of processes).
HTTPD_USER=proxy

load helpers/common
load helpers/httpd
load helpers/server-cases

setup_file() {
	server_setup_file lighttpd
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

@test "lighttpd mod_cgi: a valid token and a body get 200 with the session fields" {
	case_success
}

@test "lighttpd mod_cgi: a second request of the same user reuses the session" {
	case_reuse
}

@test "lighttpd mod_cgi: a request without an Authorization header gets 401" {
	case_no_header
}

@test "lighttpd mod_cgi: a token signed with another key gets 401 invalid_token" {
	case_bad_token
}

@test "lighttpd mod_cgi: the Authorization header reaches the program" {
	case_header_reaches_program
}

@test "lighttpd mod_cgi: a user without a users row gets 403 User role not found" {
	case_no_users_row
}

@test "lighttpd mod_cgi: GET lists and DELETE revokes; PUT gets 405" {
	case_manage
}

@test "lighttpd mod_cgi: a body over 64 KiB gets 413" {
	case_too_large
}

@test "lighttpd mod_cgi: 20 concurrent requests of a fresh user end in one active session" {
	case_concurrent
}

@test "lighttpd mod_cgi: the demo page and its module are served from the same origin" {
	case_page
}
