#!/usr/bin/env bats
# deb.bats: the Debian package from source to purge in fresh Debian 12
# roots, through the shared fresh-root tool: tests/deb/in-root.sh build
# in one root (make deb, lintian), tests/deb/in-root.sh install in
# another (apt-get install of that .deb, the endpoint through Apache and
# lighttpd, as a CGI and through the FastCGI pool, the gate in front of a
# stand-in ChatKit server, then apt-get purge). setup_file runs both
# once; each test is one line of their output.
#
# Needs root, the fresh-root tool ($FRESH_ROOT, else ../shared/fresh-root
# beside the repository, else /work/shared/fresh-root) and a git
# checkout to clone (not the release tarball make distcheck unpacks);
# skipped otherwise. Both roots test the committed HEAD of the
# repository, not the work tree. The roots share the host's network:
# 127.0.0.1:9123 and 8000, the gate's ports as shipped, must be free. A
# minute and a half once fresh-root has its root tarball and the .debs
# cached; the first run downloads them.

bats_require_minimum_version 1.5.0

load helpers/common

# fresh_root_tool: the path of the fresh-root tool, if one is found.
fresh_root_tool() {
	local t
	for t in "${FRESH_ROOT:-}" "$TOP_SRCDIR/../shared/fresh-root" /work/shared/fresh-root; do
		if [[ -n $t && -x $t ]]; then
			printf '%s\n' "$t"
			return 0
		fi
	done
	return 1
}

setup_file() {
	local tool src repo=$BATS_FILE_TMPDIR/repo.git
	# Bats 1.8 cannot skip from setup_file: setup skips each test.
	if ((EUID != 0)); then
		echo "needs root: fresh-root unpacks a root and chroots into it" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	if ! tool=$(fresh_root_tool); then
		echo "no fresh-root tool: set FRESH_ROOT, or put it at ../shared/fresh-root" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	# make distcheck runs the suite from the unpacked tarball, which may
	# sit inside a checkout: only a tree that is a checkout's top counts.
	src=$(cd "$TOP_SRCDIR" && pwd -P) || return
	if [[ $(git -C "$src" rev-parse --show-toplevel 2>/dev/null) != "$src" ]]; then
		echo "$src is not a git checkout (a release tarball?): fresh-root clones committed sources" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	# fresh-root clones no worktree: a bare clone of HEAD.
	git clone -q --bare --no-local "$TOP_SRCDIR" "$repo" ||
		die "git clone --bare $TOP_SRCDIR failed" || return
	git -C "$repo" update-ref HEAD "$(git -C "$TOP_SRCDIR" rev-parse HEAD)"
	"$tool" run --src "$repo" -- tests/deb/in-root.sh build \
		>"$BATS_FILE_TMPDIR/build.out" 2>"$BATS_FILE_TMPDIR/build.err" </dev/null || true
	"$tool" run --src "$repo" -- tests/deb/in-root.sh install \
		<"$BATS_FILE_TMPDIR/build.out" \
		>"$BATS_FILE_TMPDIR/install.out" 2>"$BATS_FILE_TMPDIR/install.err" || true
	# The same package under systemd as PID 1 (tests/deb/in-nspawn.sh).
	local name
	name=$(sed -n 's/^# base64 of //p' "$BATS_FILE_TMPDIR/build.out")
	[[ -n $name ]] || return 0
	sed -n '/^# base64 of /,$p' "$BATS_FILE_TMPDIR/build.out" | sed 1d |
		base64 -d >"$BATS_FILE_TMPDIR/$name" || return
	"$TOP_SRCDIR/tests/deb/in-nspawn.sh" "$BATS_FILE_TMPDIR/$name" \
		>"$BATS_FILE_TMPDIR/nspawn.out" 2>"$BATS_FILE_TMPDIR/nspawn.err" </dev/null || true
}

setup() {
	if [[ -e $BATS_FILE_TMPDIR/skip ]]; then
		skip "$(cat "$BATS_FILE_TMPDIR/skip")"
	fi
}

