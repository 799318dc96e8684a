#!/usr/bin/env bats
# cgi-config.bats: settings from the environment and from the CHATKIT_CONFIG
# file. A missing or nonsensical setting is a 500 Configuration Error that
# names the variable on stderr and never shows a secret to the client:
# here once end to end, with what needs a real file or key. How each
# value is read and checked is tests/unit/config.txt (through config_load).

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

@test "an unreadable CLERK_JWT_KEY_FILE gets 500" {
	((EUID != 0)) || skip "root reads files whatever their mode"
	cp "$KEY_PUB" "$BATS_TEST_TMPDIR/k.pem"
	chmod 000 "$BATS_TEST_TMPDIR/k.pem"
	config_error CLERK_JWT_KEY_FILE="$BATS_TEST_TMPDIR/k.pem"
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
