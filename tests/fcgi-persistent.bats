#!/usr/bin/env bats
# fcgi-persistent.bats: one long-lived FastCGI process of the program:
# it keeps serving, notices changed configuration and keys, survives a
# PostgreSQL restart, and does not grow.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session

setup_file() {
	[[ ${HAVE_FASTCGI:-yes} == yes ]] || skip "built without FastCGI support"
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start
	fcgi_start
}

teardown_file() {
	fcgi_stop
	pg_stop
}

setup() {
	cgi_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
}

# rss_kb: the FastCGI process's resident set, in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$FCGI_PID/status"
}

@test "one FastCGI process answers many requests with the same session" {
	local first i
	session_call "$user"
	assert_status 200
	first=$(json_field .session.chatKitSessionId)
	for ((i = 0; i < 30; i++)); do
		session_call "$user"
		assert_status 200
		assert_json .session.chatKitSessionId "$first"
	done
	run -0 kill -0 "$FCGI_PID"
}

@test "a changed CHATKIT_CONFIG file is read again without a restart" {
	local conf=$BATS_TEST_TMPDIR/chatkit.conf
	printf 'CHATKIT_WORKFLOW_ID=wf_before\n' >"$conf"
	session_call "$user" -u CHATKIT_WORKFLOW_ID CHATKIT_CONFIG="$conf" \
		--body '{"deviceId":"before"}'
	assert_status 200
	assert_json .session.workflowId wf_before

	printf 'CHATKIT_WORKFLOW_ID=wf_after_the_change\n' >"$conf"
	session_call "$user" -u CHATKIT_WORKFLOW_ID CHATKIT_CONFIG="$conf" \
		--body '{"deviceId":"after"}'
	assert_status 200
	assert_json .session.workflowId wf_after_the_change
}

@test "a replaced key file is read again: the old key's tokens stop working" {
	local keyfile=$BATS_TEST_TMPDIR/clerk.pem tok_main tok_other
	cp "$KEY_PUB" "$keyfile"
	tok_main=$(valid_token "$user")
	tok_other=$(mint_token --key "$OTHER_PRIV" --payload "$(claims "$user")")

	cgi_call --token "$tok_main" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 200
	cgi_call --token "$tok_other" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 401

	cp "$OTHER_PUB" "$keyfile.new" && mv "$keyfile.new" "$keyfile"
	cgi_call --token "$tok_main" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 401
	cgi_call --token "$tok_other" CLERK_JWT_KEY_FILE="$keyfile"
	assert_status 200
}

@test "a settings change sent as FastCGI params takes effect at once" {
	session_call "$user" CHATKIT_WORKFLOW_ID=wf_param_one --body '{"deviceId":"p1"}'
	assert_status 200
	assert_json .session.workflowId wf_param_one
	session_call "$user" CHATKIT_WORKFLOW_ID=wf_param_two --body '{"deviceId":"p2"}'
	assert_status 200
	assert_json .session.workflowId wf_param_two
	session_call "$user" -u CHATKIT_WORKFLOW_ID --body '{"deviceId":"p3"}'
	assert_error 500 "Configuration Error" "workflow ID not configured"
}

@test "after a PostgreSQL restart the next request succeeds on a new connection" {
	local id
	session_call "$user"
	assert_status 200
	id=$(json_field .session.chatKitSessionId)

	pg_restart
	session_call "$user"
	assert_status 200
	assert_json .session.chatKitSessionId "$id"
	assert 1 == "$(rows "$user" "status = 'active'")" "active rows"
}

@test "memory stays flat over 2000 requests" {
	# AddressSanitizer keeps freed memory in quarantine on purpose; its
	# LeakSanitizer checks leaks in that build instead.
	[[ ${SANITIZERS:-no} != yes ]] || skip "RSS is not meaningful under AddressSanitizer"
	local before after i tok
	tok=$(valid_token "$user")
	for ((i = 0; i < 200; i++)); do
		cgi_call --token "$tok" --body '{"metadata":{"warm":"up"}}'
	done
	assert_status 200
	before=$(rss_kb)
	for ((i = 0; i < 2000; i++)); do
		case $((i % 4)) in
		0) cgi_call --token "$tok" --body '{"metadata":{"k":"v"}}' ;;
		1) cgi_call --token "x$tok" ;;
		2) cgi_call --token "$tok" --body '[1,2' ;;
		3) cgi_call -X GET ;;
		esac
	done >/dev/null
	after=$(rss_kb)
	# Allocator noise is a few pages; a leak of even 100 bytes a request
	# would add about 200 KiB here.
	((after - before < 200)) ||
		die "RSS grew by $((after - before)) KiB ($before -> $after KiB)"
}

@test "a token that passed once is still refused once it expires" {
	local tok
	tok=$(valid_token "$user" exp:=$(($(now) + 2)))
	cgi_call --token "$tok" CLERK_CLOCK_SKEW=0
	assert_status 200
	cgi_call --token "$tok" CLERK_CLOCK_SKEW=0
	assert_status 200
	sleep 3
	cgi_call --token "$tok" CLERK_CLOCK_SKEW=0
	assert_error 401 Unauthorized "expired"
}
