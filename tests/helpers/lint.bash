# lint.bash: checks that read the project's files and run nothing of
# theirs (tests/assertions.bats). Each prints one line a
# problem, "FILE:LINE: what is wrong", and fails when it printed one.
# Paths are relative to TOP, which the checks take as their first argument.

_lint_awk=$(dirname "${BASH_SOURCE[0]}")/commands.awk

# lint_records FILE...: commands.awk's records of FILE...
lint_records() {
	awk -f "$_lint_awk" "$@"
}

# --- assertions -------------------------------------------------------------

# lint_assertions TOP: no assertion helper runs where set -e is off: on
# the left of && or ||, in a condition or after !. bats-assert's
# assert_* and refute_*, fail, and every function of tests/ that calls
# one of them (helpers/*.bash and the .bats files) are assertion
# helpers. Such a helper's later lines run even when an earlier one
# failed, and only its last status counts: `assert_error 400 x || die`
# passed with any status.
lint_assertions() {
	local top=$1
	(
		cd "$top" || exit 1
		local -a files
		mapfile -t files < <(find tests -maxdepth 1 -name '*.bats' -type f | sort)
		lint_records tests/helpers/*.bash "${files[@]}" |
			awk '
			$2 == "cmd" { n++; where[n] = $1; name[n] = $3; fn[n] = $4; how[n] = $5 }
			END {
				# the assertion helpers: a fixed point over "calls"
				do {
					more = 0
					for (k = 1; k <= n; k++)
						if (fn[k] != "-" && !(fn[k] in helper) &&
						    (name[k] ~ /^(assert|refute)_/ || name[k] == "fail" || name[k] in helper)) {
							helper[fn[k]] = 1
							more = 1
						}
				} while (more)
				for (k = 1; k <= n; k++)
					if (how[k] != "-" && (name[k] ~ /^(assert|refute)_/ || name[k] in helper)) {
						printf "%s: %s runs with set -e off (%s)\n", where[k], name[k], \
							how[k] == "left" ? "on the left of && or ||" : \
							how[k] == "cond" ? "in a condition" : "after !"
						bad = 1
					}
				exit bad
			}'
	)
}
