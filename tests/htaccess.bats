#!/usr/bin/env bats
# htaccess.bats: the shared-hosting variant. The host's own configuration
# only grants AllowOverride; everything else comes from the shipped
# apache/htaccess.in, copied as .htaccess beside the program and www/.
# Apache with mpm_prefork + mod_cgi, as many shared hosts run it.
#
# Three copies of the web directory differ only in their .htaccess:
#   shipped/   the file as shipped
#   fallback/  without CGIPassAuth (Apache < 2.4.13): the rewrite
#              fallback alone passes the header, as REDIRECT_HTTP_AUTHORIZATION
#   neither/   without CGIPassAuth and without the fallback: the control

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/httpd

# _web_dir NAME SED-SCRIPT: public_html/NAME with www/, the program and
# the shipped .htaccess edited by SED-SCRIPT (empty: as shipped).
_web_dir() {
	local dir=$HTTPD_DIR/public_html/$1
	mkdir -p "$dir" || return
	cp -R "$TOP_SRCDIR/www/." "$dir/" || return
	cp "$CGI" "$dir/chatkit-session.cgi" || return
	chmod 0755 "$dir/chatkit-session.cgi"
	fill_template "$TOP_SRCDIR/apache/htaccess.in" "$dir/.htaccess" \
		"SYSCONFDIR=$HTTPD_ETC" || return
	if [[ -n $2 ]]; then
		sed -i -e "$2" "$dir/.htaccess" || return
	fi
	# A stray configuration file in the web directory must not be served.
	printf 'CHATKIT_WORKFLOW_ID=not-for-the-public\n' >"$dir/chatkit-session.conf"
}

setup_file() {
	if _setup_file; then
		return 0
	fi
	teardown_file
	return 1
}

# _setup_file: the fixture; setup_file stops what it started on failure,
# since bats runs no teardown_file then. fd 3 is closed for the servers:
# bats would wait for them to let go of it.
_setup_file() {
	pg_start 3>&- || return
	tokens_setup "$BATS_FILE_TMPDIR/keys" || return
	httpd_prepare apache-cgi || return
	httpd_config_default || return

	_web_dir shipped '' || return
	_web_dir fallback '/^[[:space:]]*CGIPassAuth /d' || return
	_web_dir neither '/^[[:space:]]*CGIPassAuth /d; /HTTP:Authorization/d' || return
	if grep -Eq '^[[:space:]]*[^#[:space:]].*(CGIPassAuth|HTTP:Authorization)' \
		"$HTTPD_DIR/public_html/neither/.htaccess"; then
		die "neither/.htaccess still passes the header"
		return
	fi

	# What a shared host grants: overrides, not configuration.
	cat >"$HTTPD_SITE" <<-CONF
		DocumentRoot "$HTTPD_DIR/public_html"
		<Directory "$HTTPD_DIR/public_html">
			Options SymLinksIfOwnerMatch
			AllowOverride AuthConfig FileInfo Options=ExecCGI
			Require all granted
		</Directory>
	CONF
	httpd_start 3>&-
}

teardown_file() {
	httpd_stop
	pg_stop
}

setup() {
	httpd_log_mark
}

teardown() {
	httpd_log_tail
}

# new_user: a fresh users row; prints its id.
new_user() {
	local user
	user=$(unique_id user) || return
	pg_add_user "$user" >/dev/null || return
	printf '%s\n' "$user"
}

@test "the shipped .htaccess maps api/chatkit/session to the program and passes the token" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok" /shipped/api/chatkit/session
	assert_status 200
	assert_header Content-Type '^application/json'
	assert_json .session.userId "$user"
}

@test "the shipped .htaccess: a request without a token gets the program's JSON 401" {
	http_post /shipped/api/chatkit/session
	assert_error 401 Unauthorized
	assert_header WWW-Authenticate '^Bearer realm="chatkit"$'
}

@test "the shipped .htaccess: PUT gets the program's 405 with Allow: GET, POST, DELETE" {
	http_request -X PUT /shipped/api/chatkit/session
	assert_error 405 'Method Not Allowed'
	assert_header Allow '^GET, POST, DELETE$'
}

@test "the shipped .htaccess: GET and DELETE reach the program" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok" -d '{"deviceId":"ht-1"}' /shipped/api/chatkit/session
	assert_status 200
	http_request -X GET -t "$tok" /shipped/api/chatkit/session
	assert_status 200
	assert_json '.sessions[0].deviceId' ht-1
	http_request -X DELETE -t "$tok" -d '{"all":true}' /shipped/api/chatkit/session
	assert_status 200
	assert_json .revoked 1
}

@test "without CGIPassAuth the rewrite fallback passes the token" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok" /fallback/api/chatkit/session
	assert_status 200
	assert_json .session.userId "$user"
}

@test "without CGIPassAuth and the fallback the token never reaches the program" {
	local user tok
	user=$(new_user)
	tok=$(valid_token "$user")
	http_post -t "$tok" /neither/api/chatkit/session
	assert_error 401 Unauthorized
	# No error="invalid_token": the program saw no credentials at all.
	assert_header WWW-Authenticate '^Bearer realm="chatkit"$'
}

@test "the shipped .htaccess refuses to serve a configuration file beside it" {
	http_request -X GET /shipped/chatkit-session.conf
	assert_status 403
	refute_output --partial not-for-the-public
}

@test "the shipped .htaccess refuses to serve itself" {
	http_request -X GET /shipped/.htaccess
	assert_status 403
	refute_output --partial RewriteRule
}

@test "the shipped .htaccess serves the demo page from the same directory" {
	http_request -X GET /shipped/
	assert_status 200
	assert_header Content-Type '^text/html'
}
