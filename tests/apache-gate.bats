#!/usr/bin/env bats
# apache-gate.bats: the gate in front of a ChatKit server (the stand-in,
# scripts/chatkit-standin), through the shipped apache/chatkit-session-gate
# snippet: Apache (mpm_event) with mod_authnz_fcgi in front of mod_proxy_http, the
# endpoint as a CGI (mod_cgid) beside it, and the gate's pool on a
# loopback TCP port. The cases live in helpers/gate.bash, shared with the
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
	gate_server_setup_file apache
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

@test "apache mod_authnz_fcgi: a live session reaches the ChatKit server with the user as X-ChatKit-* headers" {
	gate_case_ok
}

@test "apache mod_authnz_fcgi: a streamed ChatKit answer reaches the client as server-sent events" {
	gate_case_stream
}

@test "apache mod_authnz_fcgi: X-ChatKit-* headers the client sent never reach the ChatKit server" {
	gate_case_forged_headers
}

@test "apache mod_authnz_fcgi: no credential gets 401 with the gate's challenge and JSON, and reaches nothing" {
	gate_case_no_credential
}

@test "apache mod_authnz_fcgi: an unknown session id gets 401" {
	gate_case_unknown
}

@test "apache mod_authnz_fcgi: a session revoked through the endpoint is refused on the very next request" {
	gate_case_revoked
}

@test "apache mod_authnz_fcgi: an inactive user gets 403 with JSON" {
	gate_case_inactive
}

@test "apache mod_authnz_fcgi: past CHATKIT_SESSION_RATE a session gets 429 with Retry-After; another session passes" {
	gate_case_rate
}

@test "apache mod_authnz_fcgi: a database that does not answer within CHATKIT_DB_TIMEOUT gets 503 with Retry-After" {
	gate_case_unavailable
}

@test "apache mod_authnz_fcgi: a CORS preflight passes to the ChatKit server unchecked" {
	gate_case_preflight
}

@test "apache mod_authnz_fcgi: an OPTIONS request that is no preflight is checked" {
	gate_case_plain_options
}
