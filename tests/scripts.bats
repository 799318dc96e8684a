#!/usr/bin/env bats
# scripts.bats: scripts/install-deps, which scripts/test, scripts/demo and
# bench/ run first, installs only what is missing: with everything there
# it runs neither apt-get nor npm.

bats_require_minimum_version 1.5.0

load helpers/common

setup() {
	# Stand-ins that record a call and fail, ahead of the real ones.
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	local c
	for c in apt-get npm sudo; do
		printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit 97\n' \
			"$c" "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/bin/$c"
		chmod +x "$BATS_TEST_TMPDIR/bin/$c"
	done
}

# missing_here: the packages (and npm modules) install-deps --browser
# would have to install on this machine, one per line.
missing_here() {
	local p
	for p in $(sed -e 's/#.*//' "$TOP_SRCDIR/scripts/deps-debian.txt") chromium; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || echo "$p"
	done
	command -v node >/dev/null || echo nodejs
	command -v npm >/dev/null || echo npm
	[[ -d $TOP_SRCDIR/node_modules/playwright-core ]] || echo node_modules
}

@test "scripts/install-deps --browser runs neither apt-get nor npm when all is installed" {
	local missing
	missing=$(missing_here)
	[[ -z $missing ]] || skip "missing here, so install-deps must install: $(echo $missing)"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -0 "$TOP_SRCDIR/scripts/install-deps" --browser
	assert_output ''
	[[ ! -e $BATS_TEST_TMPDIR/calls ]] ||
		die "install-deps ran: $(cat "$BATS_TEST_TMPDIR/calls")"
}

@test "scripts/install-deps asks apt-get for a missing package and for nothing else" {
	# A copy of the script beside a package list naming one package
	# that does not exist, so it counts as missing.
	mkdir -p "$BATS_TEST_TMPDIR/tree/scripts"
	cp "$TOP_SRCDIR/scripts/install-deps" "$BATS_TEST_TMPDIR/tree/scripts/"
	printf '# test\nbash\nchatkit-no-such-package\n' >"$BATS_TEST_TMPDIR/tree/scripts/deps-debian.txt"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -97 "$BATS_TEST_TMPDIR/tree/scripts/install-deps"
	assert_output --partial 'installing: chatkit-no-such-package'
	run -0 cat "$BATS_TEST_TMPDIR/calls"
	assert_line --index 0 --regexp '^(apt-get|sudo) .*update'
	refute_output --partial 'bash'
}
