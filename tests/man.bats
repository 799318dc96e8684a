#!/usr/bin/env bats
# man.bats: the manual page man/chatkit-session.cgi.8 is clean mdoc, its
# ENVIRONMENT names exactly the settings cgi-bin/config.c reads, each
# with the default the program uses, its SYNOPSIS and EXIT STATUS agree
# with the built program, and make install puts it in man8 unchanged.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/settings

page=$TOP_SRCDIR/man/chatkit-session.cgi.8
# page_section NAME: the text of the page's section NAME, one "ITEM
# TEXT" line per item of its lists (".It Ev X", ".It 2"): the item's
# lines joined, macro names dropped.
page_section() {
	awk -v want="$1" '
	/^\.Sh / { insec = (substr($0, 5) == want); next }
	!insec { next }
	/^\.It / { if (item != "") print item, text; item = $NF; text = ""; next }
	/^\.(El|Pp|Bl)/ { if (item != "") print item, text; item = ""; next }
	item != "" {
		line = $0
		sub(/^\.[A-Z][a-z][a-z]? /, "", line)
		if (line ~ /^\./)
			next
		text = text " " line
	}
	END { if (item != "") print item, text }' "$page"
}

# page_default NAME: the first word after "Default:" in NAME's entry in
# ENVIRONMENT, without trailing punctuation; nothing when there is none.
page_default() {
	local text
	text=$(page_section ENVIRONMENT | awk -v n="$1" '$1 == n' | cut -d' ' -f2-)
	[[ $text =~ Default:\ +([^ ]+) ]] || return 0
	printf '%s\n' "${BASH_REMATCH[1]}" | sed -E 's/[.,;:]+$//'
}

# page_status WORD: the exit status EXIT STATUS gives for the case its
# text names with WORD.
page_status() {
	page_section 'EXIT STATUS' | awk -v w="$1" '$1 ~ /^[0-9]+$/ && index($0, w) { print $1 }'
}

@test "the page is clean under mandoc -Tlint -W warning" {
	run -0 mandoc -Tlint -W warning "$page"
	assert_output ''
}

@test "ENVIRONMENT gives every setting the program reads, with the default the program uses" {
	local settings name def got bad=''
	settings=$(program_settings)
	# The table was read: a parse that finds nothing must not pass.
	assert_that "$(wc -l <<<"$settings")" =~ '^[2-9][0-9]$' "settings read from config.c"
	while read -r name def; do
		got=$(page_default "$name")
		if [[ -z $(page_section ENVIRONMENT | awk -v n="$name" '$1 == n') ]]; then
			bad+="$name: no '.It Ev $name' in ENVIRONMENT"$'\n'
		elif [[ $def == unset && ! $got =~ ^(unset|none)$ ]]; then
			bad+="$name: the program has no default; the page says 'Default: $got'"$'\n'
		elif [[ $def != unset && $got != "$def" ]]; then
			bad+="$name: the program's default is '$def'; the page says 'Default: $got'"$'\n'
		fi
	done <<<"$settings"
	[[ -z $bad ]] || die "$bad"
}

@test "ENVIRONMENT names no setting the program does not read" {
	local known item bad=''
	known=" $(program_settings | cut -d' ' -f1 | tr '\n' ' ') "
	while read -r item _; do
		[[ $known == *" $item "* ]] || bad+="$item "
	done < <(page_section ENVIRONMENT)
	[[ -z $bad ]] || die "in the page, unknown to cgi-bin/config.c: $bad"
}

@test "the options SYNOPSIS lists are those the program's usage line offers" {
	local usage want synopsis
	want=$(page_status usage)
	assert_that "$want" =~ '^[0-9]+$' "EXIT STATUS for an unknown option"
	run --separate-stderr timeout 10 env -i "$CGI" --frobnicate
	assert_that "$status" == "$want" "exit status of an unknown option"
	assert_output ''
	usage=$(head -n 1 <<<"$stderr")
	assert_that "$usage" =~ '^usage: [^ ]*chatkit-session\.cgi \[--[a-z]+(\|--[a-z]+)*\]$' "usage line"
	usage=$(grep -o -E -- '--[a-z]+' <<<"$usage" | sort | tr '\n' ' ')
	synopsis=$(awk '/^\.Sh / { s = ($2 == "SYNOPSIS"); next } s && /^\.Fl / { print "-" $2 }' "$page" |
		sort | tr '\n' ' ')
	assert_that "$synopsis" == "$usage" "options in SYNOPSIS (the usage line offers: $usage)"
}

@test "--version exits 0 and prints configure.ac's version" {
	local version
	version=$(sed -n -E 's/^AC_INIT\(\[chatkit-session\], *\[([^]]+)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
	assert_that "$version" =~ '^[0-9]+\.[0-9]+' "version in configure.ac"
	run -0 --separate-stderr timeout 10 env -i "$CGI" --version
	assert_line --index 0 "chatkit-session $version"
	assert_that "$stderr" == '' stderr
}

@test "--cleanup that cannot reach the database exits with the status EXIT STATUS gives" {
	local want
	want=$(page_status 'cleanup failed')
	assert_that "$want" =~ '^[0-9]+$' "EXIT STATUS for a failed --cleanup"
	: >"$BATS_TEST_TMPDIR/empty.conf"
	run --separate-stderr timeout 30 env -i CHATKIT_CONFIG="$BATS_TEST_TMPDIR/empty.conf" \
		CHATKIT_DATABASE_URL='postgresql://127.0.0.1:1/none' CHATKIT_DB_TIMEOUT=2 \
		"$CGI" --cleanup
	assert_that "$status" == "$want" "exit status"
	assert_output ''
	assert_that "$stderr" =~ 'cleanup failed' stderr
}

@test "make install puts the page, unchanged, in share/man/man8" {
	local build=${TOP_BUILDDIR:-$TOP_SRCDIR} prefix dest=$BATS_TEST_TMPDIR/dest
	[[ -f $build/Makefile ]] || skip "no configured build in $build"
	prefix=$(sed -n 's/^prefix = //p' "$build/Makefile")
	# Not the make check that runs this file: its jobs and variables stay out.
	run -0 env MAKEFLAGS= MFLAGS= make -s -C "$build" install DESTDIR="$dest"
	run -0 cmp "$page" "$dest$prefix/share/man/man8/chatkit-session.cgi.8"
}
