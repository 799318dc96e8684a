#!/usr/bin/env bats
# cgi-cookie.bats: where credentials come from. The Authorization header
# (also as REDIRECT_HTTP_AUTHORIZATION), else Clerk's __session cookie,
# which counts only when the request's Origin (or Referer) is an
# authorized party, so a cross-site form cannot use it.

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

@test "a __session cookie is accepted with the second authorized party as Origin" {
	opened HTTP_COOKIE="__session=$(valid_token "$user")" HTTP_ORIGIN="$OTHER_PARTY"
}

@test "a __session cookie among other cookies is accepted" {
	opened HTTP_COOKIE="theme=dark; __session=$(valid_token "$user"); lang=en" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

@test "a __session cookie without Origin or Referer gets 401" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")"
}

@test "a __session cookie from another Origin gets 401" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_ORIGIN=https://evil.example.test
}

@test "a __session cookie with Origin null gets 401" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" HTTP_ORIGIN=null
}

@test "a __session cookie with the authorized host on another port gets 401" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN:8080"
}

@test "a __session cookie whose Origin only starts with an authorized party gets 401" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN.evil.example.test"
}

@test "a __session cookie gets 401 when CLERK_AUTHORIZED_PARTIES is unset" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN" -u CLERK_AUTHORIZED_PARTIES
}

@test "a __session cookie is accepted with an authorized Referer and no Origin" {
	opened HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_REFERER="$APP_ORIGIN/demo/index.html?x=1"
}

@test "a __session cookie with a Referer from another origin gets 401" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_REFERER="https://evil.example.test/$APP_ORIGIN/"
}

@test "an Origin from elsewhere is not overruled by an authorized Referer" {
	no_credentials HTTP_COOKIE="__session=$(valid_token "$user")" \
		HTTP_ORIGIN=https://evil.example.test HTTP_REFERER="$APP_ORIGIN/"
}

@test "a suffixed __session_<suffix> cookie is accepted" {
	opened HTTP_COOKIE="__session_Xy12AbCd=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

@test "a cookie whose name only contains __session is ignored" {
	no_credentials HTTP_COOKIE="my__session=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

@test "a cookie named __sessionx is ignored" {
	no_credentials HTTP_COOKIE="__sessionx=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

@test "a suffixed cookie is tried before a stale __session cookie" {
	local stale
	stale=$(valid_token "$user" exp:=$(($(now) - 600)))
	opened HTTP_COOKIE="__session=$stale; __session_Xy12AbCd=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

@test "__session is tried after a stale suffixed cookie" {
	local stale
	stale=$(valid_token "$user" exp:=$(($(now) - 600)))
	opened HTTP_COOKIE="__session_Xy12AbCd=$stale; __session=$(valid_token "$user")" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

@test "an expired token in the only __session cookie gets 401 invalid_token" {
	invalid_token HTTP_COOKIE="__session=$(valid_token "$user" exp:=$(($(now) - 600)))" \
		HTTP_ORIGIN="$APP_ORIGIN"
}

@test "the Authorization header wins over a valid cookie" {
	invalid_token --token "$(valid_token "$user" exp:=$(($(now) - 600)))" \
		HTTP_COOKIE="__session=$(valid_token "$user")" HTTP_ORIGIN="$APP_ORIGIN"
}

@test "a valid Authorization header is used despite a bad cookie" {
	opened --token "$(valid_token "$user")" \
		HTTP_COOKIE="__session=not.a.token" HTTP_ORIGIN="$APP_ORIGIN"
}

@test "the Authorization header needs no Origin" {
	opened --token "$(valid_token "$user")" HTTP_ORIGIN=https://evil.example.test
}

@test "REDIRECT_HTTP_AUTHORIZATION is accepted" {
	opened REDIRECT_HTTP_AUTHORIZATION="Bearer $(valid_token "$user")"
}

@test "REDIRECT_HTTP_AUTHORIZATION with a bad token gets 401" {
	invalid_token REDIRECT_HTTP_AUTHORIZATION="Bearer $(valid_token "$user" -sid)"
}
