#!/usr/bin/env bats
# cgi-token.bats: which Clerk session tokens the program accepts, from
# which key sources, and that a refused token never reaches the database.
#
# Every token is minted with the openssl CLI (helpers/tokens.bash). Each
# test seeds its own active user first, so a refused token is refused for
# the token's sake and an accepted one answers 200.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/fixture
load helpers/strict-json

# refused TOKEN [cgi_call ARGS...]: the token is rejected as invalid: 401,
# the error shape, and an RFC 6750 invalid_token challenge.
refused() {
	local tok=$1
	shift
	cgi_call --token "$tok" "$@"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit", error="invalid_token"'
}

# accepted TOKEN [cgi_call ARGS...]: the token opens a session for $user.
accepted() {
	local tok=$1
	shift
	cgi_call --token "$tok" "$@"
	assert_status 200
	assert_json .session.userId "$user"
}

# token_of_length LEN USER: a valid RS256 token exactly LEN bytes long,
# padded with a "pad" claim (and blanks in the header when base64url
# cannot reach LEN otherwise).
token_of_length() {
	local want=$1 base hdr sp need k pad
	base=$(claims "$2" pad=PADHERE)
	for sp in '' ' ' '  '; do
		hdr="{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\"$sp}"
		# header.payload.signature; a 2048-bit signature is 342 chars.
		need=$((want - (4 * ${#hdr} + 2) / 3 - 2 - 342))
		((need % 4 != 1)) || continue
		k=$((3 * need / 4 - (${#base} - 7)))
		pad=$(printf '%*s' "$k" '' | tr ' ' x)
		mint_token --header "$hdr" --payload "${base/PADHERE/$pad}"
		return
	done
}

# --- credentials present or not ---------------------------------------

@test "a request without credentials gets 401 with a bare Bearer challenge" {
	cgi_call
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit"$'
}

@test "a Basic Authorization header gets 401" {
	cgi_call HTTP_AUTHORIZATION="Basic $(printf 'u:p' | base64)"
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit"'
}

@test "a valid RS256 token opens a session for its sub" {
	accepted "$(valid_token "$user")"
	assert_json .session.workflowId "$CGI_WORKFLOW_ID"
	assert_header Content-Type '^application/json'
	assert_header Cache-Control '^no-store$'
}

@test "the Bearer scheme is accepted in any case" {
	cgi_call HTTP_AUTHORIZATION="bEARER $(valid_token "$user")"
	assert_status 200
	assert_json .session.userId "$user"
}

# --- malformed ------------------------------------------------------------

@test "a token with two parts gets 401" {
	local tok
	tok=$(valid_token "$user")
	refused "${tok%.*}"
}

@test "a token with four parts gets 401" {
	refused "$(valid_token "$user").AAAA"
}

@test "a token with a character outside base64url gets 401" {
	local tok
	tok=$(valid_token "$user")
	refused "${tok:0:10}+${tok:11}"
}

@test "a token with base64 padding in a part gets 401" {
	local tok h rest
	tok=$(valid_token "$user")
	h=${tok%%.*} rest=${tok#*.}
	refused "$h==.$rest"
}

@test "a token whose header is not JSON gets 401" {
	refused "$(mint_token --header 'alg RS256' --payload "$(claims "$user")")"
}

@test "a token whose header is a JSON array gets 401" {
	refused "$(mint_token --header '["RS256"]' --payload "$(claims "$user")")"
}

@test "a token whose payload is not JSON gets 401" {
	refused "$(mint_token --payload "sub=$user")"
}

@test "a token with an empty signature part gets 401" {
	local tok
	tok=$(valid_token "$user")
	refused "${tok%.*}."
}

@test "a token whose payload was changed after signing gets 401" {
	local tok other sig
	tok=$(valid_token "$user")
	sig=${tok##*.}
	other=$(unique_id)
	pg_add_user "$other"
	refused "${tok%%.*}.$(claims "$other" | b64url).$sig"
}

# --- algorithms -----------------------------------------------------------

@test "an alg none token without a signature gets 401" {
	refused "$(mint_token --sign none --payload "$(claims "$user")")"
}

@test "an alg none token carrying a valid RS256 signature gets 401" {
	local hdr='{"alg":"none","typ":"JWT","kid":"kid-main"}'
	refused "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

@test "an HS256 token signed with the public key PEM text gets 401" {
	refused "$(mint_token --sign hs256 --key "$KEY_PUB" --payload "$(claims "$user")")"
}

@test "an HS256 token signed with the PEM text of CLERK_JWT_KEY gets 401" {
	local secret=$BATS_TEST_TMPDIR/pem-no-newline
	printf '%s' "$(<"$KEY_PUB")" >"$secret"
	refused "$(mint_token --sign hs256 --key "$secret" --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWT_KEY="$(<"$KEY_PUB")"
}

@test "an RS512 token signed with the right key gets 401" {
	refused "$(mint_token --sign rs512 --payload "$(claims "$user")")"
}

@test "an RS256 signature under an RS384 label gets 401" {
	local hdr='{"alg":"RS384","typ":"JWT","kid":"kid-main"}'
	refused "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

@test "an alg written rs256 in lower case gets 401" {
	local hdr='{"alg":"rs256","typ":"JWT","kid":"kid-main"}'
	refused "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

@test "a header without alg gets 401" {
	local hdr='{"typ":"JWT","kid":"kid-main"}'
	refused "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

# --- keys and signatures ----------------------------------------------

@test "a token signed by another key gets 401" {
	refused "$(mint_token --key "$OTHER_PRIV" --payload "$(claims "$user")")"
}

@test "a token signed by another key but naming kid-main in a JWKS gets 401" {
	refused "$(mint_token --key "$OTHER_PRIV" --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
}

@test "a token with a kid missing from the JWKS gets 401" {
	refused "$(mint_token --kid kid-unknown --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
}

@test "a token with a non-string kid gets 401" {
	local hdr='{"alg":"RS256","typ":"JWT","kid":7}'
	refused "$(mint_token --header "$hdr" --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
}

@test "a token without kid gets 401 when the JWKS holds two keys" {
	refused "$(mint_token --kid '' --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
}

# sig_of_hex TOKEN HEX: TOKEN with its signature replaced by the bytes HEX
# spells (two hex digits each), base64url.
sig_of_hex() {
	printf '%s.%s\n' "${1%.*}" "$(printf '%b' "$(sed 's/../\\x&/g' <<<"$2")" | b64url)"
}

@test "a signature equal to the key's modulus gets 401 before any arithmetic" {
	local mod
	mod=$(openssl rsa -pubin -in "$KEY_PUB" -noout -modulus)
	refused "$(sig_of_hex "$(valid_token "$user")" "${mod#Modulus=}")"
	assert_that "$cgi_stderr" =~ "not below the key's modulus" "stderr of the program"
}

@test "a signature one byte shorter than the key gets 401" {
	local tok sig
	tok=$(valid_token "$user")
	sig=$(printf '%s' "${tok##*.}" | tr -- '-_' '+/' | base64 -d 2>/dev/null | head -c 255 | od -An -tx1 | tr -d ' \n')
	refused "$(sig_of_hex "$tok" "$sig")"
	assert_that "$cgi_stderr" =~ "is 255 bytes, the key's are 256" "stderr of the program"
}

@test "a token without kid is accepted when the JWKS holds one key" {
	accepted "$(mint_token --kid '' --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_MAIN_FILE"
}

@test "CLERK_JWT_KEY with the PEM text is accepted" {
	accepted "$(valid_token "$user")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWT_KEY="$(<"$KEY_PUB")"
}

@test "CLERK_JWT_KEY on one line with literal \\n escapes is accepted" {
	local oneline
	oneline=$(awk '{ printf "%s\\n", $0 }' "$KEY_PUB")
	assert_that "$oneline" !~ $'\n' "the one-line key (no newline)"
	assert_that "$oneline" =~ '^-----BEGIN PUBLIC KEY-----\\n[A-Za-z0-9+/]{64}\\n' \
		"the one-line key (literal \\n escapes)"
	accepted "$(valid_token "$user")" -u CLERK_JWT_KEY_FILE CLERK_JWT_KEY="$oneline"
}

@test "CLERK_JWT_KEY_FILE naming a PEM file is accepted" {
	accepted "$(valid_token "$user")" CLERK_JWT_KEY_FILE="$KEY_PUB"
}

@test "CLERK_JWKS_FILE picks the main key by kid-main" {
	accepted "$(mint_token --kid kid-main --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
}

@test "CLERK_JWKS_FILE picks the other key by kid-other" {
	accepted "$(mint_token --kid kid-other --key "$OTHER_PRIV" --payload "$(claims "$user")")" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
}

@test "CLERK_JWT_KEY wins over CLERK_JWT_KEY_FILE" {
	accepted "$(valid_token "$user")" \
		CLERK_JWT_KEY="$(<"$KEY_PUB")" CLERK_JWT_KEY_FILE="$OTHER_PUB"
}

@test "CLERK_JWT_KEY_FILE wins over CLERK_JWKS_FILE" {
	local jwks=$BATS_TEST_TMPDIR/jwks-other.json
	jq '.keys |= map(select(.kid == "kid-other"))' "$JWKS_FILE" >"$jwks"
	accepted "$(valid_token "$user")" \
		CLERK_JWT_KEY_FILE="$KEY_PUB" CLERK_JWKS_FILE="$jwks"
}

# --- exp, nbf, iat and the clock skew ---------------------------------

@test "an expired token gets 401 saying it expired" {
	refused "$(valid_token "$user" exp:=$(($(now) - 60)))"
	assert_json '.message | test("expired"; "i")' true
}

@test "a token without exp gets 401" {
	refused "$(valid_token "$user" -exp)"
}

@test "a token not yet valid gets 401 saying so" {
	refused "$(valid_token "$user" nbf:=$(($(now) + 60)))"
	assert_json '.message | test("not yet valid"; "i")' true
}

@test "a token without nbf is accepted" {
	accepted "$(valid_token "$user" -nbf)"
}

@test "with the default skew a token expired 2 s ago is accepted" {
	accepted "$(valid_token "$user" exp:=$(($(now) - 2)))"
}

@test "with the default skew a token expired 30 s ago gets 401" {
	refused "$(valid_token "$user" exp:=$(($(now) - 30)))"
}

@test "with the default skew a token valid from 2 s ahead is accepted" {
	accepted "$(valid_token "$user" nbf:=$(($(now) + 2)))"
}

@test "with the default skew a token valid from 30 s ahead gets 401" {
	refused "$(valid_token "$user" nbf:=$(($(now) + 30)))"
}

@test "with CLERK_CLOCK_SKEW=30 a token expired 20 s ago is accepted" {
	accepted "$(valid_token "$user" exp:=$(($(now) - 20)))" CLERK_CLOCK_SKEW=30
}

@test "with CLERK_CLOCK_SKEW=30 a token expired 40 s ago gets 401" {
	refused "$(valid_token "$user" exp:=$(($(now) - 40)))" CLERK_CLOCK_SKEW=30
}

@test "with CLERK_CLOCK_SKEW=30 a token valid from 20 s ahead is accepted" {
	accepted "$(valid_token "$user" nbf:=$(($(now) + 20)))" CLERK_CLOCK_SKEW=30
}

@test "with CLERK_CLOCK_SKEW=30 a token valid from 40 s ahead gets 401" {
	refused "$(valid_token "$user" nbf:=$(($(now) + 40)))" CLERK_CLOCK_SKEW=30
}

@test "with CLERK_CLOCK_SKEW=0 a token expired 3 s ago gets 401" {
	refused "$(valid_token "$user" exp:=$(($(now) - 3)))" CLERK_CLOCK_SKEW=0
}

@test "a token issued 60 s in the future gets 401" {
	refused "$(valid_token "$user" iat:=$(($(now) + 60)))"
}

@test "a token issued 2 s in the future is accepted" {
	accepted "$(valid_token "$user" iat:=$(($(now) + 2)))"
}

@test "an exp written 2.5e9 gets 401" {
	refused "$(valid_token "$user" exp:=2.5e9)"
}

@test "an exp with a fraction gets 401" {
	refused "$(valid_token "$user" exp:=$(($(now) + 300)).5)"
}

@test "an exp given as a string gets 401" {
	refused "$(valid_token "$user" exp="$(($(now) + 300))")"
}

@test "an exp of 1e300 gets 401" {
	refused "$(valid_token "$user" exp:=1e300)"
}

@test "an exp beyond 64 bits gets 401" {
	refused "$(valid_token "$user" exp:=99999999999999999999999)"
}

@test "an nbf given as a string gets 401" {
	refused "$(valid_token "$user" nbf="$(($(now) - 5))")"
}

@test "an iat with a fraction gets 401" {
	refused "$(valid_token "$user" iat:=$(($(now) - 1)).5)"
}

# --- sub and sid ------------------------------------------------------

@test "a token without sub gets 401" {
	refused "$(valid_token "$user" -sub)"
}

@test "a token with an empty sub gets 401" {
	refused "$(valid_token "$user" sub=)"
}

@test "a token with a numeric sub gets 401" {
	refused "$(valid_token "$user" sub:=42)"
}

@test "a token with a null sub gets 401" {
	refused "$(valid_token "$user" sub:=null)"
}

@test "a token without sid gets 401" {
	refused "$(valid_token "$user" -sid)"
}

@test "a token with an empty sid gets 401" {
	refused "$(valid_token "$user" sid=)"
}

@test "a token with a numeric sid gets 401" {
	refused "$(valid_token "$user" sid:=7)"
}

# --- azp, iss, sts, typ ---------------------------------------------------

@test "an azp outside CLERK_AUTHORIZED_PARTIES gets 401" {
	refused "$(valid_token "$user" azp=https://evil.example.test)" \
		CLERK_AUTHORIZED_PARTIES="http://127.0.0.1,https://app.example.test"
}

@test "an azp listed in CLERK_AUTHORIZED_PARTIES is accepted" {
	accepted "$(valid_token "$user" azp=https://app.example.test)" \
		CLERK_AUTHORIZED_PARTIES=" http://127.0.0.1 , https://app.example.test ,"
}

@test "any azp is accepted when CLERK_AUTHORIZED_PARTIES is unset" {
	accepted "$(valid_token "$user" azp=https://elsewhere.example.test)"
}

@test "an iss other than CLERK_ISSUER gets 401" {
	refused "$(valid_token "$user" iss=https://other.example.test)" \
		CLERK_ISSUER="$TOKEN_ISSUER"
}

@test "a token without iss gets 401 when CLERK_ISSUER is set" {
	refused "$(valid_token "$user" -iss)" CLERK_ISSUER="$TOKEN_ISSUER"
}

@test "an iss equal to CLERK_ISSUER is accepted" {
	accepted "$(valid_token "$user")" CLERK_ISSUER="$TOKEN_ISSUER"
}

@test "any iss is accepted when CLERK_ISSUER is unset" {
	accepted "$(valid_token "$user" iss=https://other.example.test)"
}

@test "an sts other than active gets 401" {
	refused "$(valid_token "$user" sts=pending)"
}

@test "an sts of active is accepted" {
	accepted "$(valid_token "$user" sts=active)"
}

@test "a header typ other than JWT gets 401" {
	local hdr='{"alg":"RS256","typ":"at+jwt","kid":"kid-main"}'
	refused "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

@test "a header typ of jwt in lower case is accepted" {
	local hdr='{"alg":"RS256","typ":"jwt","kid":"kid-main"}'
	accepted "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

@test "a header without typ is accepted" {
	local hdr='{"alg":"RS256","kid":"kid-main"}'
	accepted "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

@test "unknown header fields are ignored" {
	local hdr='{"alg":"RS256","typ":"JWT","kid":"kid-main","cty":"x","x5t":"abc"}'
	accepted "$(mint_token --header "$hdr" --payload "$(claims "$user")")"
}

# --- strict JSON: RFC 8259, no U+0000, no member name twice ---------------

# header_with MEMBERS: a token whose header is the default one plus
# MEMBERS (spelt as in helpers/strict-json.txt), signed with the main key
# over valid claims for $user, so only the header's JSON can refuse it.
header_with() {
	strict_json_raw "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\",$1}" \
		>"$BATS_TEST_TMPDIR/header"
	mint_token --header-file "$BATS_TEST_TMPDIR/header" --payload "$(claims "$user")"
}

# claims_with MEMBERS [claims edits...]: a token whose claims are valid
# ones for $user plus MEMBERS, signed with the main key.
claims_with() {
	local members=$1 c
	shift
	c=$(claims "$user" "$@")
	strict_json_raw "${c%\}},$members}" >"$BATS_TEST_TMPDIR/claims"
	mint_token --payload-file "$BATS_TEST_TMPDIR/claims"
}

# is_refused TOKEN: the token got 401 with an invalid_token challenge.
is_refused() {
	cgi_call --token "$1"
	[[ $http_status == 401 &&
		$(header_value WWW-Authenticate) == 'Bearer realm="chatkit", error="invalid_token"'* ]]
}

header_refused() { is_refused "$(header_with "$1")"; }
claims_refused() { is_refused "$(claims_with "$1")"; }

@test "a header with strict extra members, built as the rows are, is accepted" {
	accepted "$(header_with ' "x" : {"a":[1.5e3,-0,true,null,"\ud83d\ude00 \u00e9 \/"]}, "y":{"a":1}')"
}

@test "every non-strict JSON member of helpers/strict-json.txt in the header gets 401" {
	strict_json_each header_refused
}

@test "claims with strict extra members, built as the rows are, are accepted" {
	accepted "$(claims_with '"x":{"a":[1e400,-0.0,false,"\ud83d\ude00"]},"y":{"a":1}')"
}

@test "every non-strict JSON member of helpers/strict-json.txt in the claims gets 401" {
	strict_json_each claims_refused
}

@test "a header with alg none then alg RS256 gets 401" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"none","alg":"RS256","typ":"JWT","kid":"kid-main"}')"
}

@test "a header with alg none then alg spelt with an escape as RS256 gets 401" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"none","al\u0067":"RS256","typ":"JWT","kid":"kid-main"}')"
}

@test "a header with alg none then alg and an escaped U+0000 as RS256 gets 401" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"none","alg\u0000":"RS256","typ":"JWT","kid":"kid-main"}')"
}

@test "a header with alg none then a single-quoted alg RS256 gets 401" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header "{\"alg\":\"none\",'alg':\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\"}")"
}

@test "a kid of kid-main, an escaped U+0000 and more gets 401" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"RS256","typ":"JWT","kid":"kid-main\u0000x"}')"
}

@test "claims with another sub before the user's get 401" {
	refused "$(claims_with "\"sub\":\"$user\"" sub=user_decoy)"
}

@test "claims with another sub and then sub and an escaped U+0000 naming the user get 401" {
	refused "$(claims_with "\"sub\u0000\":\"$user\"" sub=user_decoy)"
}

@test "a sub of the user's id, an escaped U+0000 and more gets 401" {
	refused "$(valid_token "$user" "sub:=\"$user\\u0000admin\"")"
}

@test "an expired exp then a single-quoted exp in the future gets 401" {
	refused "$(claims_with "'exp':$(($(now) + 300))" exp:=$(($(now) - 3600)))"
}

@test "an azp of a listed party, an escaped U+0000 and more gets 401" {
	refused "$(valid_token "$user" 'azp:="http://127.0.0.1\u0000.evil.example"')" \
		CLERK_AUTHORIZED_PARTIES=http://127.0.0.1
}

@test "a sub whose name is spelt with an escape is the sub" {
	local c
	c=$(claims "$user")
	accepted "$(mint_token --payload "{\"s\\u0075b\"${c#\{\"sub\"}")"
}

# --- what a refused token puts in the log ---------------------------------

@test "C1 and bidi controls in an unknown alg reach the log escaped" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"x\u009b2J\u202ey\u2028","typ":"JWT","kid":"kid-main"}')"
	assert_log_has 'token alg is "x\u009b2J\u202ey\u2028"'
}

@test "raw UTF-8 C1 and bidi controls in an unknown alg reach the log escaped" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header $'{"alg":"x\xc2\x85\xc2\x9f\xe2\x80\xaby","typ":"JWT","kid":"kid-main"}')"
	assert_log_has 'token alg is "x\u0085\u009f\u202by"'
}

@test "bidi marks and isolates in an unknown kid reach the log escaped" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"RS256","typ":"JWT","kid":"k\u2066\u2069\u200e\u200f\u061c\u202a"}')" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
	assert_log_has 'no key for kid "k\u2066\u2069\u200e\u200f\u061c\u202a"'
}

