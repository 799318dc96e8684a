# strict-json.bash: the rows of strict-json.txt (JSON members that strict
# reading refuses), walked by one test per place they can go.
#
#   load helpers/strict-json
#   @test "..." { strict_json_each my_check; }
#
# my_check MEMBERS returns 0 when the program refused the object that
# holds MEMBERS as it should; strict_json_each fails the test naming every
# row my_check did not refuse (with the HTTP status it got).

# strict_json_raw TEXT: TEXT with <NUL> <SOH> <HT> <LF> <US> as raw bytes.
strict_json_raw() {
	local t=$1
	t=${t//\\/\\\\}
	t=${t//%/%%}
	t=${t//<NUL>/\\000}
	t=${t//<SOH>/\\001}
	t=${t//<HT>/\\011}
	t=${t//<LF>/\\012}
	t=${t//<US>/\\037}
	# shellcheck disable=SC2059 # the escapes above are the format
	printf "$t"
}

# strict_json_each FN: FN MEMBERS for every row; fails naming the rows
# for which FN returned non-zero.
strict_json_each() {
	local fn=$1 name members n=0
	local -a missed=()
	while IFS=$'\t' read -r name members; do
		[[ -n $name && $name != '#'* ]] || continue
		n=$((n + 1))
		"$fn" "$members" || missed+=("$name: HTTP ${http_status:-?}")
	done <"$BATS_TEST_DIRNAME/helpers/strict-json.txt"
	((n > 30)) || fail "strict-json.txt: only $n rows read"
	((${#missed[@]} == 0)) ||
		printf '%s\n' "${#missed[@]} of $n rows not refused:" "${missed[@]}" |
		fail
}

# assert_log_has TEXT: the program's stderr holds TEXT verbatim, and no
# byte outside printable ASCII but the newlines ending its lines (what a
# client sent, escaped, cannot act on a terminal or reorder a line).
assert_log_has() {
	[[ $cgi_stderr == *"$1"* ]] ||
		fail "stderr lacks '$1'; it was: $cgi_stderr"
	if printf '%s\n' "$cgi_stderr" | LC_ALL=C grep -q '[^[:print:]]'; then
		printf '%s\n' "$cgi_stderr" | od -An -c |
			fail "stderr has bytes outside printable ASCII:"
	fi
}
