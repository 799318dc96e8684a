#!/usr/bin/env bats
# cgi-config.bats: settings from the environment and from the CHATKIT_CONFIG
# file. A missing or nonsensical setting is a 500 Configuration Error that
# names the variable on stderr and never shows a secret to the client.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

setup() {
	cgi_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
	conf=$BATS_TEST_TMPDIR/chatkit.conf
}

# config_error [cgi_call ARGS...]: a request with a valid token gets 500
# Configuration Error as JSON and opens no session.
config_error() {
	session_call "$user" "$@"
	assert_error 500 'Configuration Error'
	assert_header Content-Type '^application/json$'
	assert_rows "$user" 0
}

# assert_stderr_names WORD: the program's stderr mentions WORD.
assert_stderr_names() {
	assert_that "$cgi_stderr" =~ "$1" "stderr of the program"
}

# --- required settings -----------------------------------------------------

@test "CHATKIT_WORKFLOW_ID unset gets 500 workflow ID not configured" {
	config_error -u CHATKIT_WORKFLOW_ID
	assert_that "$(json_field .message)" =~ 'workflow ID not configured' message
	assert_stderr_names CHATKIT_WORKFLOW_ID
}

@test "an empty CHATKIT_WORKFLOW_ID counts as unset" {
	config_error CHATKIT_WORKFLOW_ID=
	assert_that "$(json_field .message)" =~ 'workflow ID not configured' message
}

@test "a configuration error comes before the token check" {
	cgi_call -u CHATKIT_WORKFLOW_ID
	assert_error 500 'Configuration Error'
	refute_header WWW-Authenticate
}

@test "a configuration error makes no database connection" {
	config_error -u CHATKIT_WORKFLOW_ID CHATKIT_DATABASE_URL="$(pg_dead_url)"
	refute_header Retry-After
}

@test "a configuration error is one line in the error log, with its reason" {
	config_error CHATKIT_SESSION_TTL=abc
	assert_equal "$(grep -c . <<<"$cgi_stderr")" 1
	assert_regex "$cgi_stderr" \
		'^chatkit-session: 500 configuration error: CHATKIT_SESSION_TTL="abc"'
}

@test "no verification key configured gets 500" {
	config_error -u CLERK_JWT_KEY_FILE
	assert_stderr_names CLERK_JWT_KEY
}

@test "a missing CLERK_JWT_KEY_FILE gets 500" {
	config_error CLERK_JWT_KEY_FILE="$BATS_TEST_TMPDIR/no-such.pem"
	assert_stderr_names CLERK_JWT_KEY_FILE
}

@test "a CLERK_JWT_KEY_FILE that is a directory gets 500" {
	config_error CLERK_JWT_KEY_FILE="$BATS_TEST_TMPDIR"
	assert_stderr_names CLERK_JWT_KEY_FILE
}

@test "an unreadable CLERK_JWT_KEY_FILE gets 500" {
	((EUID != 0)) || skip "root reads files whatever their mode"
	cp "$KEY_PUB" "$BATS_TEST_TMPDIR/k.pem"
	chmod 000 "$BATS_TEST_TMPDIR/k.pem"
	config_error CLERK_JWT_KEY_FILE="$BATS_TEST_TMPDIR/k.pem"
}

@test "a CLERK_JWT_KEY_FILE that holds no PEM key gets 500" {
	printf 'not a key\n' >"$BATS_TEST_TMPDIR/k.pem"
	config_error CLERK_JWT_KEY_FILE="$BATS_TEST_TMPDIR/k.pem"
}

@test "a missing CLERK_JWKS_FILE gets 500" {
	config_error -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$BATS_TEST_TMPDIR/no-jwks.json"
	assert_stderr_names CLERK_JWKS_FILE
}

@test "a CLERK_JWT_KEY that is not a key gets 500 and its text is not shown" {
	config_error -u CLERK_JWT_KEY_FILE CLERK_JWT_KEY=SeCrEtKeYtExT4711
	refute_contains 'SeCrEtKeYtExT4711' "$http_body" body
	refute_contains 'SeCrEtKeYtExT4711' "$cgi_stderr" stderr
	assert_stderr_names CLERK_JWT_KEY
}

# --- key material -----------------------------------------------------------

# jwks_with N E: path of a JWKS file of one key kid-main with the given
# base64url modulus and exponent.
jwks_with() {
	printf '{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"kid-main","n":"%s","e":"%s"}]}\n' \
		"$1" "$2" >"$BATS_TEST_TMPDIR/jwks-custom.json"
	printf '%s\n' "$BATS_TEST_TMPDIR/jwks-custom.json"
}