@test "a non-ASCII letter in an unknown kid reaches the log as it is" {
	refused "$(mint_token --payload "$(claims "$user")" \
		--header '{"alg":"RS256","typ":"JWT","kid":"k\u00e9\u20ac"}')" \
		-u CLERK_JWT_KEY_FILE CLERK_JWKS_FILE="$JWKS_FILE"
	[[ $cgi_stderr == *$'no key for kid "k\xc3\xa9\xe2\x82\xac"'* ]] ||
		fail "stderr: $cgi_stderr"
}

# --- size -----------------------------------------------------------------

@test "a token of exactly 8192 bytes is accepted" {
	local tok
	tok=$(token_of_length 8192 "$user")
	assert_that "${#tok}" == 8192 "token length"
	accepted "$tok"
}

@test "a token of 8193 bytes gets 401" {
	local tok
	tok=$(token_of_length 8193 "$user")
	assert_that "${#tok}" == 8193 "token length"
	refused "$tok"
}

@test "a token of 64 KiB gets 401" {
	local pad
	# An environment string may not exceed 128 KiB (MAX_ARG_STRLEN).
	pad=$(printf '%*s' 65536 '' | tr ' ' x)
	refused "$(valid_token "$user" pad="$pad")"
}

# --- what must never happen -------------------------------------------

@test "with the database down a request without credentials still gets 401" {
	cgi_call CHATKIT_DATABASE_URL="$(pg_dead_url)"
	assert_error 401 Unauthorized
}

@test "with the database down a bad token still gets 401, not 503" {
	refused "$(valid_token "$user" exp:=$(($(now) - 60)))" \
		CHATKIT_DATABASE_URL="$(pg_dead_url)"
	refute_header Retry-After
}

@test "with the database down a valid token gets 503 with Retry-After" {
	cgi_call --token "$(valid_token "$user")" CHATKIT_DATABASE_URL="$(pg_dead_url)"
	assert_error 503 "Service Unavailable"
	assert_header Retry-After '^5$'
}
