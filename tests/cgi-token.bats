#!/usr/bin/env bats
# cgi-token.bats: Clerk session tokens end to end: one refused token for
# each reason the client is told (the message and the challenge's
# error_description), the largest token, what a refused token puts in the
# log, and that it never reaches the database. Each rule's cases are lines
# of tests/unit/claims.txt (token_verify at a fixed clock), and
# tests/unit/json.c runs the rows of helpers/strict-json.txt in a header
# and in the claims.
#
# Every token is minted with the openssl CLI (helpers/tokens.bash). Each
# test seeds its own active user first, so a refused token is refused for
# the token's sake and an accepted one answers 200.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/fixture

# refused TOKEN [cgi_call ARGS...]: the token is rejected as invalid: 401,
# the error shape, and an RFC 6750 invalid_token challenge.
refused() {
	local tok=$1
	shift
	cgi_call --token "$tok" "$@"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit", error="invalid_token"'
}

# refused_saying MESSAGE TOKEN [cgi_call ARGS...]: refused, and MESSAGE
# is both the body's message and the challenge's error_description.
refused_saying() {
	local msg=$1
	shift
	refused "$@"
	assert_json .message "$msg"
	assert_that "$(header_value WWW-Authenticate)" == \
		"Bearer realm=\"chatkit\", error=\"invalid_token\", error_description=\"$msg\"" \
		"header WWW-Authenticate"
}

# accepted TOKEN [cgi_call ARGS...]: the token opens a session for $user.
accepted() {
	local tok=$1
	shift
	cgi_call --token "$tok" "$@"
	assert_status 200
	assert_json .session.userId "$user"
}