# main_n: the base64url modulus of the main key.
main_n() {
	jq -r '.keys[0].n' "$JWKS_MAIN_FILE"
}

@test "a JWKS key with public exponent 1 gets 500 (it would sign anything)" {
	config_error -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$(jwks_with "$(main_n)" AQ)"
	assert_stderr_names 'unusable public exponent'
}

@test "a JWKS key with an even public exponent gets 500" {
	config_error -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$(jwks_with "$(main_n)" AQAA)"
	assert_stderr_names 'unusable public exponent'
}

@test "a JWKS key with an even modulus gets 500" {
	local n
	n=$(main_n)
	# The last base64url digit carries the modulus's lowest bits; A is even.
	config_error -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$(jwks_with "${n%?}A" AQAB)"
	assert_stderr_names 'even modulus'
}

@test "a 1024-bit PEM key gets 500" {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 2>/dev/null |
		openssl pkey -pubout -out "$BATS_TEST_TMPDIR/small.pem"
	config_error CLERK_JWT_KEY_FILE="$BATS_TEST_TMPDIR/small.pem"
	assert_stderr_names '1024 bits'
}

@test "a JWKS modulus above 16384 bits gets 500" {
	local n
	n=$(head -c 2049 /dev/urandom | b64url)
	config_error -u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$(jwks_with "$n" AQAB)"
	assert_stderr_names CLERK_JWKS_FILE
}

# --- values that do not parse or make no sense ------------------------------

@test "CHATKIT_SESSION_TTL=abc gets 500 naming the variable" {
	config_error CHATKIT_SESSION_TTL=abc
	assert_stderr_names CHATKIT_SESSION_TTL
}

@test "CHATKIT_SESSION_TTL=0 gets 500" {
	config_error CHATKIT_SESSION_TTL=0
	assert_stderr_names CHATKIT_SESSION_TTL
}

@test "a negative CHATKIT_SESSION_TTL gets 500" {
	config_error CHATKIT_SESSION_TTL=-60
}

@test "CHATKIT_SESSION_TTL with trailing text gets 500" {
	config_error CHATKIT_SESSION_TTL=600s
}

@test "CHATKIT_SESSION_TTL above ten years gets 500" {
	config_error CHATKIT_SESSION_TTL=315360001
}

@test "CHATKIT_SESSION_TTL of ten years is accepted" {
	session_call "$user" CHATKIT_SESSION_TTL=315360000
	assert_status 200
	assert_json .session.userId "$user"
	assert_header Cache-Control '^no-store$'
}

@test "CLERK_CLOCK_SKEW=-1 gets 500 naming the variable" {
	config_error CLERK_CLOCK_SKEW=-1
	assert_stderr_names CLERK_CLOCK_SKEW
}

@test "CLERK_CLOCK_SKEW=abc gets 500" {
	config_error CLERK_CLOCK_SKEW=abc
}

@test "CLERK_CLOCK_SKEW above a day gets 500" {
	config_error CLERK_CLOCK_SKEW=86401
}

@test "CHATKIT_REFRESH_THRESHOLD equal to the TTL gets 500" {
	config_error CHATKIT_SESSION_TTL=600 CHATKIT_REFRESH_THRESHOLD=600
	assert_stderr_names CHATKIT_REFRESH_THRESHOLD
}

@test "CHATKIT_REFRESH_THRESHOLD above the TTL gets 500" {
	config_error CHATKIT_SESSION_TTL=600 CHATKIT_REFRESH_THRESHOLD=601
}

# A list of only separators names no entry: read as "no list", it would
# switch the role or azp check off.
@test "CHATKIT_ALLOWED_ROLES of only a comma gets 500 naming the variable" {
	config_error CHATKIT_ALLOWED_ROLES=,
	assert_stderr_names CHATKIT_ALLOWED_ROLES
}

@test "CHATKIT_ALLOWED_ROLES of only blanks and commas gets 500" {
	config_error 'CHATKIT_ALLOWED_ROLES= , '
	assert_stderr_names CHATKIT_ALLOWED_ROLES
}

@test "CLERK_AUTHORIZED_PARTIES of only a comma gets 500 naming the variable" {
	config_error CLERK_AUTHORIZED_PARTIES=,
	assert_stderr_names CLERK_AUTHORIZED_PARTIES
}

@test "a list of only commas in the file gets 500" {
	printf 'CHATKIT_ALLOWED_ROLES=,,\n' >"$conf"
	config_error CHATKIT_CONFIG="$conf"
	assert_stderr_names CHATKIT_ALLOWED_ROLES
}

