#!/usr/bin/env bats
# cgi-process.bats: what only a process started for one request has, so
# this file runs in CGI mode alone (a FastCGI process starts with an
# empty environment, reads its body from FastCGI records and its settings
# again on a change): a stdin left unread, and a CHATKIT_CONFIG pipe read
# once.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# --- stdin and the settings file ---------------------------------------------

@test "CONTENT_LENGTH 65537 gets 413 without reading a still-open stdin" {
	local start tok
	tok=$(valid_token "$user") # minted before the clock starts
	start=$(now_ms)
	CGI=$(open_stdin_cgi) CGI_TIMEOUT=25 cgi_call --token "$tok" CONTENT_LENGTH=65537 \
		CONTENT_TYPE=application/json
	assert_error 413 'Payload Too Large'
	assert_header Content-Type '^application/json$'
	# The writer keeps the pipe open for 20 s; a read would still be
	# waiting. The margin is wide because a loaded machine is slow to
	# start a process, not because the program may wait.
	assert_near "$start" "$(now_ms)" 10000 "ms until the answer"
	assert_rows "$user" 0
}

@test "a CHATKIT_CONFIG pipe, whose size is unknown, is read whole past 4 KiB" {
	local conf=$BATS_TEST_TMPDIR/chatkit.conf
	mkfifo "$conf"
	# The writer gives up after 10 s if the program never opens the pipe.
	timeout 10 bash -c '{ yes "####################################" | head -c 20000
		printf "\nCHATKIT_WORKFLOW_ID=wf_from_pipe\n"; } >"$1"' _ "$conf" &
	session_call "$user" CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
	wait $!
	assert_status 200
	assert_json .session.workflowId wf_from_pipe
}
