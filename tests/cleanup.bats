#!/usr/bin/env bats
# cleanup.bats: `chatkit-session.cgi --cleanup`, the command a cron job or
# a systemd timer runs (cleanup/): it marks expired sessions and deletes
# expired and revoked rows past CHATKIT_RETENTION_DAYS. A command, not a
# request, so it has no FastCGI form; a CGI request never runs it.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/fixture

# cleanup [NAME=VALUE...]: `$CGI --cleanup` with the test's settings (and
# these) in a clean environment, through `run`, bounded in time.
cleanup() {
	local -a envargs=("${cgi_env[@]}" "$@")
	run --separate-stderr timeout -k 5 120 env -i PATH=/usr/bin:/bin \
		"${envargs[@]}" "$CGI" --cleanup
	printf '# $ %s --cleanup -> exit %s\n' "${CGI##*/}" "$status"
	printf '#   %s\n' "$output" "$stderr"
}

# clean_slate [NAME=VALUE...]: one --cleanup first (with the retention
# the test will use), so what earlier tests of this file left in the
# database is not counted by the test's own run.
clean_slate() {
	cleanup "$@"
	assert_success
}

@test "--cleanup marks expired sessions and deletes expired and revoked rows older than 30 days" {
	clean_slate
	seed "$user" 3 active "now() - interval '2 days'" "now() - interval '1 day'" "now() - interval '1 day'"
	seed "$user" 4 expired "now() - interval '40 days'" "now() - interval '39 days'" "now() - interval '39 days'"
	seed "$user" 2 expired "now() - interval '20 days'" "now() - interval '19 days'" "now() - interval '19 days'"
	seed "$user" 5 revoked "now() - interval '40 days'" "now() + interval '1 day'" "now() - interval '31 days'"
	seed "$user" 1 revoked "now() - interval '40 days'" "now() - interval '39 days'" "now() - interval '29 days'"
	seed "$user" 6 active "now() - interval '1 hour'" "now() + interval '1 hour'" "now()"
	cleanup
	assert_success
	assert_output 'cleanup: 3 marked expired, 4 expired and 5 revoked rows deleted (older than 30 days)'
	assert_rows "$user" 6 "status = 'active'"
	assert_rows "$user" 5 "status = 'expired'"
	assert_rows "$user" 1 "status = 'revoked'"
}

@test "--cleanup honours CHATKIT_RETENTION_DAYS" {
	clean_slate CHATKIT_RETENTION_DAYS=1
	seed "$user" 2 expired "now() - interval '5 days'" "now() - interval '3 days'" "now() - interval '3 days'"
	seed "$user" 3 revoked "now() - interval '5 days'" "now() + interval '1 day'" "now() - interval '2 days'"
	seed "$user" 1 revoked "now() - interval '5 days'" "now() + interval '1 day'" "now() - interval '12 hours'"
	cleanup CHATKIT_RETENTION_DAYS=1
	assert_success
	assert_output 'cleanup: 0 marked expired, 2 expired and 3 revoked rows deleted (older than 1 day)'
	assert_rows "$user" 1
}

@test "--cleanup deletes more rows than one batch holds" {
	clean_slate
	seed "$user" 2500 expired "now() - interval '40 days'" "now() - interval '39 days'" "now() - interval '39 days'"
	seed "$user" 1200 active "now() - interval '40 days'" "now() - interval '39 days'" "now() - interval '39 days'"
	cleanup
	assert_success
	assert_output 'cleanup: 1200 marked expired, 3700 expired and 0 revoked rows deleted (older than 30 days)'
	assert_rows "$user" 0
}

@test "--cleanup a second time finds nothing to do" {
	seed "$user" 2 revoked "now() - interval '40 days'" "now() + interval '1 day'" "now() - interval '31 days'"
	cleanup
	assert_success
	cleanup
	assert_success
	assert_output 'cleanup: 0 marked expired, 0 expired and 0 revoked rows deleted (older than 30 days)'
}

@test "--cleanup needs neither a workflow id nor a verification key" {
	seed "$user" 1 active "now() - interval '2 days'" "now() - interval '1 day'" "now() - interval '1 day'"
	cgi_env=("CHATKIT_CONFIG=$BATS_FILE_TMPDIR/chatkit-empty.conf"
		"CHATKIT_DATABASE_URL=$CHATKIT_DATABASE_URL")
	cleanup
	assert_success
	assert_output --regexp '^cleanup: [1-9][0-9]* marked expired'
	assert_rows "$user" 1 "status = 'expired'"
}

@test "--cleanup reads CHATKIT_RETENTION_DAYS from the CHATKIT_CONFIG file" {
	clean_slate CHATKIT_RETENTION_DAYS=7
	local conf=$BATS_TEST_TMPDIR/chatkit.conf
	printf 'CHATKIT_RETENTION_DAYS=7\n' >"$conf"
	seed "$user" 1 revoked "now() - interval '9 days'" "now() + interval '1 day'" "now() - interval '8 days'"
	cleanup CHATKIT_CONFIG="$conf"
	assert_success
	assert_output 'cleanup: 0 marked expired, 0 expired and 1 revoked rows deleted (older than 7 days)'
}

