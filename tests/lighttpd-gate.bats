#!/usr/bin/env bats
# lighttpd-gate.bats: the gate in front of a ChatKit server (the stand-in,
# scripts/chatkit-standin), through the shipped lighttpd/chatkit-session-gate
# snippet: lighttpd with mod_fastcgi in authorizer mode, mod_magnet and mod_proxy,
# the endpoint as a CGI (mod_cgi) beside it, and the gate's pool on a
# Unix socket. The cases live in helpers/gate.bash, shared with the
# other server's file.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/httpd
load helpers/server-cases
load helpers/pglock
load helpers/gate

setup_file() {
	[[ ${HAVE_FASTCGI:-yes} == yes ]] || skip "built without FastCGI support"
	gate_server_setup_file lighttpd
}

teardown_file() {
	gate_server_teardown_file
}

setup() {
	httpd_log_mark
}

teardown() {
	unlock_hits
	httpd_log_tail
}

@test "lighttpd authorizer: a live session reaches the ChatKit server with the user as X-ChatKit-* headers" {
	gate_case_ok
}

@test "lighttpd authorizer: a streamed ChatKit answer reaches the client as server-sent events" {
	gate_case_stream
}

@test "lighttpd authorizer: X-ChatKit-* headers the client sent never reach the ChatKit server" {
	gate_case_forged_headers
}

@test "lighttpd authorizer: no credential gets 401 with the gate's challenge and JSON, and reaches nothing" {
	gate_case_no_credential
}

@test "lighttpd authorizer: an unknown session id gets 401" {
	gate_case_unknown
}

@test "lighttpd authorizer: a session revoked through the endpoint is refused on the very next request" {
	gate_case_revoked
}

@test "lighttpd authorizer: an inactive user gets 403 with JSON" {
	gate_case_inactive
}

@test "lighttpd authorizer: past CHATKIT_SESSION_RATE a session gets 429 with Retry-After; another session passes" {
	gate_case_rate
}

@test "lighttpd authorizer: a database that does not answer within CHATKIT_DB_TIMEOUT gets 503 with Retry-After" {
	gate_case_unavailable
}

@test "lighttpd authorizer: a CORS preflight passes to the ChatKit server unchecked" {
	gate_case_preflight
}

@test "lighttpd authorizer: an OPTIONS request that is no preflight is checked" {
	gate_case_plain_options
}