# in_root RUN WHAT: the line "ok N - WHAT" of RUN's (build or install)
# output; fails with the "# ..." lines below it, or with the end of
# RUN's stderr when no line names WHAT (the run stopped before it).
in_root() {
	local out=$BATS_FILE_TMPDIR/$1.out what=$2 line status=none why=
	while IFS= read -r line; do
		if [[ $status == none && $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ &&
			${BASH_REMATCH[2]} == "$what" ]]; then
			status=${BASH_REMATCH[1]:-ok}
			continue
		fi
		if [[ $status != none ]]; then
			[[ $line == '#'* && $line != '# base64 of '* ]] || break
			why+=$line$'\n'
		fi
	done <"$out"
	case $status in
	ok) return 0 ;;
	none)
		fail "no line '$what' in the $1 run's output; its stderr ends:
$(tail -n 30 "$BATS_FILE_TMPDIR/$1.err")"
		;;
	*) fail "not ok - $what
$why" ;;
	esac
}

@test "the build dependencies install from debian/control" {
	in_root build "the build dependencies install from debian/control"
}

@test "make deb builds the package and lintian finds no error or warning" {
	in_root build "make deb builds the package and lintian finds no error or warning"
}

@test "apt-get install ./chatkit-session_*.deb pulls in what it needs" {
	in_root install "apt-get install ./chatkit-session_*.deb pulls in what it needs"
}

@test "/etc/chatkit-session.conf is root:www-data 0640 with every setting commented out" {
	in_root install "/etc/chatkit-session.conf is root:www-data 0640 with every setting commented out"
}

@test "/var/cache/chatkit-session is www-data's, mode 0700" {
	in_root install "/var/cache/chatkit-session is www-data's, mode 0700"
}

@test "the pool's socket and the cleanup timer are enabled; the gate's socket and the server snippets are not" {
	in_root install "the pool's socket and the cleanup timer are enabled; the gate's socket and the server snippets are not"
}

@test "the test tools install: PostgreSQL, curl, openssl, systemd, python3" {
	in_root install "the test tools install: PostgreSQL, curl, openssl, systemd, python3"
}

@test "removal stops the gate's socket; installation leaves it disabled, and deb-systemd-invoke starts no disabled unit" {
	in_root install "removal stops the gate's socket; installation leaves it disabled, and deb-systemd-invoke starts no disabled unit"
}

@test "systemd-analyze verifies the installed units and rates the three services 2.0 or better" {
	in_root install "systemd-analyze verifies the installed units and rates the three services 2.0 or better"
}

@test "the installed migrations apply to a new database" {
	in_root install "the installed migrations apply to a new database"
}

@test "the settings file takes the database, a key and the workflow" {
	in_root install "the settings file takes the database, a key and the workflow"
}

@test "a reinstall keeps the edited settings file, its owner and mode, and the key cache" {
	in_root install "a reinstall keeps the edited settings file, its owner and mode, and the key cache"
}

@test "a2enconf chatkit-session: Apache starts" {
	in_root install "a2enconf chatkit-session: Apache starts"
}

@test "POST /api/chatkit/session through Apache's CGI answers 200 with a session" {
	in_root install "POST /api/chatkit/session through Apache's CGI answers 200 with a session"
}

@test "the demo page is at /chatkit-session/" {
	in_root install "the demo page is at /chatkit-session/"
}

@test "the demo page's endpoint, /chatkit-session/api/chatkit/session, answers 200" {
	in_root install "the demo page's endpoint, /chatkit-session/api/chatkit/session, answers 200"
}

@test "the cleanup service's command runs as its user with the settings file" {
	in_root install "the cleanup service's command runs as its user with the settings file"
}

@test "a2enconf chatkit-session-proxy-fcgi and the pool started as its units say" {
	in_root install "a2enconf chatkit-session-proxy-fcgi and the pool started as its units say"
}

@test "POST /api/chatkit/session through Apache's mod_proxy_fcgi and the pool answers 200" {
	in_root install "POST /api/chatkit/session through Apache's mod_proxy_fcgi and the pool answers 200"
}

@test "the pool runs as many processes of the program as its unit says, as www-data" {
	in_root install "the pool runs as many processes of the program as its unit says, as www-data"
}

@test "stopping the pool as systemd would ends every process of it" {
	in_root install "stopping the pool as systemd would ends every process of it"
}

