#!/bin/sh
# libfuzzer.sh: build one target with clang + libFuzzer and run it.
# Usage: tests/fuzz/libfuzzer.sh token|jwks|cookie|body|config [seconds]
set -eu
name=${1:?target: token, jwks, cookie, body or config}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
case "$name" in
token) src=fuzz_token_header.c ;;
*) src=fuzz_$name.c ;;
esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pkgs="libpq json-c uuid libcrypto"
# shellcheck disable=SC2046
clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	$(pkg-config --cflags $pkgs) -o "$out/fuzz" "$here/$src" \
	"$top"/cgi-bin/config.c "$top"/cgi-bin/keys.c "$top"/cgi-bin/token.c \
	"$top"/cgi-bin/request.c "$top"/cgi-bin/base64url.c \
	"$top"/cgi-bin/jsonstrict.c "$top"/cgi-bin/log.c \
	$(pkg-config --libs $pkgs)
mkdir -p "$here/corpus/$name"
# New inputs go to a scratch directory; the committed corpus stays small.
work=$(mktemp -d)
trap 'rm -rf "$out" "$work"' EXIT
"$out/fuzz" -max_total_time="$secs" -max_len=65536 -artifact_prefix="$top/" "$work" "$here/corpus/$name"
