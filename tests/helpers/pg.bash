# pg.bash: a throwaway PostgreSQL cluster per test file.
#
#   setup_file()    { pg_start; }
#   teardown_file() { pg_stop; }
#
# pg_start exports CHATKIT_DATABASE_URL (role chatkit, the owner of the
# migrated schema, not a superuser), PG_TEST_PORT and PG_TEST_DIR.
# pg_sql runs SQL as the superuser postgres, for seeding and inspection.
#
# pg_start --ssl: the server has ssl=on with a certificate for 127.0.0.1
# and localhost from a throwaway CA (PG_TEST_CA, its PEM file) and
# refuses TCP connections without TLS (hostnossl ... reject), so a
# client that gets through spoke TLS.

# pg_bindir: the directory holding initdb, pg_ctl and psql; PG_BINDIR wins,
# then the newest /usr/lib/postgresql/*/bin, then `pg_config --bindir`.
pg_bindir() {
	local d
	if [[ -n ${PG_BINDIR:-} ]]; then
		printf '%s\n' "$PG_BINDIR"
		return 0
	fi
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [[ -x $d/initdb ]]; then
		printf '%s\n' "$d"
		return 0
	fi
	d=$(pg_config --bindir 2>/dev/null) || true
	if [[ -n $d && -x $d/initdb ]]; then
		printf '%s\n' "$d"
		return 0
	fi
	die "no PostgreSQL server binaries (initdb) found; set PG_BINDIR"
}

# _pg_as_owner CMD...: run CMD as the unprivileged cluster owner. initdb
# refuses root, so as root the postgres user (or nobody) runs the server.
_pg_as_owner() {
	if ((EUID == 0)); then
		# From /: the test's working directory may be closed to the owner.
		(cd / && runuser -u "$_pg_owner" -- "$@")
	else
		"$@"
	fi
}

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# random_free_port: a port in 20000..59999 nothing listens on now. Another
# file may take it first (make check -j), so callers retry on failure.
random_free_port() {
	local i port
	for ((i = 0; i < 100; i++)); do
		# Below Linux's ephemeral range (32768-60999), where client sockets
		# would take the port between our check and the bind.
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		if ! port_in_use "$port"; then
			printf '%s\n' "$port"
			return 0
		fi
	done
	die "no free TCP port found on 127.0.0.1"
}

# pg_start: initdb, start on a free loopback port, create role and
# database chatkit, apply $TOP_SRCDIR/sql/*.sql in order as chatkit.
# PG_MAX_CONNECTIONS: the server's max_connections (default 100).
# Bounded: pg_ctl waits at most 60 s per attempt, 5 attempts.
pg_start() {
	local bindir dir attempt port f ssl=no
	[[ ${1:-} == --ssl ]] && ssl=yes
	bindir=$(pg_bindir) || return
	_pg_owner=postgres
	if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
		_pg_owner=nobody
	fi

	# Not $BATS_FILE_TMPDIR: that is root-only 0700 and the cluster
	# owner could not enter it.
	dir=$(mktemp -d /tmp/chatkit-pg.XXXXXX) || die "mktemp failed" || return
	export PG_TEST_DIR=$dir
	if ((EUID == 0)); then
		chown "$_pg_owner:" "$dir" || die "chown $_pg_owner $dir" || return
	fi

	if ! _pg_as_owner "$bindir/initdb" -D "$dir/data" -U postgres \
		--auth=trust --encoding=UTF8 --no-locale --no-sync \
		>"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		die "initdb failed in $dir"
		return
	fi
	cat >>"$dir/data/postgresql.conf" <<-CONF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_connections = ${PG_MAX_CONNECTIONS:-100}
		shared_buffers = 16MB
		log_min_messages = warning
		log_min_error_statement = error
	CONF
	if [[ $ssl == yes ]]; then
		_pg_ssl_setup "$dir" || return
	fi

	for ((attempt = 1; attempt <= 5; attempt++)); do
		port=$(random_free_port) || return
		if _pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
			-w -t 60 -o "-p $port" start >"$dir/pg_ctl.log" 2>&1 3>&-; then
			break
		fi
		port=
		# A failed start leaves nothing running, but make sure.
		_pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop \
			>/dev/null 2>&1 || true
	done
	if [[ -z $port ]]; then
		cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null
		die "PostgreSQL did not start (5 attempts), see above"
		return
	fi
	export PG_TEST_PORT=$port
	export CHATKIT_DATABASE_URL="host=127.0.0.1 port=$port dbname=chatkit user=chatkit"

	_pg_psql postgres postgres -c "create role chatkit login nosuperuser" &&
		_pg_psql postgres postgres -c "create database chatkit owner chatkit" ||
		die "could not create role and database chatkit" || return
	for f in "$TOP_SRCDIR"/sql/*.sql; do
		[[ -e $f ]] || continue
		_pg_psql chatkit chatkit -f "$f" >/dev/null ||
			die "migration $f failed" || return
	done

	# A test file named pgbouncer-*.bats (a link to a cgi-*.bats file)
	# runs its program against pgbouncer in transaction pooling mode,
	# with a pool of 2 server connections for all its clients.
	case ${BATS_TEST_FILENAME##*/} in
	pgbouncer-*)
		pgb_start 2 || return
		export PG_DIRECT_URL=$CHATKIT_DATABASE_URL
		export CHATKIT_DATABASE_URL=$PGB_URL
		;;
	esac
}

