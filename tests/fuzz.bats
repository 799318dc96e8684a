#!/usr/bin/env bats
# fuzz.bats: every fuzz target builds with clang and libFuzzer
# (tests/fuzz/libfuzzer.sh), so the real fuzzing cannot fall behind the
# sources; make check's replays link the same code without libFuzzer.

bats_require_minimum_version 1.5.0

load helpers/common

@test "every fuzz target builds with clang and libFuzzer" {
	command -v clang >/dev/null || skip "clang is not installed (scripts/install-deps installs it)"
	run -0 "$TOP_SRCDIR/tests/fuzz/libfuzzer.sh" --build-only
}
