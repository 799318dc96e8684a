#!/usr/bin/env bats
# cgi-netkeys.bats: keys fetched from the network (CLERK_JWKS_URL,
# CLERK_PUBLISHABLE_KEY) against the tests' own HTTPS server on loopback
# (helpers/jwks.bash): one fetch, then the shared cache; rotation and
# unknown kids; the server down; 503 when no key can be had; the
# settings that name the keys. The same in both modes (fcgi-netkeys.bats
# is a link): the cache file as CGI processes share it, one per request,
# is cgi-keycache.bats; a FastCGI process's keys in memory are
# fcgi-keycache.bats.
#
# Each test has a case of its own on the server (its own URL, document,
# mode and request counter) and a cache directory of its own
# (helpers/netkeys.bash).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/jwks
load helpers/netkeys

# --- one fetch, then the cache ---------------------------------------------

@test "the first request fetches the keys and the next one does not" {
	accepted
	fetches 1
	accepted
	fetches 1
}

@test "the cache is one file per URL, readable and writable by its owner only" {
	accepted
	run -0 stat -c '%a %U' "$(cache_file)"
	assert_that "$output" == "600 $(id -un)" "mode and owner of the cache file"
	run -0 stat -c '%a' "$cache"
	assert_that "$output" == 700 "mode of the cache directory it created"
	run -0 cmp "$(cache_file)" "$JWKS_MAIN_FILE"
}

@test "a static key source wins over the network" {
	cgi_call --token "$(valid_token "$user")" "CLERK_JWT_KEY_FILE=$KEY_PUB"
	assert_status 200
	fetches 0
}

@test "a redirect to the same host is followed" {
	jwks_mode "$case" redirect-same
	accepted
	fetches 2
}

# --- rotation and unknown kids --------------------------------------------

@test "a new kid is accepted without a restart" {
	accepted
	jwks_serve "$case" "$JWKS_FILE" # kid-main and kid-other
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid kid-other --key "$OTHER_PRIV")"
	assert_status 200
	fetches 2
	# And the new set is what the next process reads.
	run -0 cmp "$(cache_file)" "$JWKS_FILE"
}

@test "a bad signature with a known kid gets 401" {
	accepted
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid kid-main --key "$FORGED_PRIV")"
	assert_error 401 Unauthorized
	assert_json .message "The session token signature is invalid."
}

@test "an unknown kid gets 401, not 503, while the server is down" {
	accepted
	jwks_stop
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid forged --key "$FORGED_PRIV")"
	assert_error 401 Unauthorized
}

@test "an invalid token with network keys never opens a database connection" {
	accepted
	cgi_call --token "$(mint_token --payload "$(claims "$user")" \
		--kid kid-main --key "$FORGED_PRIV")" \
		"CHATKIT_DATABASE_URL=$(pg_dead_url)"
	assert_error 401 Unauthorized
}

# --- the server down -------------------------------------------------------

@test "with the server down a fresh cache still answers 200" {
	accepted
	jwks_stop
	accepted
}

@test "with the server down and nothing cached the answer is 503 with Retry-After" {
	jwks_stop
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	assert_header Retry-After '^[0-9]+$'
	refute_header WWW-Authenticate
}

@test "a failed fetch is not repeated by every request: the next one within seconds makes none" {
	jwks_mode "$case" status500
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	fetches 1
}

# --- a bad first answer ---------------------------------------------------

@test "a certificate from another CA is refused on first use: 503" {
	jwks_cert wrong
	cgi_call --token "$(valid_token "$user")"
	assert_error 503 "Service Unavailable"
	fetches 0
}

# --- configuration ---------------------------------------------------------

@test "an http:// CLERK_JWKS_URL is a 500 Configuration Error naming the setting" {
	cgi_call --token "$(valid_token "$user")" "CLERK_JWKS_URL=http://localhost:$JWKS_PORT/$case/jwks.json"
	assert_error 500 "Configuration Error" "CLERK_JWKS_URL"
	fetches 0
}

@test "CLERK_PUBLISHABLE_KEY alone fetches from its Frontend API and checks the issuer" {
	local host=localhost:$JWKS_PORT
	url=$(jwks_case well-known)
	case=well-known
	cgi_call --token "$(valid_token "$user" iss="https://$host")" \
		-u CLERK_JWKS_URL "CLERK_PUBLISHABLE_KEY=$(publishable_key "$host")"
	assert_status 200
	fetches 1
	cgi_call --token "$(valid_token "$user")" \
		-u CLERK_JWKS_URL "CLERK_PUBLISHABLE_KEY=$(publishable_key "$host")"
	assert_error 401 Unauthorized
	assert_json .message "The session token has the wrong issuer."
}

@test "CLERK_JWKS_URL and CLERK_ISSUER win over what the publishable key implies" {
	cgi_call --token "$(valid_token "$user")" \
		"CLERK_ISSUER=$TOKEN_ISSUER" \
		"CLERK_PUBLISHABLE_KEY=$(publishable_key clerk.nowhere.invalid)"
	assert_status 200
	fetches 1
}

@test "a live publishable key (pk_live_) is read the same way" {
	local pk
	pk=$(publishable_key clerk.nowhere.invalid)
	cgi_call --token "$(valid_token "$user")" \
		"CLERK_ISSUER=$TOKEN_ISSUER" "CLERK_PUBLISHABLE_KEY=pk_live_${pk#pk_test_}"
	assert_status 200
}

# malformed_pk KEY: a 500 Configuration Error naming the setting.
malformed_pk() {
	cgi_call --token "$(valid_token "$user")" -u CLERK_JWKS_URL \
		"CLERK_PUBLISHABLE_KEY=$1"
	assert_error 500 "Configuration Error" "CLERK_PUBLISHABLE_KEY"
}

@test "a publishable key without the pk_test_/pk_live_ prefix is a 500 naming the setting" {
	malformed_pk "sk_test_$(printf 'clerk.example.com$' | base64)"
}

@test "a publishable key that is not base64 is a 500 naming the setting" {
	malformed_pk 'pk_test_not*base64!'
}

@test "a publishable key without the closing \$ is a 500 naming the setting" {
	malformed_pk "pk_test_$(printf 'clerk.example.com' | base64)"
}

@test "a publishable key whose host is not a DNS name is a 500 naming the setting" {
	malformed_pk "pk_test_$(printf 'clerk example/com$' | base64)"
}

@test "a publishable key with a bad port is a 500 naming the setting" {
	malformed_pk "pk_test_$(printf 'clerk.example.com:99999$' | base64)"
}

@test "CLERK_JWKS_TTL that is not a number of seconds is a 500 naming it" {
	cgi_call --token "$(valid_token "$user")" CLERK_JWKS_TTL=1h
	assert_error 500 "Configuration Error" "CLERK_JWKS_TTL"
}

@test "CLERK_JWKS_MAX_STALE that is negative is a 500 naming it" {
	cgi_call --token "$(valid_token "$user")" CLERK_JWKS_MAX_STALE=-1
	assert_error 500 "Configuration Error" "CLERK_JWKS_MAX_STALE"
}

@test "a cache directory that cannot be made is passed over with a reason in the log" {
	cache=$BATS_TEST_TMPDIR/missing/parent/cache
	accepted "CHATKIT_CACHE_DIR=$cache"
	fetches 1
	assert_that "$cgi_stderr" =~ "key cache directory $cache cannot be made: No such file or directory: not used" "the log says why"
}
