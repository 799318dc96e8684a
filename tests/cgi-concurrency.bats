#!/usr/bin/env bats
# cgi-concurrency.bats: many requests of one user at once end with exactly
# one active session, and every request returns it; the device cap and
# the creation rate hold under concurrent creates; --cleanup runs beside
# requests.
#
# Each test starts 20 programs in the background, released together, each
# bounded by cgi_call's timeout, and waits for all of them.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

CGI_TIMEOUT=20
# As fcgi-concurrency.bats: four long-lived processes take the requests,
# as a server's pool would, so they still meet in the database at once.
FCGI_PROCESSES=4

# burst N [cgi_call ARGS...]: N concurrent requests for $user with one
# valid token; @I@ in an argument becomes the request's number (1..N).
# Sets $results to N lines "STATUS chatKitSessionId deviceId" (sorted);
# each request's cgi_call log is in $BATS_TEST_TMPDIR/burst/I.log.
burst() {
	local n=$1 i tok dir=$BATS_TEST_TMPDIR/burst
	local -a pids=()
	shift
	mkdir -p "$dir"
	rm -f "$dir"/*
	tok=$(valid_token "$user")
	for ((i = 1; i <= n; i++)); do
		(
			local w=0
			# Start line: all requests leave together (at most 5 s).
			while [[ ! -e $dir/go ]] && ((w++ < 500)); do
				sleep 0.01
			done
			cgi_call --token "$tok" "${@//@I@/$i}" >"$dir/$i.log" 2>&1 || true
			printf '%s %s %s\n' "$http_status" \
				"$(jq -r .session.chatKitSessionId <<<"$http_body" 2>/dev/null)" \
				"$(jq -r .session.deviceId <<<"$http_body" 2>/dev/null)" \
				>"$dir/$i.res"
		) &
		pids+=($!)
	done
	: >"$dir/go"
	for i in "${pids[@]}"; do
		wait "$i" || true
	done
	results=$(cat "$dir"/*.res | sort)
	# Shown only when a test fails: what each request saw.
	printf '# burst of %s: status, chatKitSessionId, deviceId (count)\n' "$n"
	uniq -c <<<"$results" | sed 's/^/#   /'
}

# assert_all_ok N: every one of N requests answered 200.
assert_all_ok() {
	assert_that "$(grep -c '^200 ' <<<"$results")" == "$1" "requests answered 200"
}

# assert_distinct N: the requests saw N distinct chatKitSessionIds.
assert_distinct() {
	assert_that "$(cut -d' ' -f2 <<<"$results" | sort -u | wc -l)" == "$1" \
		"distinct chatKitSessionIds"
}

@test "20 concurrent requests of a new user all get one and the same session" {
	burst 20
	assert_all_ok 20
	assert_distinct 1
	assert_rows "$user" 1 "status = 'active'"
	assert_rows "$user" 1
}

@test "20 concurrent requests of a new user for one device all get one session" {
	burst 20 --body '{"deviceId":"device-race"}'
	assert_all_ok 20
	assert_distinct 1
	assert_that "$(head -n 1 <<<"$results")" =~ " device-race$" deviceId
	assert_rows "$user" 1 "status = 'active' and device_id = 'device-race'"
	assert_rows "$user" 1
}

@test "20 concurrent requests for a session due for refresh all get the one new id" {
	local old
	session_call "$user"
	assert_status 200
	old=$(json_field .session.chatKitSessionId)
	pg_sql "update chatkit_sessions set expires_at = now() + interval '30 minutes'
		 where clerk_user_id = :'id'" id="$user"
	burst 20
	assert_all_ok 20
	assert_distinct 1
	assert_that "$(head -n 1 <<<"$results" | cut -d' ' -f2)" != "$old" \
		"chatKitSessionId after refresh"
	assert_rows "$user" 1 "status = 'active' and expires_at > now() + interval '23 hours'"
	assert_rows "$user" 1
}

@test "20 concurrent requests after the only session expired create one new session" {
	local old
	session_call "$user" --body '{"deviceId":"device-exp"}'
	assert_status 200
	old=$(json_field .session.chatKitSessionId)
	pg_sql "update chatkit_sessions set expires_at = now() - interval '1 minute'
		 where clerk_user_id = :'id'" id="$user"
	burst 20 --body '{"deviceId":"device-exp"}'
	assert_all_ok 20
	assert_distinct 1
	assert_that "$(head -n 1 <<<"$results" | cut -d' ' -f2)" != "$old" \
		"chatKitSessionId after expiry"
	assert_rows "$user" 1 "status = 'active'"
	assert_rows "$user" 2
}

@test "concurrent requests for two devices of one user end with one session each" {
	local dir=$BATS_TEST_TMPDIR/two
	mkdir -p "$dir"
	# Two bursts of 10 at once, one per device.
	(BATS_TEST_TMPDIR=$dir/a && mkdir -p "$BATS_TEST_TMPDIR" &&
		burst 10 --body '{"deviceId":"device-a"}' >/dev/null &&
		printf '%s\n' "$results" >"$dir/a.txt") &
	local pa=$!
	(BATS_TEST_TMPDIR=$dir/b && mkdir -p "$BATS_TEST_TMPDIR" &&
		burst 10 --body '{"deviceId":"device-b"}' >/dev/null &&
		printf '%s\n' "$results" >"$dir/b.txt") &
	local pb=$!
	wait "$pa" || true
	wait "$pb" || true
	results=$(cat "$dir/a.txt" "$dir/b.txt" | sort)
	uniq -c <<<"$results" | sed 's/^/#   /'
	assert_all_ok 20
	assert_distinct 2
	assert_rows "$user" 1 "status = 'active' and device_id = 'device-a'"
	assert_rows "$user" 1 "status = 'active' and device_id = 'device-b'"
	assert_rows "$user" 2
}

@test "20 concurrent creates of new devices under a cap of 3 end with exactly 3 active sessions" {
	cgi_env+=(CHATKIT_MAX_DEVICES=3 CHATKIT_CREATE_RATE=0)
	burst 20 --body '{"deviceId":"cap-@I@"}'
	assert_all_ok 20
	assert_distinct 20
	assert_rows "$user" 3 "status = 'active'"
	assert_rows "$user" 17 "status = 'revoked'"
	assert_rows "$user" 20
}

@test "20 concurrent creates under a rate of 5 give exactly 5 creates and 15 answers of 429" {
	cgi_env+=(CHATKIT_CREATE_RATE=5)
	burst 20 --body '{"deviceId":"rate-@I@"}'
	assert_that "$(grep -c '^200 ' <<<"$results")" == 5 "requests answered 200"
	assert_that "$(grep -c '^429 ' <<<"$results")" == 15 "requests answered 429"
	assert_that "$(grep -l '^#   Retry-After: [1-9][0-9]*$' "$BATS_TEST_TMPDIR"/burst/*.log |
		wc -l)" == 15 "answers with a Retry-After"
	assert_rows "$user" 5
	assert_rows "$user" 5 "status = 'active'"
}

@test "--cleanup beside 20 concurrent requests deletes the old rows and every request succeeds" {
	local out rc=0
	pg_sql "insert into chatkit_sessions (id, clerk_user_id, device_id, workflow_id,
			session_token, status, expires_at, last_activity_at, created_at, updated_at)
		select gen_random_uuid(), :'u', 'old-' || g, 'wf_seed', gen_random_uuid()::text,
			case when g % 2 = 0 then 'expired' else 'revoked' end,
			now() - interval '39 days', now() - interval '40 days',
			now() - interval '40 days', now() - interval '39 days'
		  from generate_series(1, 3000) g" u="$user" >/dev/null
	out=$BATS_TEST_TMPDIR/cleanup.out
	timeout -k 5 120 env -i PATH=/usr/bin:/bin "${cgi_env[@]}" "$CGI" --cleanup \
		>"$out" 2>&1 3>&- &
	local pid=$!
	burst 20 --body '{"deviceId":"busy-@I@"}'
	wait "$pid" || rc=$?
	printf '# --cleanup -> exit %s: %s\n' "$rc" "$(<"$out")"
	assert_that "$rc" == 0 "--cleanup exit status"
	assert_all_ok 20
	assert_that "$(<"$out")" =~ 'cleanup: 0 marked expired, 1500 expired and 1500 revoked rows deleted' \
		"--cleanup output"
	assert_rows "$user" 0 "device_id like 'old-%'"
	assert_rows "$user" 10 "status = 'active'"
}