@test "the gate: its socket enabled, a2enconf chatkit-session-gate with its modules, its pool as its units say, a stand-in ChatKit server" {
	in_root install "the gate: its socket enabled, a2enconf chatkit-session-gate with its modules, its pool as its units say, a stand-in ChatKit server"
}

@test "POST /chatkit with a session as Bearer reaches the ChatKit server with the user" {
	in_root install "POST /chatkit with a session as Bearer reaches the ChatKit server with the user"
}

@test "POST /chatkit without a session gets 401 with the Bearer challenge" {
	in_root install "POST /chatkit without a session gets 401 with the Bearer challenge"
}

@test "stopping the gate's pool as systemd would ends every process of it" {
	in_root install "stopping the gate's pool as systemd would ends every process of it"
}

@test "lighty-enable-mod chatkit-session: lighttpd starts" {
	in_root install "lighty-enable-mod chatkit-session: lighttpd starts"
}

@test "POST /api/chatkit/session through lighttpd's CGI answers 200" {
	in_root install "POST /api/chatkit/session through lighttpd's CGI answers 200"
}

@test "the demo page is at /chatkit-session/ under lighttpd" {
	in_root install "the demo page is at /chatkit-session/ under lighttpd"
}

@test "lighty-enable-mod chatkit-session-fastcgi-pool with the pool" {
	in_root install "lighty-enable-mod chatkit-session-fastcgi-pool with the pool"
}

@test "POST /chatkit-session/api/chatkit/session through lighttpd and the pool answers 200" {
	in_root install "POST /chatkit-session/api/chatkit/session through lighttpd and the pool answers 200"
}

@test "everything stops: no process of the package or the servers runs" {
	in_root install "everything stops: no process of the package or the servers runs"
}

@test "apt-get purge chatkit-session" {
	in_root install "apt-get purge chatkit-session"
}

@test "after the purge nothing of the package is left" {
	in_root install "after the purge nothing of the package is left"
}

# in_nspawn WHAT: in_root's check for tests/deb/in-nspawn.sh's run,
# skipped with the reason where no container with systemd as PID 1 could
# be made or booted on this machine (where the root cannot be made).
in_nspawn() {
	local what out=$BATS_FILE_TMPDIR/nspawn.out
	for what in "a Debian 12 root with systemd (mmdebstrap)" \
		"systemd boots as PID 1 in the container"; do
		awk -v w="$what" '/^ok [0-9]+ - / { sub(/^ok [0-9]+ - /, ""); if ($0 == w) f = 1 }
			END { exit !f }' "$out" 2>/dev/null ||
			skip "no container with systemd as PID 1 here: '$what' did not pass: $(cat "$out" "$BATS_FILE_TMPDIR/nspawn.err" 2>/dev/null | tail -n 5 | tr '\n' ' ' | cut -c 1-300)"
	done
	in_root nspawn "$1"
}

@test "under systemd: apt-get install the package" {
	in_nspawn "apt-get install the package under systemd"
}

@test "under systemd: the pool's socket and the cleanup timer are enabled and active" {
	in_nspawn "the pool's socket and the cleanup timer are enabled and active"
}

@test "under systemd: the first request on the socket starts the pool" {
	in_nspawn "the first request on the socket starts the pool"
}

@test "under systemd: the pool runs its processes as www-data in its sandbox" {
	in_nspawn "the pool runs its processes as www-data in its sandbox"
}

@test "under systemd: the gate's socket, once enabled, starts its pool on the first check" {
	in_nspawn "the gate's socket, once enabled, starts its pool on the first check"
}

@test "under systemd: the cleanup service fails on the missing database, not on its sandbox" {
	in_nspawn "the cleanup service fails on the missing database, not on its sandbox"
}

@test "under systemd: no sandbox error in the journal" {
	in_nspawn "no sandbox error in the journal"
}

@test "under systemd: systemd-analyze security rates the three services 2.0 or better" {
	in_nspawn "systemd-analyze security rates the three services 2.0 or better"
}

@test "under systemd: apt-get purge" {
	in_nspawn "apt-get purge under systemd"
}

@test "under systemd: after the purge no unit, failed unit, file or process is left" {
	in_nspawn "after the purge no unit, failed unit, file or process is left"
}