# _pg_ssl_setup DIR: a CA and a server certificate (127.0.0.1, localhost)
# made with the openssl command, ssl=on, and non-TLS TCP refused.
# Exports PG_TEST_CA.
_pg_ssl_setup() {
	local dir=$1 ssl=$1/ssl
	mkdir -p "$ssl" || return
	{
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj '/CN=chatkit-session test CA' \
			-keyout "$ssl/ca.key" -out "$ssl/ca.crt" &&
			openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' \
				-keyout "$ssl/server.key" -out "$ssl/server.csr" &&
			printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
				>"$ssl/ext.cnf" &&
			openssl x509 -req -in "$ssl/server.csr" -CA "$ssl/ca.crt" \
				-CAkey "$ssl/ca.key" -CAcreateserial -days 2 \
				-extfile "$ssl/ext.cnf" -out "$ssl/server.crt"
	} >"$dir/openssl.log" 2>&1 ||
		die "could not make the test CA: $(cat "$dir/openssl.log")" || return
	chmod 0600 "$ssl/server.key"
	chmod 0644 "$ssl/ca.crt"
	chmod 0755 "$ssl"
	if ((EUID == 0)); then
		chown -R "$_pg_owner:" "$ssl" || return
	fi
	cat >>"$dir/data/postgresql.conf" <<-CONF
		ssl = on
		ssl_cert_file = '$ssl/server.crt'
		ssl_key_file = '$ssl/server.key'
	CONF
	{
		printf 'hostnossl all all all reject\n'
		cat "$dir/data/pg_hba.conf"
	} >"$dir/pg_hba.new" && cat "$dir/pg_hba.new" >"$dir/data/pg_hba.conf" ||
		return
	export PG_TEST_CA=$ssl/ca.crt
}

# pg_restart: stop the running cluster (fast: open connections are cut)
# and start it again on the same port.
pg_restart() {
	local bindir
	bindir=$(pg_bindir) || return
	_pg_owner=$(stat -c %U "$PG_TEST_DIR")
	_pg_as_owner "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" \
		-m fast -w -t 60 -o "-p $PG_TEST_PORT" restart >"$PG_TEST_DIR/pg_ctl.log" 2>&1 3>&- ||
		die "PostgreSQL did not restart: $(cat "$PG_TEST_DIR/pg_ctl.log")"
}

# pg_stop: stop the cluster (fast) and remove its directory.
pg_stop() {
	local bindir
	pgb_stop
	[[ -n ${PG_TEST_DIR:-} && -d $PG_TEST_DIR ]] || return 0
	bindir=$(pg_bindir) || return
	_pg_owner=$(stat -c %U "$PG_TEST_DIR")
	if [[ -f $PG_TEST_DIR/data/postmaster.pid ]]; then
		_pg_as_owner "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -m fast \
			-w -t 30 stop >/dev/null 2>&1 ||
			_pg_as_owner "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" \
				-m immediate stop >/dev/null 2>&1 || true
	fi
	case $PG_TEST_DIR in
	/tmp/chatkit-pg.*) rm -rf -- "$PG_TEST_DIR" ;;
	esac
}

# _pg_psql DB USER PSQL-ARGS...: psql over TCP to the test cluster, quiet,
# tuples only, unaligned, no psqlrc, stopping at the first error.
_pg_psql() {
	local db=$1 user=$2
	shift 2
	PGOPTIONS='-c client_min_messages=warning' PGCONNECT_TIMEOUT=10 \
		"$(pg_bindir)/psql" -h 127.0.0.1 -p "$PG_TEST_PORT" -U "$user" \
		-d "$db" -qtAX -v ON_ERROR_STOP=1 "$@"
}

# pg_sql SQL [NAME=VALUE...]: run SQL as superuser postgres on database
# chatkit and print the result (psql -qtAX). Each NAME=VALUE becomes a psql
# variable, so values are quoted by psql: pg_sql "select :'id'" id="$u".
pg_sql() {
	local sql=$1 v
	local -a vars=()
	shift
	for v in "$@"; do
		vars+=(-v "$v")
	done
	_pg_psql chatkit postgres "${vars[@]}" <<<"$sql"
}

# pg_add_user ID [ROLE] [ACTIVE]: a row in users (role member, active).
pg_add_user() {
	pg_sql "insert into users (clerk_user_id, role, is_active)
		values (:'id', :'role', :'active'::boolean)" \
		id="$1" role="${2:-member}" active="${3:-true}"
}

# pg_dead_url: a CHATKIT_DATABASE_URL whose port nothing listens on.
pg_dead_url() {
	local port
	port=$(random_free_port) || return
	printf 'host=127.0.0.1 port=%s dbname=chatkit user=chatkit connect_timeout=2\n' "$port"
}
