#!/bin/sh
# libfuzzer.sh: build fuzz targets with clang + libFuzzer, and run one.
# Usage: tests/fuzz/libfuzzer.sh TARGET [SECONDS]     build TARGET, fuzz it
#        tests/fuzz/libfuzzer.sh --build-only [TARGET...]
#                                 build each TARGET (default: all), run none
# TARGET: token, jwks, cookie, body, config or json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
all="token jwks cookie body config json"
build_only=no
if [ "${1:-}" = --build-only ]; then
	build_only=yes
	shift
	targets=${*:-$all}
else
	targets=${1:?target: token, jwks, cookie, body, config or json}
	secs=${2:-60}
fi
for name in $targets; do
	case " $all " in *" $name "*) ;; *) echo "$0: no target '$name' (one of: $all)" >&2; exit 2 ;; esac
done

out=$(mktemp -d)
work=""
trap 'rm -rf "$out" $work' EXIT
pkgs="libpq json-c libcrypto libcurl"
cflags="-g -O1 -D_GNU_SOURCE -DSYSCONFDIR=\"/etc\" -DCURL_SONAME=\"libcurl.so.4\" $(pkg-config --cflags $pkgs)"
# The sources of cgi-bin/libchatkit.a as Makefile.am lists them, each
# compiled once with the fuzzer's coverage, then linked into every target.
srcs=$(sed -n '/^cgi_bin_libchatkit_a_SOURCES/,/[^\\]$/p' "$top/Makefile.am" |
	tr -s ' \t\\' '\n' | grep '\.c$')
[ -n "$srcs" ] || { echo "$0: no cgi_bin_libchatkit_a_SOURCES in Makefile.am" >&2; exit 1; }
for src in $srcs; do
	# shellcheck disable=SC2086
	clang $cflags -fsanitize=fuzzer-no-link,address,undefined \
		-c "$top/$src" -o "$out/$(basename "$src" .c).o"
done
for name in $targets; do
	case "$name" in
	token) src=fuzz_token_header.c ;;
	*) src=fuzz_$name.c ;;
	esac
	# shellcheck disable=SC2046,SC2086
	clang $cflags -fsanitize=fuzzer,address,undefined -o "$out/fuzz_$name" \
		"$here/$src" "$out"/*.o $(pkg-config --libs $pkgs) -ldl
done
[ "$build_only" = no ] || exit 0

mkdir -p "$here/corpus/$targets"
# New inputs go to a scratch directory; the committed corpus stays small.
work=$(mktemp -d)
"$out/fuzz_$targets" -max_total_time="$secs" -max_len=65536 -artifact_prefix="$top/" \
	"$work" "$here/corpus/$targets"
