# timeout.bash: a request that waits for a database that does not
# answer (cgi-timeout.bats, pgbouncer-timeout.bats, fcgi-persistent.bats,
# and the name lookups' files through helpers/lookup). Load after
# helpers/common, helpers/session, helpers/pglock and helpers/pgstop
# (unavailable_within alone needs only the first two).

# unavailable_within MS [cgi_call ARGS...]: a valid request of $user gets
# 503 with Retry-After in at most MS milliseconds (the token is minted
# before the clock starts); sets took (ms). The bounds leave room for a
# loaded machine; without a timeout the request would wait for the lock
# (40 s) or the resolver's own timeouts, and cgi_call would stop it
# after 25 s.
unavailable_within() {
	local limit=$1 tok start
	shift
	tok=$(valid_token "$user") || die "could not mint a token for $user" || return
	start=$(now_ms)
	CGI_TIMEOUT=25 cgi_call --token "$tok" "$@"
	took=$(($(now_ms) - start))
	assert_error 503 'Service Unavailable'
	assert_header Retry-After '^[0-9]+$'
	((took <= limit)) ||
		fail "the answer took $took ms, more than $limit ms"
}

# stopped_within MS [cgi_call ARGS...]: with users locked, a request
# with CHATKIT_DB_TIMEOUT=2 whose statement waits for the lock; a second
# in, once a backend is seen waiting, the server (behind pgbouncer,
# pgbouncer too) is stopped. The answer is 503 with Retry-After in at
# most MS milliseconds (the token is minted before the clock starts),
# and the log says the cancel went unanswered. Sets took (ms). The
# program's bound is the timeout and the cancel's second; the rest of MS
# is for starting it on a loaded machine.
stopped_within() {
	local limit=$1 tok start
	shift
	tok=$(valid_token "$user") || die "could not mint a token for $user" || return
	lock_users
	stop_database_after 1 lock_waited_for
	start=$(now_ms)
	CGI_TIMEOUT=25 cgi_call --token "$tok" CHATKIT_DB_TIMEOUT=2 "$@"
	took=$(($(now_ms) - start))
	assert_error 503 'Service Unavailable'
	assert_header Retry-After '^[0-9]+$'
	((took <= limit)) ||
		fail "the answer took $took ms, more than $limit ms"
	assert_regex "$cgi_stderr" \
		'(^|'$'\n'')chatkit-session: database: no answer to a cancel request within 1000 ms; connection closed'$'\n'
}

# lock_waited_for: a backend waits for a lock now.
lock_waited_for() {
	(($(waiting_backends) > 0))
}
