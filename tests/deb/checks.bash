# checks.bash: the check lines of tests/deb/in-root.sh and in-nspawn.sh,
# which tests/deb.bats reads: "ok N - what" or "not ok N - what", then
# "# ..." lines that say more (notes, and the end of a failed check's
# output). Sourced; the caller removes $log and $notes on exit.
#
#   check WHAT CMD...   run CMD, its output to $log; print the line
#   note TEXT           a "# TEXT" line after the running check's line
#   $n, $failed         checks run and failed so far

n=0
failed=0
log=$(mktemp)
notes=$(mktemp)

check() {
	local what=$1
	shift
	n=$((n + 1))
	if "$@" >>"$log" 2>&1; then
		echo "ok $n - $what"
		cat "$notes"
	else
		echo "not ok $n - $what"
		failed=$((failed + 1))
		cat "$notes"
		tail -n 20 "$log" | sed 's/^/# /'
	fi
	: >"$log"
	: >"$notes"
}

note() { printf '# %s\n' "$*" >>"$notes"; }
