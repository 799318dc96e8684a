# fixture.bash: the fixture most cgi-*.bats files share, loaded after
# helpers/common: keys and a throwaway PostgreSQL per file (and, run as
# fcgi-*.bats, the file's long-lived FastCGI processes), and per test
# the default CGI settings and a fresh user in $user with a users row.
# A file that needs more defines its own setup_file/setup after the load.

setup_file() {
	[[ $CGI_MODE != fastcgi || ${HAVE_FASTCGI:-yes} == yes ]] ||
		skip "built without FastCGI support (./configure --with-fastcgi)"
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start
	[[ $CGI_MODE != fastcgi ]] || fcgi_start
}

teardown_file() {
	fcgi_stop
	pg_stop
}

setup() {
	cgi_env_defaults
	user=$(unique_id)
	pg_add_user "$user"
}
