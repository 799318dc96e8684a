#!/usr/bin/env bats
# cgi-clerk2026.bats: Clerk's 2026 token rules (@clerk/backend 3.x): the
# header's token category (cat), azp required when authorized parties are
# set, OAuth access tokens (typ at+jwt) and machine subjects (mch_)
# refused, and the __client_uat cookie that cookie credentials need: one
# request for each refusal the client is told about. The cases of each
# rule are lines of tests/unit/claims.txt and tests/unit/cookie.txt.
#
# Tokens are minted with the openssl CLI (helpers/tokens.bash).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/fixture

APP_ORIGIN=http://127.0.0.1

# with_header HEADER-JSON USER [claims edits...]: a token with that header.
with_header() {
	local h=$1
	shift
	mint_token --header "$h" --payload "$(claims "$@")"
}

# refused [cgi_call ARGS...]: 401 with an invalid_token challenge.
refused() {
	cgi_call "$@"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit", error="invalid_token"'
}

# --- the token category (header cat) --------------------------------------

@test "a token whose cat is another category (a JWT template) gets 401" {
	refused --token "$(with_header '{"alg":"RS256","kid":"kid-main","cat":"cl_B7d4PD222AAA"}' "$user")"
	assert_json .message "The token is not a Clerk session token (wrong category)."
}

# --- typ and sub ------------------------------------------------------------

@test "an OAuth access token (typ at+jwt) gets 401" {
	refused --token "$(with_header '{"alg":"RS256","kid":"kid-main","typ":"at+jwt"}' "$user")"
	assert_json .message "The token is an OAuth access token, not a Clerk session token."
}

@test "a machine subject (sub mch_...) gets 401" {
	pg_add_user "mch_$user"
	refused --token "$(valid_token "mch_$user")"
	assert_json .message "The token belongs to a machine, not a signed-in user."
}

# --- azp when authorized parties are set ----------------------------------

@test "without azp a token gets 401 when CLERK_AUTHORIZED_PARTIES is set" {
	refused --token "$(valid_token "$user" -azp)" "CLERK_AUTHORIZED_PARTIES=$APP_ORIGIN"
	assert_json .message "The session token was issued for another origin."
}

# --- __client_uat for cookie credentials ----------------------------------

# cookie_call COOKIE [cgi_call ARGS...]: a request with that Cookie header
# from the authorized origin.
cookie_call() {
	local c=$1
	shift
	cgi_call HTTP_COOKIE="$c" HTTP_ORIGIN="$APP_ORIGIN" \
		"CLERK_AUTHORIZED_PARTIES=$APP_ORIGIN" "$@"
}

# stale_cookie COOKIE: 401 telling the page to send a fresh Bearer token.
stale_cookie() {
	cookie_call "$1"
	assert_error 401 Unauthorized "fresh .*token.*Bearer"
	assert_header WWW-Authenticate '^Bearer realm="chatkit", error="invalid_token"'
}

@test "a __session cookie without __client_uat gets 401 asking for a Bearer token" {
	stale_cookie "__session=$(valid_token "$user")"
}

