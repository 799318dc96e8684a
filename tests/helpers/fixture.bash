# fixture.bash: the fixture most cgi-*.bats files share, loaded after
# helpers/common: keys and a throwaway PostgreSQL per file, and per test
# the default CGI settings and a fresh user in $user with a users row.
# A file that needs more defines its own setup_file/setup after the load.

setup_file() {
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start
}

teardown_file() {
	pg_stop
}

setup() {
	cgi_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
}