@test "--cleanup with a CHATKIT_RETENTION_DAYS of 0 fails and deletes nothing" {
	seed "$user" 1 revoked "now() - interval '40 days'" "now() + interval '1 day'" "now() - interval '31 days'"
	cleanup CHATKIT_RETENTION_DAYS=0
	assert_failure
	assert_that "$stderr" =~ "CHATKIT_RETENTION_DAYS" "stderr"
	assert_rows "$user" 1
}

@test "--cleanup with the database unreachable fails with a reason on stderr" {
	cleanup CHATKIT_DATABASE_URL="$(pg_dead_url)"
	assert_failure
	assert_that "$stderr" =~ "database" "stderr"
}

@test "--cleanup as a CGI argument (a query string without =) is not run" {
	local rc=0 out
	seed "$user" 2 revoked "now() - interval '40 days'" "now() + interval '1 day'" "now() - interval '31 days'"
	out=$(timeout -k 5 30 env -i "${cgi_env[@]}" GATEWAY_INTERFACE=CGI/1.1 \
		REQUEST_METHOD=GET QUERY_STRING=--cleanup "$CGI" --cleanup </dev/null) || rc=$?
	printf '# exit %s:\n%s\n' "$rc" "$out" | sed 's/^/#   /'
	assert_that "$rc" == 0 "exit status"
	assert_that "$out" =~ '^Status: 401 ' "the answer to a request without a token"
	assert_rows "$user" 2
}

@test "an unknown option fails with a usage line" {
	run --separate-stderr timeout 10 env -i "$CGI" --frobnicate
	assert_failure
	assert_that "$stderr" =~ "usage" "stderr"
}

# fill_cleanup FILE: the shipped cleanup/FILE.in (or FILE) with this
# build's program and the test's settings directory, as make install
# fills it; prints the path of the copy.
fill_cleanup() {
	local in=$TOP_SRCDIR/cleanup/$1.in out=$BATS_TEST_TMPDIR/$1
	[[ -e $in ]] || in=$TOP_SRCDIR/cleanup/$1
	sed -e "s|@CGIDIR@|${CGI%/*}|g" -e "s|@SYSCONFDIR@|$BATS_TEST_TMPDIR|g" \
		"$in" >"$out" || die "cannot fill $in" || return
	printf '%s\n' "$out"
}

@test "the shipped cron line runs --cleanup with the settings file" {
	local cron line
	seed "$user" 2 revoked "now() - interval '40 days'" "now() + interval '1 day'" "now() - interval '31 days'"
	printf 'CHATKIT_DATABASE_URL=%s\n' "$CHATKIT_DATABASE_URL" \
		>"$BATS_TEST_TMPDIR/chatkit-session.conf"
	cron=$(fill_cleanup chatkit-session-cleanup.cron)
	line=$(grep -v '^#' "$cron" | grep .)
	assert_that "$(wc -l <<<"$line")" == 1 "one cron line"
	assert_that "$line" =~ '^[0-9]+ [0-9]+ \* \* \* www-data ' "schedule and user"
	# The command is what follows the five time fields and the user.
	run timeout -k 5 60 env -i PATH=/usr/bin:/bin sh -c "$(cut -d' ' -f7- <<<"$line")"
	assert_success
	assert_output ''
	assert_rows "$user" 0
}

@test "the shipped systemd service runs --cleanup with the settings file" {
	clean_slate
	local svc envline exec
	seed "$user" 2 revoked "now() - interval '40 days'" "now() + interval '1 day'" "now() - interval '31 days'"
	printf 'CHATKIT_DATABASE_URL=%s\n' "$CHATKIT_DATABASE_URL" \
		>"$BATS_TEST_TMPDIR/chatkit-session.conf"
	svc=$(fill_cleanup chatkit-session-cleanup.service)
	assert_that "$(<"$svc")" =~ 'Type=oneshot' "service type"
	envline=$(sed -n 's/^Environment=//p' "$svc")
	exec=$(sed -n 's/^ExecStart=//p' "$svc")
	assert_that "$exec" == "${CGI%/*}/chatkit-session.cgi --cleanup" ExecStart
	run timeout -k 5 60 env -i PATH=/usr/bin:/bin "$envline" $exec
	assert_success
	assert_output 'cleanup: 0 marked expired, 0 expired and 2 revoked rows deleted (older than 30 days)'
	assert_rows "$user" 0
}

@test "the shipped systemd timer starts the service once a day" {
	local timer
	timer=$(fill_cleanup chatkit-session-cleanup.timer)
	assert_that "$(<"$timer")" =~ 'OnCalendar=daily' "OnCalendar"
	assert_that "$(<"$timer")" =~ 'WantedBy=timers.target' "WantedBy"
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	# The pair side by side, as installed: the timer names the service.
	run timeout 30 systemd-analyze verify --man=no \
		"$(fill_cleanup chatkit-session-cleanup.service)" "$timer"
	assert_success
}
