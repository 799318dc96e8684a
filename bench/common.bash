# bench/common.bash: what the bench scripts share: paths, the server
# helpers (scripts/lib/: pg_start, pgb_start, httpd_start, gate_pool_start,
# ...) and tokens.bash, fail and median, missing packages, the
# out-of-tree build and the floors.
#
# After bench_build: BENCH_CGI (the program, built out of tree under
# bench/.build/obj-*), BENCH_OBJ (that build directory), BENCH_BIN
# (bench/.build/bin: the floors and copies of the program),
# BENCH_HAVE_FCGI (yes/no: the program links libfcgi), BENCH_SOURCE_DESC
# (what was built: a commit, or the work tree), BENCH_LIBS (the libraries
# the libs floor links, as the program does).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_SRCDIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_BUILD=$BENCH_DIR/.build
BENCH_BIN=$BENCH_BUILD/bin
export TOP_SRCDIR

# Same code generation and hardening as configure gives the program.
FLOOR_CFLAGS=${FLOOR_CFLAGS:--g -O2 -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Wall -Wextra}
FLOOR_LDFLAGS=${FLOOR_LDFLAGS:--pie -Wl,-z,relro -Wl,--as-needed}

# die MESSAGE...: how the helpers report a failure.
die() {
	printf 'bench: %s\n' "$*" >&2
	return 1
}

# fail MESSAGE...: die, and end the script.
fail() {
	die "$@"
	exit 1
}

# median: the median (lower middle) of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# now: the current Unix time in seconds (tokens.bash uses it).
now() {
	date +%s
}

# shellcheck source=../scripts/lib/pg.bash
source "$TOP_SRCDIR/scripts/lib/pg.bash"
# shellcheck source=../scripts/lib/httpd.bash
source "$TOP_SRCDIR/scripts/lib/httpd.bash"
# shellcheck source=../scripts/lib/gate.bash
source "$TOP_SRCDIR/scripts/lib/gate.bash"
# shellcheck source=../tests/helpers/tokens.bash
source "$TOP_SRCDIR/tests/helpers/tokens.bash"

# note TEXT...: progress on stderr.
note() {
	printf '== %s\n' "$*" >&2
}

# bench_install_deps: the project's packages (scripts/install-deps) and
# bench/deps-debian.txt's, each installed only when missing.
bench_install_deps() {
	local p missing= sudo=
	"$TOP_SRCDIR/scripts/install-deps" || return
	for p in $(sed -e 's/#.*//' "$BENCH_DIR/deps-debian.txt"); do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $p"
	done
	[[ -n $missing ]] || return 0
	note "installing:$missing"
	((EUID == 0)) || sudo=sudo
	$sudo apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
			--no-install-recommends $missing || return
	# Debian starts (or restarts) the packaged services; ours run on
	# their own ports.
	case " $missing " in *" pgbouncer "*)
		$sudo service pgbouncer stop >/dev/null 2>&1 || true ;;
	esac
	case " $missing " in *" libapache2-mod-fcgid "*)
		$sudo service apache2 stop >/dev/null 2>&1 || true ;;
	esac
}

# _bench_sync_sources: the sources to build, outside the tree (which may
# be configured in place, and that rules out a VPATH build from it). Sets
# BENCH_SRC, BENCH_OBJ and BENCH_SOURCE_DESC.
#   BENCH_SOURCE=head (default): the committed HEAD (git archive), so a
#     table names a commit that rebuilds it; src and obj start afresh
#     whenever HEAD moves.
#   BENCH_SOURCE=worktree: the files of the work tree git knows (tracked
#     and not ignored, edits included), copied with their times so make
#     rebuilds only what changed.
_bench_sync_sources() {
	local mode=${BENCH_SOURCE:-head} commit
	if ! git -C "$TOP_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
		mode=copy
	fi
	BENCH_SRC=$BENCH_BUILD/src-$mode
	BENCH_OBJ=$BENCH_BUILD/obj-$mode
	case $mode in
	head)
		commit=$(git -C "$TOP_SRCDIR" rev-parse HEAD) || return
		BENCH_SOURCE_DESC="commit $(git -C "$TOP_SRCDIR" rev-parse --short HEAD)"
		[[ $(cat "$BENCH_BUILD/head.stamp" 2>/dev/null) != "$commit" ]] ||
			return 0
		rm -rf "$BENCH_SRC" "$BENCH_OBJ" && mkdir -p "$BENCH_SRC" || return
		git -C "$TOP_SRCDIR" archive "$commit" | tar -x -C "$BENCH_SRC" ||
			return
		printf '%s\n' "$commit" >"$BENCH_BUILD/head.stamp"
		;;
	worktree)
		BENCH_SOURCE_DESC="work tree at $(git -C "$TOP_SRCDIR" describe --always --dirty)"
		mkdir -p "$BENCH_SRC" || return
		(cd "$TOP_SRCDIR" &&
			git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[[ -f $f ]] && printf '%s\0' "$f"
			done | xargs -0 cp -p --parents -t "$BENCH_SRC") || return
		;;
	copy)
		BENCH_SOURCE_DESC="copy of $TOP_SRCDIR (not a git checkout)"
		mkdir -p "$BENCH_SRC" || return
		(cd "$TOP_SRCDIR" && tar --exclude=./bench/.build --exclude=./node_modules \
			-cf - .) | (cd "$BENCH_SRC" && tar -xpf -) || return
		;;
	*)
		die "BENCH_SOURCE must be head or worktree, not '$mode'"
		;;
	esac
}

