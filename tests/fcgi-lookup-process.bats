#!/usr/bin/env bats
# fcgi-lookup-process.bats: what a lookup that never answers leaves in a
# long-lived FastCGI process. The rest of the lookup cases:
# cgi-lookup.bats (and its link fcgi-lookup.bats).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/timeout
load helpers/lookup

@test "a lookup that never answers leaves the FastCGI process no child and no descriptor" {
	local before
	session_call "$user" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	before=$(fcgi_children_fds)
	unavailable_within 3500 CHATKIT_DB_TIMEOUT=2 \
		CHATKIT_DATABASE_URL="$(url "$SILENT_HOST")"
	session_call "$user" CHATKIT_DB_TIMEOUT=2
	assert_status 200
	assert_equal "$(fcgi_children_fds)" "$before"
}

