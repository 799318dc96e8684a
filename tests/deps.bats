#!/usr/bin/env bats
# deps.bats: scripts/deps-debian.txt names every Debian package the
# build, the demo, the tests and the portable build need: those
# configure.ac asks for, the Bats libraries, and the packages of the
# commands and Apache modules scripts/, .ci/ and tests/ use (its
# "provides:" lists). Reads files only (tests/helpers/lint.bash).

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/lint

@test "every package, command and module the project needs comes from scripts/deps-debian.txt" {
	run lint_deps "$TOP_SRCDIR"
	assert_output ''
	assert_success
}

@test "the check fails when a package the project needs is left out of the list" {
	local row p name
	# PACKAGE:WHAT the check then names (the package, or its command)
	for row in libcurl4-openssl-dev:libcurl4-openssl-dev lighttpd:lighttpd \
		musl-tools:musl-gcc file:file python3:python3 postgresql:psql \
		bats-assert:bats-assert libapache2-mod-fcgid:mod_fcgid.so; do
		p=${row%%:*} name=${row#*:}
		grep -v -E "^$p( |\$)" "$TOP_SRCDIR/scripts/deps-debian.txt" >"$BATS_TEST_TMPDIR/deps.txt"
		run -1 lint_deps "$TOP_SRCDIR" "$BATS_TEST_TMPDIR/deps.txt"
		assert_output --regexp "(: |library )${name//./\\.}( is not|: no package)"
	done
}

@test "the check fails when a command the tests run is named by no package" {
	sed -E 's/ jq$/ jq-renamed/' "$TOP_SRCDIR/scripts/deps-debian.txt" >"$BATS_TEST_TMPDIR/deps.txt"
	run -1 lint_deps "$TOP_SRCDIR" "$BATS_TEST_TMPDIR/deps.txt"
	assert_line --regexp '^tests/.*: jq: no package in .* provides it$'
}

@test "the check fails when a package the plain suite needs comes only with an option" {
	sed -E 's/^curl( +)#/curl --portable #/' "$TOP_SRCDIR/scripts/deps-debian.txt" >"$BATS_TEST_TMPDIR/deps.txt"
	run -1 lint_deps "$TOP_SRCDIR" "$BATS_TEST_TMPDIR/deps.txt"
	assert_line --regexp '^scripts/demo:[0-9]+: curl: curl is installed only with install-deps --portable$'
}
