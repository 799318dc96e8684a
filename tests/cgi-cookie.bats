#!/usr/bin/env bats
# cgi-cookie.bats: where credentials come from. The Authorization header
# (also as REDIRECT_HTTP_AUTHORIZATION), else Clerk's __session cookie,
# which counts only when the request's Origin (or Referer) is an
# authorized party, so a cross-site form cannot use it: one request for
# each answer. Which header, cookie, Origin and Referer count, in which
# order, is tests/unit/cookie.txt (request_credentials, then handle()).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/fixture

APP_ORIGIN=http://127.0.0.1
OTHER_PARTY=https://app.example.test

setup() {
	cgi_env_defaults
	cgi_env+=("CLERK_AUTHORIZED_PARTIES=$APP_ORIGIN,$OTHER_PARTY")
	user=$(unique_id)
	pg_add_user "$user"
}

# opened [cgi_call ARGS...]: the request gets a session for $user. A
# Cookie header gets Clerk's __client_uat cookie too, a minute before the
# tokens' iat, as cookie credentials need (cgi-clerk2026.bats tests it).
opened() {
	local -a args=()
	local a
	for a in "$@"; do
		[[ $a != HTTP_COOKIE=* ]] || a+="; __client_uat=$(($(now) - 60))"
		args+=("$a")
	done
	cgi_call "${args[@]}"
	assert_status 200
	assert_json .session.userId "$user"
}

# no_credentials [cgi_call ARGS...]: the cookie was ignored, so the
# request had no credentials at all: 401 with a bare challenge.
no_credentials() {
	cgi_call "$@"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit"$'
}

# invalid_token [cgi_call ARGS...]: a credential was used and refused.
invalid_token() {
	cgi_call "$@"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit", error="invalid_token"'
}

@test "a __session cookie is accepted with an authorized Origin" {
	opened HTTP_COOKIE="__session=$(valid_token "$user")" HTTP_ORIGIN="$APP_ORIGIN"
}

@test "a __session cookie from another Origin gets 401" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_ORIGIN=https://evil.example.test
}

@test "an expired token in the only __session cookie gets 401 invalid_token" {
	invalid_token HTTP_COOKIE="__session=$(valid_token "$user" exp:=$(($(now) - 600)))" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

