#!/usr/bin/env bats
# cgi-clerk2026.bats: Clerk's 2026 token rules (@clerk/backend 3.x): the
# header's token category (cat), azp required when authorized parties are
# set, OAuth access tokens (typ at+jwt) and machine subjects (mch_)
# refused, and the __client_uat cookie that cookie credentials need.
#
# Tokens are minted with the openssl CLI (helpers/tokens.bash).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/fixture

APP_ORIGIN=http://127.0.0.1
SESSION_CAT=cl_B7d4PD111AAA
NEUTRAL_CAT=cl_I7d4PD111III

# with_header HEADER-JSON USER [claims edits...]: a token with that header.
with_header() {
	local h=$1
	shift
	mint_token --header "$h" --payload "$(claims "$@")"
}

accepted() {
	cgi_call "$@"
	assert_status 200
	assert_json .session.userId "$user"
}

refused() {
	cgi_call "$@"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit", error="invalid_token"'
}

# --- the token category (header cat) --------------------------------------

@test "a token whose cat is the session category is accepted" {
	accepted --token "$(with_header "{\"alg\":\"RS256\",\"kid\":\"kid-main\",\"typ\":\"JWT\",\"cat\":\"$SESSION_CAT\"}" "$user")"
}

@test "a token whose cat is Clerk's neutral category is accepted" {
	accepted --token "$(with_header "{\"alg\":\"RS256\",\"kid\":\"kid-main\",\"cat\":\"$NEUTRAL_CAT\"}" "$user")"
}

@test "a token without cat is accepted" {
	accepted --token "$(with_header '{"alg":"RS256","kid":"kid-main"}' "$user")"
}

@test "a token whose cat is another category (a JWT template) gets 401" {
	refused --token "$(with_header '{"alg":"RS256","kid":"kid-main","cat":"cl_B7d4PD222AAA"}' "$user")"
	assert_json .message "The token is not a Clerk session token (wrong category)."
}

@test "a token whose cat is not a string gets 401" {
	refused --token "$(with_header '{"alg":"RS256","kid":"kid-main","cat":1}' "$user")"
}

@test "a token whose cat is empty gets 401" {
	refused --token "$(with_header '{"alg":"RS256","kid":"kid-main","cat":""}' "$user")"
}

# --- typ and sub ------------------------------------------------------------

@test "an OAuth access token (typ at+jwt) gets 401" {
	refused --token "$(with_header '{"alg":"RS256","kid":"kid-main","typ":"at+jwt"}' "$user")"
	assert_json .message "The token is an OAuth access token, not a Clerk session token."
}

@test "an OAuth access token with typ application/at+jwt gets 401" {
	refused --token "$(with_header '{"alg":"RS256","kid":"kid-main","typ":"application/at+jwt"}' "$user")"
}

@test "a machine subject (sub mch_...) gets 401" {
	pg_add_user "mch_$user"
	refused --token "$(valid_token "mch_$user")"
	assert_json .message "The token belongs to a machine, not a signed-in user."
}

@test "a subject that only contains mch_ later is accepted" {
	user=user_mch_$user
	pg_add_user "$user"
	accepted --token "$(valid_token "$user")"
}

# --- azp when authorized parties are set ----------------------------------

@test "without azp a token gets 401 when CLERK_AUTHORIZED_PARTIES is set" {
	refused --token "$(valid_token "$user" -azp)" "CLERK_AUTHORIZED_PARTIES=$APP_ORIGIN"
	assert_json .message "The session token was issued for another origin."
}

@test "with a listed azp a token is accepted when CLERK_AUTHORIZED_PARTIES is set" {
	accepted --token "$(valid_token "$user")" "CLERK_AUTHORIZED_PARTIES=$APP_ORIGIN"
}

@test "with an unlisted azp a token gets 401" {
	refused --token "$(valid_token "$user" azp=https://evil.example.test)" \
		"CLERK_AUTHORIZED_PARTIES=$APP_ORIGIN"
}

@test "without azp a token is accepted when CLERK_AUTHORIZED_PARTIES is unset" {
	accepted --token "$(valid_token "$user" -azp)"
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

@test "a __session cookie with __client_uat at or before iat is accepted" {
	local t
	t=$(now)
	cookie_call "__client_uat=$((t - 60)); __session=$(valid_token "$user" iat:=$t)"
	assert_status 200
	cookie_call "__session=$(valid_token "$user" iat:=$t); __client_uat=$t"
	assert_status 200
}

@test "a __session cookie without __client_uat gets 401 asking for a Bearer token" {
	stale_cookie "__session=$(valid_token "$user")"
}

@test "a __session cookie with __client_uat 0 (signed out) gets 401" {
	stale_cookie "__session=$(valid_token "$user"); __client_uat=0"
}

@test "a __session cookie with __client_uat after iat gets 401" {
	local t
	t=$(now)
	stale_cookie "__session=$(valid_token "$user" iat:=$((t - 30))); __client_uat=$t"
}

@test "a __session cookie with a negative __client_uat gets 401" {
	stale_cookie "__session=$(valid_token "$user"); __client_uat=-1"
}

@test "a __session cookie with a __client_uat that is not a number gets 401" {
	stale_cookie "__session=$(valid_token "$user"); __client_uat=12ab"
}

@test "a __session cookie with an empty __client_uat gets 401" {
	stale_cookie "__session=$(valid_token "$user"); __client_uat="
}

@test "a __session cookie whose token has no iat gets 401 even with a __client_uat" {
	stale_cookie "__session=$(valid_token "$user" -iat); __client_uat=1"
}

@test "a suffixed cookie is checked against the __client_uat of the same suffix" {
	local t
	t=$(now)
	cookie_call "__session_Xy12=$(valid_token "$user" iat:=$t); __client_uat_Xy12=$((t - 5)); __client_uat=0"
	assert_status 200
	assert_json .session.userId "$user"
}

@test "a suffixed cookie whose own __client_uat is 0 gets 401 despite a good plain one" {
	local t
	t=$(now)
	stale_cookie "__session_Xy12=$(valid_token "$user" iat:=$t); __client_uat_Xy12=0; __client_uat=$((t - 5))"
}

@test "a suffixed cookie falls back to the plain __client_uat when its own is absent" {
	local t
	t=$(now)
	cookie_call "__session_Xy12=$(valid_token "$user" iat:=$t); __client_uat=$((t - 5))"
	assert_status 200
}

@test "a __client_uat of another suffix does not count" {
	local t
	t=$(now)
	stale_cookie "__session_Xy12=$(valid_token "$user" iat:=$t); __client_uat_Other=$((t - 5))"
}

@test "a Bearer token needs no __client_uat" {
	accepted --token "$(valid_token "$user")" HTTP_COOKIE="__client_uat=0"
}
