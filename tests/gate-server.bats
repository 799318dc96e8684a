#!/usr/bin/env bats
# gate-server.bats: the gate in front of a ChatKit server (the stand-in,
# scripts/chatkit-standin), through a shipped gate snippet, the endpoint
# as a CGI beside it. It runs once per server: tests/apache-gate.bats
# (apache/chatkit-session-gate: Apache mpm_event with mod_authnz_fcgi in
# front of mod_proxy_http, mod_cgid, the gate's pool on a loopback TCP
# port) and tests/lighttpd-gate.bats (lighttpd/chatkit-session-gate:
# mod_fastcgi in authorizer mode, mod_magnet and mod_proxy, mod_cgi, the
# pool on a Unix socket) are links to this file, and the link's name
# says the server. The cases live in helpers/gate.bash.

bats_require_minimum_version 1.5.0

GATE_SERVER=${BATS_TEST_FILENAME##*/}
GATE_SERVER=${GATE_SERVER%-gate.bats}

load helpers/common
load helpers/session
load helpers/httpd
load helpers/server-cases
load helpers/pglock
load helpers/gate

setup_file() {
	[[ ${HAVE_FASTCGI:-yes} == yes ]] || skip "built without FastCGI support"
	gate_server_setup_file "$GATE_SERVER"
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

@test "a live session reaches the ChatKit server with the user as X-ChatKit-* headers" {
	gate_case_ok
}

@test "a streamed ChatKit answer reaches the client as server-sent events" {
	gate_case_stream
}

@test "X-ChatKit-* headers the client sent never reach the ChatKit server" {
	gate_case_forged_headers
}

@test "no credential gets 401 with the gate's challenge and JSON, and reaches nothing" {
	gate_case_no_credential
}

@test "an unknown session id gets 401" {
	gate_case_unknown
}

@test "a session revoked through the endpoint is refused on the very next request" {
	gate_case_revoked
}

@test "an inactive user gets 403 with JSON" {
	gate_case_inactive
}

@test "past CHATKIT_SESSION_RATE a session gets 429 with Retry-After; another session passes" {
	gate_case_rate
}

@test "a database that does not answer within CHATKIT_DB_TIMEOUT gets 503 with Retry-After" {
	gate_case_unavailable
}

@test "a CORS preflight passes to the ChatKit server unchecked" {
	gate_case_preflight
}

@test "an OPTIONS request that is no preflight is checked" {
	gate_case_plain_options
}