@test "empty entries around a role are dropped and the role still applies" {
	session_call "$user" 'CHATKIT_ALLOWED_ROLES= ,admin, '
	assert_error 403 Forbidden '^User role not allowed'
	assert_rows "$user" 0
}

# docs/configuration.md: with CHATKIT_REFRESH_THRESHOLD unset and a TTL of 3600 or less,
# the threshold is half the TTL (the 3600 default would not fit).
@test "with a TTL of 600 and no threshold a session with 400 s left is reused" {
	local first
	session_call "$user" CHATKIT_SESSION_TTL=600
	assert_status 200
	first=$(json_field .session.chatKitSessionId)
	pg_sql "update chatkit_sessions set expires_at = now() + interval '400 seconds'
		 where clerk_user_id = :'id'" id="$user"
	session_call "$user" CHATKIT_SESSION_TTL=600
	assert_status 200
	assert_json .session.chatKitSessionId "$first"
}

@test "with a TTL of 600 and no threshold a session with 250 s left is refreshed" {
	local first
	session_call "$user" CHATKIT_SESSION_TTL=600
	assert_status 200
	first=$(json_field .session.chatKitSessionId)
	pg_sql "update chatkit_sessions set expires_at = now() + interval '250 seconds'
		 where clerk_user_id = :'id'" id="$user"
	session_call "$user" CHATKIT_SESSION_TTL=600
	assert_status 200
	assert_that "$(json_field .session.chatKitSessionId)" != "$first" \
		"chatKitSessionId with 250 s of 600 left"
}

@test "a negative CHATKIT_REFRESH_THRESHOLD gets 500" {
	config_error CHATKIT_REFRESH_THRESHOLD=-1
}

@test "CHATKIT_REFRESH_THRESHOLD one below the TTL is accepted" {
	session_call "$user" CHATKIT_SESSION_TTL=600 CHATKIT_REFRESH_THRESHOLD=599
	assert_status 200
	assert_json .session.userId "$user"
}

# --- the CHATKIT_CONFIG file -----------------------------------------------

@test "the CHATKIT_CONFIG file supplies workflow id, key file and database" {
	cat >"$conf" <<-EOF
		# chatkit-session settings

		CHATKIT_WORKFLOW_ID=wf_from_file
		  # an indented comment
		CLERK_JWT_KEY_FILE=$KEY_PUB

		CHATKIT_DATABASE_URL=$CHATKIT_DATABASE_URL
	EOF
	session_call "$user" CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID \
		-u CLERK_JWT_KEY_FILE -u CHATKIT_DATABASE_URL
	assert_status 200
	assert_json .session.workflowId wf_from_file
	assert_header Content-Type '^application/json$'
}

@test "the environment wins over the CHATKIT_CONFIG file" {
	printf 'CHATKIT_WORKFLOW_ID=wf_from_file\n' >"$conf"
	session_call "$user" CHATKIT_CONFIG="$conf" CHATKIT_WORKFLOW_ID=wf_from_env
	assert_status 200
	assert_json .session.workflowId wf_from_env
}

@test "an empty environment value leaves the file's value in force" {
	printf 'CHATKIT_WORKFLOW_ID=wf_from_file\n' >"$conf"
	session_call "$user" CHATKIT_CONFIG="$conf" CHATKIT_WORKFLOW_ID=
	assert_status 200
	assert_json .session.workflowId wf_from_file
}

@test "blanks and matching quotes around file values are removed" {
	printf '  CHATKIT_WORKFLOW_ID  =  "wf_quoted"  \n' >"$conf"
	session_call "$user" CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
	assert_status 200
	assert_json .session.workflowId wf_quoted
}

@test "a CRLF config file is read like an LF one" {
	printf '# windows\r\nCHATKIT_WORKFLOW_ID=wf_crlf\r\n' >"$conf"
	session_call "$user" CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
	assert_status 200
	assert_json .session.workflowId wf_crlf
}

@test "settings from the file shape sessions: TTL" {
	printf 'CHATKIT_SESSION_TTL=1200\nCHATKIT_REFRESH_THRESHOLD=60\n' >"$conf"
	session_call "$user" CHATKIT_CONFIG="$conf"
	assert_status 200
	assert_that "$(($(iso_ms "$(json_field .session.expiresAt)") - \
		$(iso_ms "$(json_field .session.createdAt)")))" == 1200000 "expiresAt - createdAt in ms"
}

