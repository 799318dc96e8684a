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
