#!/usr/bin/env bats
# portable.bats: the statically linked build of scripts/portable: no
# interpreter and no shared object, --version names the bundled
# libraries, and the binary answers a request from a chroot that holds
# nothing but itself, its settings, its key and a CA bundle, talking TLS
# (sslmode=verify-full) to PostgreSQL.
#
# PORTABLE_CGI names the binary (default: the one scripts/portable
# leaves in build-portable/). Skipped only when it has not been built.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/jwks

: "${PORTABLE_CGI:=$TOP_SRCDIR/build-portable/program/cgi-bin/chatkit-session.cgi}"

setup_file() {
	[[ -x $PORTABLE_CGI ]] || return 0
	tokens_setup "$BATS_FILE_TMPDIR/keys"
	pg_start --ssl
	if _network_keys; then
		jwks_setup "$BATS_FILE_TMPDIR/jwks" && jwks_start
	fi
}

teardown_file() {
	jwks_stop
	pg_stop
}

# _network_keys: whether this program fetches keys (CLERK_JWKS_URL).
_network_keys() {
	grep -q CLERK_JWKS_URL "$TOP_SRCDIR"/cgi-bin/config.c 2>/dev/null
}

setup() {
	[[ -x $PORTABLE_CGI ]] ||
		skip "portable binary not built: run 'make portable' (or scripts/portable); looked for $PORTABLE_CGI"
	CGI=$PORTABLE_CGI
}

# make_root OPTIONS...: a directory to chroot into with empty /lib,
# /usr/lib and /lib64, the binary in /cgi-bin, the public key, the test
# CA and a settings file (mode 0640) at /etc/chatkit-session.conf whose
# database URL asks for verify-full against the CA in /etc/ssl/ca.crt.
# Sets $root and points $CGI at a wrapper that runs the binary there.
#   --ca FILE   copy FILE as the CA bundle instead of the test CA
make_root() {
	local ca=$PG_TEST_CA
	[[ ${1:-} == --ca ]] && ca=$2
	root=$BATS_TEST_TMPDIR/root
	mkdir -p "$root"/{cgi-bin,etc/ssl,keys,lib,lib64,usr/lib,tmp} || return
	cp "$PORTABLE_CGI" "$root/cgi-bin/chatkit-session.cgi"
	cp "$KEY_PUB" "$root/keys/main.pub"
	cp "$ca" "$root/etc/ssl/ca.crt"
	cat >"$root/etc/chatkit-session.conf" <<-CONF
		CHATKIT_WORKFLOW_ID=wf_portable
		CLERK_JWT_KEY_FILE=/keys/main.pub
		CHATKIT_DATABASE_URL=host=127.0.0.1 port=$PG_TEST_PORT dbname=chatkit user=chatkit sslmode=verify-full sslrootcert=/etc/ssl/ca.crt
	CONF
	chmod 0640 "$root/etc/chatkit-session.conf"
	# Root chroots; anyone else gets a user namespace to do it in.
	local chroot_cmd="$(command -v chroot)"
	((EUID == 0)) || chroot_cmd="$(command -v unshare) -r $chroot_cmd"
	cat >"$BATS_TEST_TMPDIR/in-root" <<-SH
		#!/bin/sh
		exec $chroot_cmd "$root" /cgi-bin/chatkit-session.cgi "\$@"
	SH
	chmod 0755 "$BATS_TEST_TMPDIR/in-root"
	CGI=$BATS_TEST_TMPDIR/in-root
	cgi_env=("CHATKIT_CONFIG=/etc/chatkit-session.conf")
}

@test "file calls the portable binary statically linked" {
	run -0 file -L "$PORTABLE_CGI"
	assert_output --partial "statically linked"
}

@test "the portable binary has no program interpreter" {
	run -0 readelf -l "$PORTABLE_CGI"
	assert_output --partial "LOAD"
	refute_output --partial "INTERP"
}

@test "the portable binary needs no shared object" {
	run -0 readelf -d "$PORTABLE_CGI"
	refute_output --partial "NEEDED"
}

