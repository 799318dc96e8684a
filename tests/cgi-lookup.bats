#!/usr/bin/env bats
# cgi-lookup.bats: a database host given by name. CHATKIT_DB_TIMEOUT
# bounds its lookup too: with a resolver that never answers, the answer
# is 503 with Retry-After once the timeout has passed, not when the
# resolver gives up (10 s with the C library's defaults). A name that
# resolves still connects, with or without TLS, and verify-full still
# checks the certificate against the name.
#
# The program runs in a mount namespace of its own (unshare -m, so root
# only) where /etc/resolv.conf names a loopback nameserver that takes
# queries and never answers, and /etc/hosts names localhost and
# $NAMED_HOST. Linked as fcgi-lookup.bats: one long-lived process,
# started in that namespace, whose connection is kept.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/timeout
load helpers/lookup

@test "the namespace's resolver never answers for db.chatkit.test and knows pg.chatkit.test" {
	local -a ns
	mapfile -t ns < <(_in_namespace_cmd)
	run -124 timeout 3 "${ns[@]}" getent ahosts "$SILENT_HOST"
	run -0 "${ns[@]}" getent ahosts "$NAMED_HOST"
	assert_output --partial 127.0.0.1
}

@test "a host name whose lookup never answers gets 503 with Retry-After once CHATKIT_DB_TIMEOUT has passed" {
	unavailable_within 3500 CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="$(url "$SILENT_HOST")"
	((took >= 1900)) || fail "answered after $took ms, before the 2 s timeout"
	assert_regex "$cgi_stderr" \
		"chatkit-session: 503 database connection timed out looking up \"$SILENT_HOST\""
	assert_equal "$(grep -c . <<<"$cgi_stderr")" 1
}

@test "the default CHATKIT_DB_TIMEOUT of 5 seconds bounds the lookup" {
	unavailable_within 6500 CHATKIT_DATABASE_URL="$(url "$SILENT_HOST")"
	((took >= 4900)) || fail "answered after $took ms, before the 5 s default"
}

@test "a host name in a postgresql:// URI is bounded too" {
	unavailable_within 3500 CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="postgresql://chatkit@$SILENT_HOST:$PG_TEST_PORT/chatkit"
}

@test "a host list whose first name never answers gets 503 once CHATKIT_DB_TIMEOUT has passed" {
	unavailable_within 3500 CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="$(url "$SILENT_HOST,$NAMED_HOST")"
}

@test "a host name that resolves gets a session without TLS (sslmode=disable)" {
	session_call "$user" CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="$(url "$NAMED_HOST" sslmode=disable)"
	assert_status 200
	assert_json .session.userId "$user"
	assert_rows "$user" 1
}

@test "a host name that resolves gets a session with libpq's default sslmode" {
	session_call "$user" CHATKIT_DB_TIMEOUT=2 CHATKIT_DATABASE_URL="$(url "$NAMED_HOST")"
	assert_status 200
	assert_json .session.userId "$user"
}

@test "a host list of a name that resolves and a port list gets a session" {
	session_call "$user" CHATKIT_DB_TIMEOUT=2 CHATKIT_DATABASE_URL="postgresql://chatkit@$NAMED_HOST:$(random_free_port),localhost:$PG_TEST_PORT/chatkit"
	assert_status 200
	assert_json .session.userId "$user"
}

@test "verify-full checks the server's certificate against the host name looked up" {
	session_call "$user" CHATKIT_DB_TIMEOUT=2 CHATKIT_DATABASE_URL="$(url localhost \
		sslmode=verify-full sslrootcert="$PG_TEST_CA")"
	assert_status 200
	assert_json .session.userId "$user"
}

@test "verify-full refuses a name the certificate lacks, though its address is in it" {
	# The certificate names localhost and 127.0.0.1: checked against the
	# address, this would pass.
	unavailable_within 3500 CHATKIT_DB_TIMEOUT=2 CHATKIT_DATABASE_URL="$(url "$NAMED_HOST" \
		sslmode=verify-full sslrootcert="$PG_TEST_CA")"
	assert_regex "$cgi_stderr" "does not match host name \"$NAMED_HOST\""
}

@test "hostaddr beside a name needs no lookup" {
	session_call "$user" CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="$(url "$SILENT_HOST" hostaddr=127.0.0.1 sslmode=disable)"
	assert_status 200
	assert_json .session.userId "$user"
}

@test "a numeric host needs no lookup" {
	session_call "$user" CHATKIT_DB_TIMEOUT=2 CHATKIT_DATABASE_URL="$(url 127.0.0.1)"
	assert_status 200
	assert_json .session.userId "$user"
}
