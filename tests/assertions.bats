#!/usr/bin/env bats
# assertions.bats: no assertion helper runs where set -e is off (on the
# left of && or ||, in a condition, after !): there its failing lines
# go unnoticed and only its last status counts. tests/helpers/lint.bash
# says which helpers assert.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/lint

@test "no assertion helper in tests/ runs where set -e is off" {
	run lint_assertions "$TOP_SRCDIR"
	assert_output ''
	assert_success
}

@test "the check finds an assertion helper on the left of ||, in a condition and after !" {
	local tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/tests/helpers"
	cat >"$tree/tests/helpers/shape.bash" <<-'END'
		assert_shape() {
			assert_status "$1"
			[[ -z ${2:-} ]] || assert_json .error "$2"
		}
	END
	cat >"$tree/tests/sample.bats" <<-'END'
		sample_test() {
			assert_shape 400 'Bad Request' || die "body: $body"
			{ assert_status 200; } && true
			if assert_output ok; then :; fi
			! refute_output x
			assert_shape 200
			x=$(assert_status 1) || true
		}
	END
	run -1 lint_assertions "$tree"
	assert_line 'tests/sample.bats:2: assert_shape runs with set -e off (on the left of && or ||)'
	assert_line 'tests/sample.bats:3: assert_status runs with set -e off (on the left of && or ||)'
	assert_line 'tests/sample.bats:4: assert_output runs with set -e off (in a condition)'
	assert_line 'tests/sample.bats:5: refute_output runs with set -e off (after !)'
	assert_equal "${#lines[@]}" 4
}