@test "--version prints the program version and each bundled library with its Debian source version" {
	local version
	version=$(sed -n 's/^AC_INIT(\[chatkit-session\], \[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
	run -0 "$PORTABLE_CGI" --version
	assert_line --index 0 "chatkit-session $version"
	assert_line --regexp '^OpenSSL 3\.[0-9.]+ \(Debian source openssl 3\.[^ ]+\)$'
	assert_line --regexp '^libpq 15\.[0-9]+ \(Debian source postgresql-15 15\.[^ ]+\)$'
	assert_line --regexp '^json-c 0\.[0-9.]+ \(Debian source json-c 0\.[^ ]+\)$'
	assert_line --regexp '^libfcgi [0-9.]+ \(Debian source libfcgi [^ ]+\)$'
	assert_line --partial "rebuild"
}

@test "a CGI request whose query string is --version gets a JSON answer, not the version text" {
	# Apache passes a query string without "=" as arguments (RFC 3875, 4.4).
	run -0 env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET QUERY_STRING=--version \
		SERVER_PROTOCOL=HTTP/1.1 "$PORTABLE_CGI" --version
	refute_output --partial "OpenSSL"
	assert_line --regexp '^Content-Type: application/json'
}

@test "--version in the portable build names libcurl when the program links it" {
	grep -q 'with-libcurl' "$TOP_SRCDIR/configure.ac" ||
		skip "this program does not use libcurl yet (configure has no --with-libcurl)"
	run -0 "$PORTABLE_CGI" --version
	assert_line --regexp '^libcurl [0-9.]+ \(Debian source curl [^ ]+\)$'
}

@test "the dynamically linked build cannot start in the same chroot" {
	local dynamic=${TOP_BUILDDIR:-$TOP_SRCDIR}/cgi-bin/chatkit-session.cgi
	[[ -x $dynamic ]] || skip "no dynamic build at $dynamic to compare with"
	readelf -l "$dynamic" | grep -q INTERP || skip "$dynamic is not dynamically linked"
	make_root
	cp "$dynamic" "$root/cgi-bin/chatkit-session.cgi"
	run -127 "$CGI" --version
}

@test "from a chroot with empty /lib, a request gets a session over TLS with verify-full" {
	local user tok
	make_root
	user=$(unique_id)
	pg_add_user "$user"
	tok=$(valid_token "$user")
	cgi_call --token "$tok"
	assert_status 200
	assert_json .session.userId "$user"
	assert_json .session.workflowId wf_portable
	# The server refuses TCP without TLS (pg_start --ssl): the row was
	# written through a TLS connection.
	assert_rows "$user" 1
}

@test "the arena keeps malloc's promises: alignment, zeroed calloc after a shrink, its last byte, threads, musl past it" {
	command -v musl-gcc >/dev/null || skip "musl-gcc is not installed"
	musl-gcc -static -pthread -fno-builtin -O2 -Wall -Wextra -Werror \
		-I"$TOP_SRCDIR/cgi-bin" -DCK_ARENA -o "$BATS_TEST_TMPDIR/arena-check" \
		"$TOP_SRCDIR/tests/arena-check.c" "$TOP_SRCDIR/cgi-bin/arena.c" \
		-Wl,--wrap=malloc_usable_size
	run "$BATS_TEST_TMPDIR/arena-check"
	assert_that "$output" == ok "tests/arena-check's report"
	assert_that "$status" == 0 "its exit status"
}

@test "a CGI request of the portable build gives no memory back before it exits: malloc is the arena" {
	command -v strace >/dev/null || skip "strace is not installed"
	# scripts/portable builds with musl, so configure finds the arena's
	# entry points: a build without it is a broken configure check.
	run -0 "$PORTABLE_CGI" --version
	assert_that "$output" =~ "malloc: arena for a CGI request" "--version"
	local user tok trace=$BATS_TEST_TMPDIR/trace
	make_root
	user=$(unique_id)
	pg_add_user "$user"
	tok=$(valid_token "$user")
	# The trace starts at the wrapper: chroot(1) maps and unmaps before
	# it runs the program, so only what follows the last execve counts.
	cat >"$BATS_TEST_TMPDIR/traced" <<-SH
		#!/bin/sh
		exec strace -f -qq -e trace=execve,mmap,munmap -o "$trace" "$CGI" "\$@"
	SH
	chmod 0755 "$BATS_TEST_TMPDIR/traced"
	CGI=$BATS_TEST_TMPDIR/traced
	cgi_call --token "$tok"
	assert_status 200
	assert_rows "$user" 1
	run -0 awk '/execve\(/ { n = 0; m = 0 } / mmap\(/ { m++ } / munmap\(/ { n++ }
		END { print m, n }' "$trace"
	# TLS to the database (verify-full) included: all of it fits.
	read -r maps unmaps <<<"$output"
	assert_that "$maps" == 0 "mmap calls after the program started"
	assert_that "$unmaps" == 0 "munmap calls after the program started"
}

@test "from the chroot, a server certificate from another CA is refused (503)" {
	local user tok other=$BATS_TEST_TMPDIR/other-ca
	mkdir -p "$other"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=another CA' \
		-keyout "$other/ca.key" -out "$other/ca.crt" 2>/dev/null
	make_root --ca "$other/ca.crt"
	user=$(unique_id)
	pg_add_user "$user"
	tok=$(valid_token "$user")
	cgi_call --token "$tok"
	assert_status 503
	assert_rows "$user" 0
}

@test "from the chroot, keys come over HTTPS checked against the bundle at a RHEL path, with no CHATKIT_CA_FILE" {
	_network_keys || skip "this program does not fetch keys yet (no CLERK_JWKS_URL in cgi-bin/config.c)"
	local user tok url
	make_root --ca "$JWKS_CA_FILE"
	# Only the RHEL family's path holds the CA: the binary has to find it.
	rm "$root/etc/ssl/ca.crt"
	mkdir -p "$root/etc/pki/tls/certs" "$root/cache"
	cp "$JWKS_CA_FILE" "$root/etc/pki/tls/certs/ca-bundle.crt"
	printf '127.0.0.1 localhost\n' >"$root/etc/hosts"
	url=$(jwks_case rhel)
	sed -i -e '/^CLERK_JWT_KEY_FILE=/d' -e 's/ sslmode=verify-full sslrootcert=[^ ]*$/ sslmode=require/' \
		"$root/etc/chatkit-session.conf"
	printf 'CLERK_JWKS_URL=%s\nCHATKIT_CACHE_DIR=/cache\n' "$url" >>"$root/etc/chatkit-session.conf"
	user=$(unique_id)
	pg_add_user "$user"
	tok=$(mint_token --kid kid-main --payload "$(claims "$user")")
	cgi_call --token "$tok"
	assert_status 200
	assert_json .session.userId "$user"
	assert_that "$(jwks_count rhel)" == 1 "fetches of the JWKS"
}