bench_build() {
	local src obj log=$BENCH_BUILD/build.log
	local -a confargs=()
	mkdir -p "$BENCH_BIN" || return
	: >"$log"
	_bench_sync_sources || die "cannot copy the sources to build" || return
	src=$BENCH_SRC obj=$BENCH_OBJ
	note "building $BENCH_SOURCE_DESC in ${obj#"$TOP_SRCDIR"/} (log: $log)"
	mkdir -p "$obj" || return
	if [[ ! -x $src/configure || $src/configure.ac -nt $src/configure ]]; then
		(cd "$src" && autoreconf -fi) >>"$log" 2>&1 ||
			die "autoreconf failed, see $log" || return
	fi
	if [[ ! -f $obj/config.status || $src/configure -nt $obj/config.status ]]; then
		if "$src/configure" --help | grep -q -- '--with-fastcgi'; then
			confargs+=(--with-fastcgi)
		fi
		(cd "$obj" && "$src/configure" "${confargs[@]}") >>"$log" 2>&1 ||
			die "configure failed, see $log" || return
	fi
	make -C "$obj" -j"$(nproc)" cgi-bin/chatkit-session.cgi >>"$log" 2>&1 ||
		die "make failed, see $log" || return
	BENCH_CGI=$obj/cgi-bin/chatkit-session.cgi
	BENCH_HAVE_FCGI=no
	if readelf -d "$BENCH_CGI" | grep -q 'NEEDED.*libfcgi'; then
		BENCH_HAVE_FCGI=yes
	fi
	# Separate copies, so CGI and FastCGI processes of the program can be
	# told apart by their executable (peak RSS) and mod_fcgid gets its own.
	install -m 0755 "$BENCH_CGI" "$BENCH_BIN/chatkit-session.cgi" || return
	install -m 0755 "$BENCH_CGI" "$BENCH_BIN/chatkit-session.fcgi" || return
	# The libs floor links what the program links: libuuid, libjwt and
	# libfcgi only when the program does. Rebuilt every time, since that may change.
	local needed libs_pkgs="libpq json-c libcrypto"
	local -a libs_extra=()
	BENCH_LIBS="libpq, json-c, libcrypto"
	needed=$(readelf -d "$BENCH_CGI" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p')
	if grep -q '^libuuid' <<<"$needed"; then
		libs_pkgs+=" uuid" libs_extra+=(-DFLOOR_LIBUUID) BENCH_LIBS+=", libuuid"
	fi
	if grep -q '^libjwt' <<<"$needed"; then
		libs_pkgs+=" libjwt" libs_extra+=(-DFLOOR_LIBJWT) BENCH_LIBS+=", libjwt"
	fi
	if grep -q '^libfcgi' <<<"$needed"; then
		libs_extra+=(-DFLOOR_LIBFCGI -lfcgi) BENCH_LIBS+=", libfcgi"
	fi
	rm -f "$BENCH_BIN/floor-libs"
	_bench_floor floor-exec "" &&
		_bench_floor floor-connect libpq &&
		_bench_floor floor-libs "$libs_pkgs" "${libs_extra[@]}" &&
		_bench_floor floor-fcgi "" -lfcgi &&
		_bench_floor floor-gate "" -lfcgi
}

# _bench_floor NAME PKGS [LIBS...]: cc bench/NAME.c with pkg-config PKGS.
_bench_floor() {
	local name=$1 pkgs=$2 out=$BENCH_BIN/$1 cflags= libs=
	shift 2
	if [[ -n $pkgs ]]; then
		cflags=$(pkg-config --cflags $pkgs) && libs=$(pkg-config --libs $pkgs) ||
			die "pkg-config $pkgs failed" || return
	fi
	[[ $out -nt $BENCH_DIR/$name.c ]] && return 0
	# shellcheck disable=SC2086 # word lists
	cc $FLOOR_CFLAGS $cflags -o "$out" "$BENCH_DIR/$name.c" \
		$FLOOR_LDFLAGS $libs "$@" || die "cannot build $name" || return
}

# bench_pids EXE: the pids of the processes running EXE, one per line
# (mod_fcgid's processes of a program, told apart by their executable).
bench_pids() {
	local p
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/exe" 2>/dev/null) == "$1" ]] && printf '%s\n' "${p#/proc/}"
	done
	return 0
}

# bench_pg_stop: pg_stop, in a shell of its own. Called from an EXIT
# trap, a helper's bare `return` (pg_bindir's) gives the status of the
# signal that ended the script, and pg_stop would leave the cluster up.
bench_pg_stop() {
	[[ -n ${PG_TEST_DIR:-} ]] || return 0
	PG_TEST_DIR=$PG_TEST_DIR bash -c 'source "$1" && pg_stop' _ \
		"$BENCH_DIR/common.bash"
}

# cgi_env_words TOKEN BODY-FILE NAME=VALUE...: print, one per line, the
# environment of one CGI request (POST, JSON body, bearer token) plus
# the given settings, for env -i.
cgi_env_words() {
	local token=$1 body=$2
	shift 2
	printf '%s\n' GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
		SERVER_NAME=127.0.0.1 SERVER_PORT=80 REMOTE_ADDR=127.0.0.1 \
		SCRIPT_NAME=/api/chatkit/session REQUEST_URI=/api/chatkit/session \
		QUERY_STRING= REQUEST_METHOD=POST CONTENT_TYPE=application/json \
		"CONTENT_LENGTH=$(stat -c %s "$body")" \
		"HTTP_AUTHORIZATION=Bearer $token" "$@"
}