# token_of_length LEN USER: a valid RS256 token exactly LEN bytes long,
# padded with a "pad" claim (and blanks in the header when base64url
# cannot reach LEN otherwise).
token_of_length() {
	local want=$1 base hdr sp need k pad
	base=$(claims "$2" pad=PADHERE)
	for sp in '' ' ' '  '; do
		hdr="{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\"$sp}"
		# header.payload.signature; a 2048-bit signature is 342 chars.
		need=$((want - (4 * ${#hdr} + 2) / 3 - 2 - 342))
		((need % 4 != 1)) || continue
		k=$((3 * need / 4 - (${#base} - 7)))
		pad=$(printf '%*s' "$k" '' | tr ' ' x)
		mint_token --header "$hdr" --payload "${base/PADHERE/$pad}"
		return
	done
}

# --- credentials present or not ---------------------------------------

@test "a request without credentials gets 401 with a bare Bearer challenge" {
	cgi_call
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit"$'
}

@test "a Basic Authorization header gets 401 with an invalid_request challenge" {
	cgi_call HTTP_AUTHORIZATION="Basic $(printf 'u:p' | base64)"
	assert_error 401 Unauthorized
	assert_json .message 'The Authorization header must be "Bearer <token>".'
	assert_header WWW-Authenticate '^Bearer realm="chatkit", error="invalid_request"$'
}

@test "a valid RS256 token opens a session for its sub" {
	accepted "$(valid_token "$user")"
	assert_json .session.workflowId "$CGI_WORKFLOW_ID"
	assert_header Content-Type '^application/json'
	assert_header Cache-Control '^no-store$'
}

# --- malformed ------------------------------------------------------------

@test "a token with two parts gets 401 saying it is malformed" {
	local tok
	tok=$(valid_token "$user")
	refused_saying "The session token is malformed." "${tok%.*}"
}

# --- algorithms -----------------------------------------------------------

@test "an alg none token without a signature gets 401 saying only RS256 is taken" {
	refused_saying "The session token uses an algorithm other than RS256." \
		"$(mint_token --sign none --payload "$(claims "$user")")"
}

# --- keys and signatures ----------------------------------------------

@test "a token signed by another key gets 401 saying the signature is invalid" {
	refused_saying "The session token signature is invalid." \
		"$(mint_token --key "$OTHER_PRIV" --payload "$(claims "$user")")"
}

@test "a token with a kid missing from the JWKS gets 401 saying the key is unknown" {
	refused_saying "The session token was signed with an unknown key." \
		"$(mint_token --kid kid-unknown --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
}

# --- exp, nbf, iat and the clock skew ---------------------------------

@test "an expired token gets 401 saying it expired" {
	refused_saying "The session token has expired." \
		"$(valid_token "$user" exp:=$(($(now) - 60)))"
}

@test "a token not yet valid gets 401 saying so" {
	refused_saying "The session token is not yet valid." \
		"$(valid_token "$user" nbf:=$(($(now) + 60)))"
}

@test "a token issued 60 s in the future gets 401 saying so" {
	refused_saying "The session token was issued in the future." \
		"$(valid_token "$user" iat:=$(($(now) + 60)))"
}

# --- sub and sid ------------------------------------------------------

@test "a token without sub gets 401 saying it names no user" {
	refused_saying "The session token has no user (sub)." \
		"$(valid_token "$user" -sub)"
}

@test "a token without sid gets 401 saying it is no Clerk session token" {
	refused_saying "The token is not a Clerk session token (no sid)." \
		"$(valid_token "$user" -sid)"
}

# --- azp, iss, sts ---------------------------------------------------

@test "an azp outside CLERK_AUTHORIZED_PARTIES gets 401 saying it is for another origin" {
	refused_saying "The session token was issued for another origin." \
		"$(valid_token "$user" azp=https://evil.example.test)" \
		CLERK_AUTHORIZED_PARTIES="http://127.0.0.1,https://app.example.test"
}

@test "an iss other than CLERK_ISSUER gets 401 saying the issuer is wrong" {
	refused_saying "The session token has the wrong issuer." \
		"$(valid_token "$user" iss=https://other.example.test)" \
		CLERK_ISSUER="$TOKEN_ISSUER"
}

@test "an sts other than active gets 401 saying the session is not active" {
	refused_saying "The Clerk session is not active." \
		"$(valid_token "$user" sts=pending)"
}

# --- what a refused token puts in the log ---------------------------------

@test "C1 and bidi controls in an unknown alg reach the log escaped" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"x\u009b2J\u202ey\u2028","typ":"JWT","kid":"kid-main"}')"
	assert_log_has 'token alg is "x\u009b2J\u202ey\u2028"'
}

@test "raw UTF-8 C1 and bidi controls in an unknown alg reach the log escaped" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header $'{"alg":"x\xc2\x85\xc2\x9f\xe2\x80\xaby","typ":"JWT","kid":"kid-main"}')"
	assert_log_has 'token alg is "x\u0085\u009f\u202by"'
}

@test "bidi marks and isolates in an unknown kid reach the log escaped" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"RS256","typ":"JWT","kid":"k\u2066\u2069\u200e\u200f\u061c\u202a"}')" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
	assert_log_has 'no key for kid "k\u2066\u2069\u200e\u200f\u061c\u202a"'
}

@test "a non-ASCII letter in an unknown kid reaches the log as it is" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"RS256","typ":"JWT","kid":"k\u00e9\u20ac"}')" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
	[[ $cgi_stderr == *$'no key for kid "k\xc3\xa9\xe2\x82\xac"'* ]] ||
		fail "stderr: $cgi_stderr"
}

# --- size -----------------------------------------------------------------

@test "a token of exactly 8192 bytes is accepted" {
	local tok
	tok=$(token_of_length 8192 "$user")
	assert_that "${#tok}" == 8192 "token length"
	accepted "$tok"
}

@test "a token of 64 KiB gets 401 saying it is too long" {
	local pad
	# An environment string may not exceed 128 KiB (MAX_ARG_STRLEN).
	pad=$(printf '%*s' 65536 '' | tr ' ' x)
	refused_saying "The session token is too long." \
		"$(valid_token "$user" pad="$pad")"
}

# --- what must never happen -------------------------------------------

@test "with the database down a request without credentials still gets 401" {
	cgi_call CHATKIT_DATABASE_URL="$(pg_dead_url)"
	assert_error 401 Unauthorized
}

@test "with the database down a bad token still gets 401, not 503" {
	refused "$(valid_token "$user" exp:=$(($(now) - 60)))" \
		CHATKIT_DATABASE_URL="$(pg_dead_url)"
	refute_header Retry-After
}

@test "with the database down a valid token gets 503 with Retry-After" {
	cgi_call --token "$(valid_token "$user")" CHATKIT_DATABASE_URL="$(pg_dead_url)"
	assert_error 503 "Service Unavailable"
	assert_header Retry-After '^5$'
}
