#!/usr/bin/env bats
# deps.bats: scripts/deps-debian.txt names every Debian package the
# build, the demo, the tests and the portable build need: those
# configure.ac asks for, debian/control's build dependencies (and its
# Depends that the tests run), the Bats libraries, and the packages of
# the commands and Apache modules scripts/, .ci/ and tests/ use (its
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

@test "the check fails when a build dependency of debian/control is not in the list" {
	# a version, an architecture and a build profile, as Debian writes them
	sed -E 's/^( +pkg-config)$/\1,\n               libbogus-dev (>= 1.2) [amd64] <!nocheck>/' \
		"$TOP_SRCDIR/debian/control" >"$BATS_TEST_TMPDIR/control"
	run -1 lint_deps "$TOP_SRCDIR" scripts/deps-debian.txt "$BATS_TEST_TMPDIR/control"
	assert_output --regexp '^/.*/control:[0-9]+: Build-Depends libbogus-dev is not in scripts/deps-debian\.txt$'
}

@test "the check fails when a build dependency comes only with an install-deps option but --deb" {
	sed -E 's/^( +pkg-config)$/\1,\n               chromium/' \
		"$TOP_SRCDIR/debian/control" >"$BATS_TEST_TMPDIR/control"
	run -1 lint_deps "$TOP_SRCDIR" scripts/deps-debian.txt "$BATS_TEST_TMPDIR/control"
	assert_output --regexp ':[0-9]+: Build-Depends chromium is installed only with install-deps --browser$'
}

@test "the check fails when a package the tests run is in debian/control's Depends but not in the list" {
	sed -E 's/^Depends: /Depends: spawn-fcgi, /' "$TOP_SRCDIR/debian/control" >"$BATS_TEST_TMPDIR/control"
	grep -v -E '^spawn-fcgi ' "$TOP_SRCDIR/scripts/deps-debian.txt" >"$BATS_TEST_TMPDIR/deps.txt"
	run -1 lint_deps "$TOP_SRCDIR" "$BATS_TEST_TMPDIR/deps.txt" "$BATS_TEST_TMPDIR/control"
	assert_line --regexp '^/.*/control:[0-9]+: Depends spawn-fcgi, which [^ ]+:[0-9]+ runs, is not in '
}

@test "the Depends the tests leave to the package itself need not be in the list" {
	# multiwatch and libcurl4: no file run on the host runs them (the
	# pool in tests/deb/in-root.sh's root comes with the package)
	grep -E '^Depends: .*multiwatch' "$TOP_SRCDIR/debian/control"
	run grep -E '^(multiwatch|libcurl4) ' "$TOP_SRCDIR/scripts/deps-debian.txt"
	assert_output ''
	run lint_deps "$TOP_SRCDIR"
	assert_success
}
