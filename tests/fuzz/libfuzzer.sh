#!/bin/sh
# libfuzzer.sh: build one target with clang + libFuzzer and run it.
# Usage: tests/fuzz/libfuzzer.sh token|jwks|cookie|body|config|json [seconds]
set -eu
name=${1:?target: token, jwks, cookie, body, config or json}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
case "$name" in
token) src=fuzz_token_header.c ;;
*) src=fuzz_$name.c ;;
esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pkgs="libpq json-c libcrypto libcurl"
# Every source of libchatkit.a (all of cgi-bin/ but the two mains), so the
# list cannot fall behind the program's files.
srcs=$(ls "$top"/cgi-bin/*.c | grep -v -e '/main\.c$' -e '/fcgi\.c$')
# shellcheck disable=SC2046,SC2086
clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	-DSYSCONFDIR='"/etc"' -DCURL_SONAME='"libcurl.so.4"' \
	$(pkg-config --cflags $pkgs) -o "$out/fuzz" "$here/$src" $srcs \
	$(pkg-config --libs $pkgs) -ldl
mkdir -p "$here/corpus/$name"
# New inputs go to a scratch directory; the committed corpus stays small.
work=$(mktemp -d)
trap 'rm -rf "$out" "$work"' EXIT
"$out/fuzz" -max_total_time="$secs" -max_len=65536 -artifact_prefix="$top/" "$work" "$here/corpus/$name"
