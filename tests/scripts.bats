#!/usr/bin/env bats
# scripts.bats: scripts/install-deps, which scripts/test, scripts/demo and
# bench/ run first, installs only what is missing and what its options
# ask for: with everything there it runs neither apt-get nor npm. And
# scripts/test ends with its closing line whatever stops it.

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

# missing_here [OPTION...]: the packages (and npm modules) install-deps
# OPTION... would have to install on this machine, one per line.
missing_here() {
	local options=" $* " name opt
	while read -r name opt; do
		[[ -n $name ]] || continue
		[[ -z $opt || $options == *" $opt "* ]] || continue
		case $name in
		nodejs) command -v node >/dev/null && continue ;;
		npm) command -v npm >/dev/null && continue ;;
		esac
		dpkg-query -W -f='${Status}' "$name" 2>/dev/null |
			grep -q 'install ok installed' || echo "$name"
	done < <(sed -e 's/#.*//' "$TOP_SRCDIR/scripts/deps-debian.txt")
	[[ $options != *' --browser '* || -d $TOP_SRCDIR/node_modules/playwright-core ]] ||
		echo node_modules
}

# stub_tree: a copy of scripts/install-deps in $BATS_TEST_TMPDIR/tree,
# beside a package list read from stdin.
stub_tree() {
	mkdir -p "$BATS_TEST_TMPDIR/tree/scripts"
	cp "$TOP_SRCDIR/scripts/install-deps" "$BATS_TEST_TMPDIR/tree/scripts/"
	cat >"$BATS_TEST_TMPDIR/tree/scripts/deps-debian.txt"
}

@test "scripts/install-deps with every option runs neither apt-get nor npm when all is installed" {
	local missing
	missing=$(missing_here --browser --portable --valgrind --deb)
	[[ -z $missing ]] || skip "missing here, so install-deps must install: $(echo $missing)"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -0 "$TOP_SRCDIR/scripts/install-deps" \
		--browser --portable --valgrind --deb
	assert_output ''
	[[ ! -e $BATS_TEST_TMPDIR/calls ]] ||
		die "install-deps ran: $(cat "$BATS_TEST_TMPDIR/calls")"
}

@test "scripts/install-deps asks apt-get for a missing package and for nothing else" {
	# One package that does not exist, so it counts as missing.
	printf '# test\nbash  # provides: bash\nchatkit-no-such-package\n' | stub_tree
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -97 "$BATS_TEST_TMPDIR/tree/scripts/install-deps"
	assert_output --partial 'installing: chatkit-no-such-package'
	run -0 cat "$BATS_TEST_TMPDIR/calls"
	assert_line --index 0 --regexp '^(apt-get|sudo) .*update'
	refute_output --partial 'bash'
}

@test "scripts/install-deps installs a package marked --portable only with --portable" {
	printf 'bash\nchatkit-no-such-default\nchatkit-no-such-portable --portable\n' | stub_tree
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -97 "$BATS_TEST_TMPDIR/tree/scripts/install-deps"
	assert_line 'install-deps: installing: chatkit-no-such-default'
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -97 "$BATS_TEST_TMPDIR/tree/scripts/install-deps" --portable
	assert_line 'install-deps: installing: chatkit-no-such-default chatkit-no-such-portable'
}

@test "scripts/install-deps refuses an option it does not know" {
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run -2 --separate-stderr "$TOP_SRCDIR/scripts/install-deps" --everything
	assert_output ''
	[[ $stderr == usage:* ]] || die "stderr: $stderr"
	[[ ! -e $BATS_TEST_TMPDIR/calls ]] || die "install-deps ran: $(cat "$BATS_TEST_TMPDIR/calls")"
}

# test_tree STEP: a copy of scripts/test in $BATS_TEST_TMPDIR/test-tree
# whose STEP (install-deps, portable or configure) fails with status 3,
# and whose earlier steps succeed.
test_tree() {
	local tree=$BATS_TEST_TMPDIR/test-tree step
	mkdir -p "$tree/scripts"
	cp "$TOP_SRCDIR/scripts/test" "$tree/scripts/"
	touch -d '1 hour ago' "$tree/configure.ac" "$tree/Makefile.am"
	for step in install-deps portable configure; do
		if [[ $step == "$1" ]]; then
			printf '#!/bin/sh\necho "%s: it failed" >&2\nexit 3\n' "$step"
		else
			printf '#!/bin/sh\nexit 0\n'
		fi >"$tree/scripts/$step"
		chmod +x "$tree/scripts/$step"
	done
	mv "$tree/scripts/configure" "$tree/configure"
}

@test "scripts/test ends with its closing line when install-deps fails" {
	test_tree install-deps
	run -1 --separate-stderr "$BATS_TEST_TMPDIR/test-tree/scripts/test"
	assert_output '0 passed, 1 failed'
	[[ $stderr == *'install-deps: it failed'*'scripts/install-deps failed'* ]] || die "stderr: $stderr"
}

@test "scripts/test --portable ends with its closing line when scripts/portable fails" {
	test_tree portable
	run -1 --separate-stderr "$BATS_TEST_TMPDIR/test-tree/scripts/test" --portable
	assert_output '0 passed, 1 failed'
	[[ $stderr == *'portable: it failed'*'scripts/portable failed'* ]] || die "stderr: $stderr"
}

@test "scripts/test ends with its closing line when configure fails" {
	test_tree configure
	run -1 --separate-stderr "$BATS_TEST_TMPDIR/test-tree/scripts/test"
	assert_output '0 passed, 1 failed'
	[[ $stderr == *'configure: it failed'*'test: configure failed'* ]] || die "stderr: $stderr"
}
