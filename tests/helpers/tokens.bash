# tokens.bash: Clerk-like session tokens minted with the openssl CLI only,
# never with the program's own code, so a shared bug cannot hide itself.
#
#   setup_file() { tokens_setup "$BATS_FILE_TMPDIR/keys"; }
#   tok=$(mint_token --payload "$(claims "$user")")
#
# tokens_setup exports:
#   KEY_PRIV KEY_PUB       main RSA-2048 pair (PEM), kid "kid-main"
#   OTHER_PRIV OTHER_PUB   a second pair, kid "kid-other"
#   JWKS_FILE              JWKS with both public keys
#   JWKS_MAIN_FILE         JWKS with only the main key
#   TOKEN_ISSUER TOKEN_AZP the iss and azp that claims() puts in

TOKEN_ISSUER=https://clerk.example.test
TOKEN_AZP=http://127.0.0.1
export TOKEN_ISSUER TOKEN_AZP

# b64url: stdin as unpadded base64url on one line, no newline.
b64url() {
	openssl base64 -A | tr '+/' '-_' | tr -d '=\n'
}

# _hex_to_bin HEX: the bytes HEX spells (even length, no prefix).
_hex_to_bin() {
	local hex=$1
	((${#hex} % 2 == 0)) || hex=0$hex
	printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")"
}

# _jwk PUBPEM KID: one JWK object for an RSA public key.
_jwk() {
	local pub=$1 kid=$2 mod exp n e
	mod=$(openssl rsa -pubin -in "$pub" -noout -modulus) || return
	mod=${mod#Modulus=}
	exp=$(openssl rsa -pubin -in "$pub" -noout -text |
		sed -n 's/^Exponent: [0-9]* (0x\([0-9a-fA-F]*\)).*/\1/p') || return
	[[ -n $mod && -n $exp ]] || die "cannot read modulus/exponent of $pub" || return
	n=$(_hex_to_bin "$mod" | b64url)
	e=$(_hex_to_bin "$exp" | b64url)
	printf '{"kty":"RSA","use":"sig","alg":"RS256","kid":"%s","n":"%s","e":"%s"}' \
		"$kid" "$n" "$e"
}

# tokens_setup DIR: generate both key pairs and JWKS files in DIR (created
# if needed) and export their paths. Call once per file, from setup_file.
tokens_setup() {
	local dir=${1:?tokens_setup DIR} name
	mkdir -p "$dir" || return
	for name in main other; do
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$dir/$name.key" 2>/dev/null ||
			die "openssl genpkey failed" || return
		openssl pkey -in "$dir/$name.key" -pubout -out "$dir/$name.pub" ||
			die "openssl pkey -pubout failed" || return
	done
	chmod 0644 "$dir"/*.pub
	export KEY_PRIV=$dir/main.key KEY_PUB=$dir/main.pub
	export OTHER_PRIV=$dir/other.key OTHER_PUB=$dir/other.pub
	export JWKS_FILE=$dir/jwks.json JWKS_MAIN_FILE=$dir/jwks-main.json

	local jmain jother
	jmain=$(_jwk "$KEY_PUB" kid-main) || return
	jother=$(_jwk "$OTHER_PUB" kid-other) || return
	printf '{"keys":[%s,%s]}\n' "$jmain" "$jother" >"$JWKS_FILE"
	printf '{"keys":[%s]}\n' "$jmain" >"$JWKS_MAIN_FILE"
}

# json_string TEXT: TEXT as a JSON string literal, quotes included.
json_string() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	printf '"%s"' "$s"
}

# claims USER [NAME=TEXT | NAME:=JSON | -NAME]...
#
# Prints a valid Clerk session token payload for USER:
#   {"sub":USER,"sid":"sess_...","iat":now,"nbf":now-5,"exp":now+300,
#    "iss":TOKEN_ISSUER,"azp":TOKEN_AZP}
# NAME=TEXT sets a string claim, NAME:=JSON sets raw JSON (numbers, null,
# objects, broken text), -NAME removes a claim. Order is kept; new claims
# go last. Examples: claims "$u" exp:=$(($(now) - 30)) sts=pending -sid
claims() {
	local user=${1?claims USER [edits...]} t arg name i found
	shift
	t=$(now)
	local -a keys=(sub sid iat nbf exp iss azp)
	local -a vals=(
		"$(json_string "$user")"
		"\"sess_$(date +%s%N)$RANDOM\""
		"$t" "$((t - 5))" "$((t + 300))"
		"$(json_string "$TOKEN_ISSUER")"
		"$(json_string "$TOKEN_AZP")"
	)
	for arg in "$@"; do
		local val= del=0
		case $arg in
		-*) name=${arg#-} del=1 ;;
		*:=*) name=${arg%%:=*} val=${arg#*:=} ;;
		*=*) name=${arg%%=*} val=$(json_string "${arg#*=}") ;;
		*) die "claims: cannot read edit '$arg'"; return ;;
		esac
		found=0
		for i in "${!keys[@]}"; do
			[[ ${keys[i]} == "$name" ]] || continue
			found=1
			if ((del)); then
				unset 'keys[i]' 'vals[i]'
			else
				vals[i]=$val
			fi
		done
		if ((!found && !del)); then
			keys+=("$name")
			vals+=("$val")
		fi
	done
	local out= sep=
	for i in "${!keys[@]}"; do
		out+="$sep$(json_string "${keys[i]}"):${vals[i]}"
		sep=,
	done
	printf '{%s}\n' "$out"
}

# mint_token [OPTIONS]: print a compact JWS.
#   --payload JSON   claims (default: claims for user "user_default")
#   --header TEXT    the header, verbatim (need not be JSON); by default
#                    {"alg":ALG,"typ":"JWT","kid":KID} with ALG from --sign
#   --kid KID        kid of the default header (default kid-main; "" omits)
#   --sign MODE      rs256 (default), rs384, rs512: RSA PKCS#1 v1.5 with
#                    --key (default $KEY_PRIV); hs256: HMAC-SHA256 keyed
#                    with the bytes of the file --key (default $KEY_PUB,
#                    the public key PEM text attack); none: empty signature
#   --key FILE       private key PEM, or the HMAC secret file for hs256
#   --header-file FILE, --payload-file FILE
#                    the header or payload as the exact bytes of FILE (any
#                    byte, NUL included; text options cannot hold a NUL)
# Header and payload are signed as given, never parsed or re-encoded, so
# any raw text (broken, duplicated or non-strict JSON) can be signed.
mint_token() {
	local payload= header= kid=kid-main mode=rs256 key= have_header=0
	local header_file= payload_file=
	while (($#)); do
		case $1 in
		--payload) payload=$2 ;;
		--header) header=$2 have_header=1 ;;
		--header-file) header_file=$2 have_header=1 ;;
		--payload-file) payload_file=$2 payload=file ;;
		--kid) kid=$2 ;;
		--sign) mode=$2 ;;
		--key) key=$2 ;;
		*) die "mint_token: unknown option '$1'"; return ;;
		esac
		shift 2 || die "mint_token: $1 needs a value" || return
	done
	[[ -n $payload ]] || payload=$(claims user_default)

	local alg
	case $mode in
	rs256 | rs384 | rs512 | hs256) alg=$(tr a-z A-Z <<<"$mode") ;;
	none) alg=none ;;
	*) die "mint_token: unknown --sign '$mode'"; return ;;
	esac
	if ((!have_header)); then
		if [[ -n $kid ]]; then
			header="{\"alg\":\"$alg\",\"typ\":\"JWT\",\"kid\":$(json_string "$kid")}"
		else
			header="{\"alg\":\"$alg\",\"typ\":\"JWT\"}"
		fi
	fi

	local input sig= h64 p64
	if [[ -n $header_file ]]; then
		h64=$(b64url <"$header_file") || return
	else
		h64=$(printf '%s' "$header" | b64url)
	fi
	if [[ -n $payload_file ]]; then
		p64=$(b64url <"$payload_file") || return
	else
		p64=$(printf '%s' "$payload" | b64url)
	fi
	input=$h64.$p64
	case $mode in
	rs256 | rs384 | rs512)
		sig=$(printf '%s' "$input" |
			openssl dgst "-sha${mode#rs}" -sign "${key:-$KEY_PRIV}" -binary |
			b64url) || return
		;;
	hs256)
		local hexkey
		hexkey=$(od -An -v -tx1 <"${key:-$KEY_PUB}" | tr -d ' \n') || return
		sig=$(printf '%s' "$input" |
			openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary |
			b64url) || return
		;;
	esac
	[[ $mode == none || -n $sig ]] || die "mint_token: signing failed" || return
	printf '%s.%s\n' "$input" "$sig"
}

# valid_token USER [claims edits...]: a correctly signed RS256 token.
valid_token() {
	mint_token --payload "$(claims "$@")"
}
