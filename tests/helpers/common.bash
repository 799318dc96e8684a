# common.bash: loaded by every .bats file with `load helpers/common`.
#
# Paths come from `make check` (AM_TESTS_ENVIRONMENT exports CGI and
# TOP_SRCDIR); run by hand, they default to this source tree.

bats_load_library bats-support
bats_load_library bats-assert

: "${TOP_SRCDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${CGI:=$TOP_SRCDIR/cgi-bin/chatkit-session.cgi}"
export TOP_SRCDIR CGI

# die MESSAGE...: fail the current test (or setup) with a visible reason.
die() {
	printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
	printf '#| FAIL: %s\n' "$*" >&2
	printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
	return 1
}

# assert_that ACTUAL OP EXPECTED [WHAT]: OP is == != =~ (EXPECTED is an
# extended regex) or !~. Shows what was compared when it fails (podman's
# assert, under a name that leaves bats-assert's own assert alone).
assert_that() {
	local actual=$1 op=$2 expect=$3 what=${4:-value}
	local ok=0
	case $op in
	'==') [[ $actual == "$expect" ]] && ok=1 ;;
	'!=') [[ $actual != "$expect" ]] && ok=1 ;;
	'=~') [[ $actual =~ $expect ]] && ok=1 ;;
	'!~') [[ ! $actual =~ $expect ]] && ok=1 ;;
	*) die "assert_that: unknown operator '$op'"; return ;;
	esac
	if ((ok)); then
		return 0
	fi
	batslib_print_kv_single_or_multi 8 \
		'what' "$what" 'expected' "$op $expect" 'actual' "$actual" |
		batslib_decorate 'assertion failed' | fail
}

# unique_id [PREFIX]: an id no other test of this run uses (user ids,
# device ids). Tests make their own users, so none sees another's rows.
unique_id() {
	printf '%s_%s_%s%05d\n' "${1:-user}" "${BATS_TEST_NUMBER:-0}" \
		"$(date +%s%N | tail -c 7)" "$RANDOM"
}

# now: the current Unix time in seconds.
now() {
	date +%s
}

_helpers_dir=$(dirname "${BASH_SOURCE[0]}")
source "$_helpers_dir/pg.bash"
source "$_helpers_dir/tokens.bash"
source "$_helpers_dir/cgi.bash"
unset _helpers_dir
