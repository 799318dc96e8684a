# server-cases.bash: the fixture of a file that runs the program behind
# one server configuration (server.bats and its links): PostgreSQL, keys
# and the server, started in setup_file by server_setup_file KIND.

UUID_V4_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

# server_setup_file KIND: the whole fixture for one file. On failure it
# stops what it started, since bats runs no teardown_file then. fd 3 is
# closed for the servers: bats would wait for them to let go of it.
server_setup_file() {
	if pg_start 3>&- && tokens_setup "$BATS_FILE_TMPDIR/keys" &&
		httpd_prepare "$1" && httpd_config_default && httpd_start 3>&-; then
		return 0
	fi
	server_teardown_file
	return 1
}

# server_teardown_file: stop what server_setup_file started.
server_teardown_file() {
	httpd_stop
	pg_stop
}

# new_user: a fresh users row; prints its id.
new_user() {
	local user
	user=$(unique_id user) || return
	pg_add_user "$user" >/dev/null || return
	printf '%s\n' "$user"
}