@test "settings from the file shape sessions: CHATKIT_ALLOWED_ROLES" {
	printf 'CHATKIT_ALLOWED_ROLES=admin\n' >"$conf"
	session_call "$user" CHATKIT_CONFIG="$conf"
	assert_error 403 Forbidden '^User role not allowed'
	assert_rows "$user" 0
}

@test "an unknown key in the file is ignored" {
	printf 'CHATKIT_NO_SUCH_SETTING=1\n' >"$conf"
	session_call "$user" CHATKIT_CONFIG="$conf"
	assert_status 200
	assert_json .session.userId "$user"
}

@test "a file line without = gets 500" {
	printf 'CHATKIT_SESSION_TTL=600\nCHATKIT_WORKFLOW_ID wf\n' >"$conf"
	config_error CHATKIT_CONFIG="$conf"
	assert_stderr_names 'line 2'
}

@test "a bad value in the file gets 500 naming the variable" {
	printf 'CHATKIT_SESSION_TTL=abc\n' >"$conf"
	config_error CHATKIT_CONFIG="$conf"
	assert_stderr_names CHATKIT_SESSION_TTL
}

@test "a file line longer than 16 KiB gets 500" {
	printf 'CHATKIT_WORKFLOW_ID=%s\n' "$(printf 'w%.0s' $(seq 17000))" >"$conf"
	config_error CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
}

@test "a CHATKIT_CONFIG file of 64 KiB is read; one byte more gets 500" {
	# Comment lines fill the file up to the limit; the setting comes last.
	fill_conf() {
		local size=$1 line
		line="CHATKIT_WORKFLOW_ID=wf_at_the_end"
		{
			yes '###################################################' |
				head -c $((size - ${#line} - 2))
			printf '\n%s\n' "$line"
		} >"$conf"
		assert_that "$(stat -c %s "$conf")" == "$size" "size of $conf"
	}
	fill_conf 65536
	session_call "$user" CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
	assert_status 200
	assert_json .session.workflowId wf_at_the_end
	fill_conf 65537
	user=$(unique_id)
	pg_add_user "$user"
	config_error CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
	assert_stderr_names "larger than 65536 bytes"
}

@test "a CHATKIT_CONFIG pipe, whose size is unknown, is read whole past 4 KiB" {
	skip_in_fastcgi "a FIFO can be read once; a FastCGI process reads its settings again"
	mkfifo "$conf"
	# The writer gives up after 10 s if the program never opens the pipe.
	timeout 10 bash -c '{ yes "####################################" | head -c 20000
		printf "\nCHATKIT_WORKFLOW_ID=wf_from_pipe\n"; } >"$1"' _ "$conf" &
	session_call "$user" CHATKIT_CONFIG="$conf" -u CHATKIT_WORKFLOW_ID
	wait $!
	assert_status 200
	assert_json .session.workflowId wf_from_pipe
}

@test "CHATKIT_CONFIG naming a missing file gets 500" {
	config_error CHATKIT_CONFIG="$BATS_TEST_TMPDIR/missing.conf"
	assert_stderr_names missing.conf
}

@test "CHATKIT_CONFIG naming a directory gets 500" {
	config_error CHATKIT_CONFIG="$BATS_TEST_TMPDIR"
}

# --- secrets ---------------------------------------------------------------

@test "a configuration error never shows the database password" {
	printf 'CHATKIT_DATABASE_URL=%s password=Pw0rdS3cret\n' \
		"$CHATKIT_DATABASE_URL" >"$conf"
	config_error CHATKIT_CONFIG="$conf" -u CHATKIT_DATABASE_URL \
		CHATKIT_SESSION_TTL=abc
	refute_contains 'Pw0rdS3cret' "$http_body" body
	refute_contains 'Pw0rdS3cret' "$cgi_stderr" stderr
}

@test "a configuration error never shows the key text" {
	local pem
	pem=$(sed -n 2p "$KEY_PUB")
	config_error -u CLERK_JWT_KEY_FILE CLERK_JWT_KEY="$(<"$KEY_PUB")" \
		CHATKIT_SESSION_TTL=abc
	refute_contains "$pem" "$http_body" body
	refute_contains "$pem" "$cgi_stderr" stderr
}

@test "a broken key in the file is not shown" {
	printf 'CLERK_JWT_KEY=-----BEGIN PUBLIC KEY-----\\nS3cretBrokenKeyBody\\n-----END PUBLIC KEY-----\n' >"$conf"
	config_error CHATKIT_CONFIG="$conf" -u CLERK_JWT_KEY_FILE
	refute_contains 'S3cretBrokenKeyBody' "$http_body" body
	refute_contains 'S3cretBrokenKeyBody' "$cgi_stderr" stderr
}
