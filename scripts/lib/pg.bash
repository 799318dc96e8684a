# pg.bash: PostgreSQL for the tests, scripts/demo and bench/: initdb, a
# start on a free loopback port, the chatkit role, database and sql/,
# users, and a stop. Plain bash (no Bats); loads proc.bash and
# pgbouncer.bash. Paths: TOP_SRCDIR (default: this checkout).
#
# A cluster is a directory DIR holding data/ (initdb's), server.log and
# the server's Unix socket. initdb refuses root: as root, the owner of
# DIR (pg_owner: postgres, else nobody) runs everything in it.
#
#   pg_cluster_init DIR [--no-sync] [SETTING...]
#   pg_cluster_start DIR          sets PG_PORT
#   pg_cluster_restart DIR PORT
#   pg_cluster_stop DIR
#   pg_psql PORT DB USER PSQL-ARGS...
#   pg_chatkit_db PORT SQLDIR     role and database chatkit, SQLDIR/*.sql
#   pg_chatkit_user PORT ID [ROLE] [ACTIVE]
#
# A throwaway cluster (the tests, bench/):
#
#   pg_start [--ssl]   exports CHATKIT_DATABASE_URL (role chatkit, the
#                      owner of the migrated schema, not a superuser),
#                      PG_TEST_PORT and PG_TEST_DIR
#   pg_stop            stops it (and pgb_start's pgbouncer), removes it
#   pg_sql, pg_add_user, pg_dead_url, pg_restart: see below
#
# pg_start --ssl: the server has ssl=on with a certificate for 127.0.0.1
# and localhost from a throwaway CA (PG_TEST_CA, its PEM file) and
# refuses TCP connections without TLS (hostnossl ... reject), so a
# client that gets through spoke TLS. With PG_VIA_PGBOUNCER=N, pg_start
# puts pgbouncer (transaction pooling, a pool of N server connections)
# in front: CHATKIT_DATABASE_URL goes through it, PG_DIRECT_URL does not.

_pg_lib=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=proc.bash
source "$_pg_lib/proc.bash"
# shellcheck source=pgbouncer.bash
source "$_pg_lib/pgbouncer.bash"
: "${TOP_SRCDIR:=$(cd "$_pg_lib/../.." && pwd)}"
unset _pg_lib

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

# pg_owner: the user that runs a new cluster: as root postgres (nobody
# when there is no postgres user), else ourselves.
pg_owner() {
	if ((EUID != 0)); then
		id -un
	elif id postgres >/dev/null 2>&1; then
		echo postgres
	else
		echo nobody
	fi
}

# pg_as_owner DIR CMD...: run CMD (from /) as the owner of cluster DIR.
pg_as_owner() {
	local owner
	owner=$(stat -c %U "$1") || return
	shift
	run_as "$owner" "$@"
}

# pg_cluster_init DIR [--no-sync] [SETTING...]: initdb in DIR/data (DIR
# is made and, as root, given to pg_owner), trust authentication, the
# superuser postgres; the server listens on 127.0.0.1 only, its socket in
# DIR. Each SETTING ("name = value") is added to postgresql.conf.
# --no-sync: initdb does not wait for the disk (throwaway clusters).
pg_cluster_init() {
	local dir=$1 bindir setting
	local -a opts=()
	shift
	if [[ ${1:-} == --no-sync ]]; then
		opts+=(--no-sync)
		shift
	fi
	bindir=$(pg_bindir) || return
	mkdir -p "$dir" || return
	if ((EUID == 0)); then
		chown "$(pg_owner):" "$dir" || die "chown $(pg_owner) $dir" || return
	fi
	if ! pg_as_owner "$dir" "$bindir/initdb" -D "$dir/data" -U postgres \
		--auth=trust --encoding=UTF8 --no-locale "${opts[@]}" \
		>"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		die "initdb failed in $dir"
		return
	fi
	{
		printf "listen_addresses = '127.0.0.1'\n"
		printf "unix_socket_directories = '%s'\n" "$dir"
		for setting in "$@"; do
			printf '%s\n' "$setting"
		done
	} >>"$dir/data/postgresql.conf"
}

# pg_cluster_start DIR: start the cluster on a free loopback port and set
# PG_PORT. pg_ctl waits at most 60 s per attempt, 5 attempts (another
# process may take the port first); on failure the logs go to stderr.
pg_cluster_start() {
	local dir=$1 bindir attempt port
	bindir=$(pg_bindir) || return
	for ((attempt = 1; attempt <= 5; attempt++)); do
		port=$(random_free_port) || return
		# fd 3 closed: a Bats caller would wait for the server holding it.
		if pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
			-w -t 60 -o "-p $port" start >"$dir/pg_ctl.log" 2>&1 3>&-; then
			PG_PORT=$port
			return 0
		fi
		# A failed start leaves nothing running, but make sure.
		pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop \
			>/dev/null 2>&1 || true
	done
	cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null
	die "PostgreSQL did not start (5 attempts), see above"
}

# pg_cluster_restart DIR PORT: stop the running cluster (fast: open
# connections are cut) and start it again on PORT.
pg_cluster_restart() {
	local dir=$1 port=$2 bindir
	bindir=$(pg_bindir) || return
	pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
		-m fast -w -t 60 -o "-p $port" restart >"$dir/pg_ctl.log" 2>&1 3>&- ||
		die "PostgreSQL did not restart: $(cat "$dir/pg_ctl.log")"
}

# pg_cluster_stop DIR: stop the cluster if it runs (fast, else
# immediate) and wait until its postmaster is gone (30 s at most): a
# Ctrl-C reaches the postmaster too, and pg_ctl may then find the pid
# file gone while the postmaster still exits.
pg_cluster_stop() {
	local dir=$1 bindir pid=
	[[ -f $dir/data/postmaster.pid ]] || return 0
	bindir=$(pg_bindir) || return
	read -r pid <"$dir/data/postmaster.pid" || true
	pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop \
		>/dev/null 2>&1 ||
		pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop \
			>/dev/null 2>&1 || true
	[[ ! $pid =~ ^[0-9]+$ ]] || wait_gone "$pid" 300 || true
}

# pg_psql PORT DB USER PSQL-ARGS...: psql over TCP to 127.0.0.1:PORT,
# quiet, tuples only, unaligned, no psqlrc, stopping at the first error.
pg_psql() {
	local port=$1 db=$2 user=$3
	shift 3
	PGOPTIONS='-c client_min_messages=warning' PGCONNECT_TIMEOUT=10 \
		"$(pg_bindir)/psql" -h 127.0.0.1 -p "$port" -U "$user" \
		-d "$db" -qtAX -v ON_ERROR_STOP=1 "$@"
}

# pg_url PORT: the libpq connection string of database chatkit, role
# chatkit, on 127.0.0.1:PORT.
pg_url() {
	printf 'host=127.0.0.1 port=%s dbname=chatkit user=chatkit\n' "$1"
}

# pg_chatkit_db PORT SQLDIR: the role chatkit (login, no superuser) and
# its database chatkit unless they exist, then SQLDIR/*.sql in order,
# as chatkit.
pg_chatkit_db() {
	local port=$1 sqldir=$2 f
	if [[ -z $(pg_psql "$port" postgres postgres \
		-c "select 1 from pg_roles where rolname = 'chatkit'") ]]; then
		pg_psql "$port" postgres postgres -c "create role chatkit login nosuperuser" ||
			die "could not create the role chatkit" || return
	fi
	if [[ -z $(pg_psql "$port" postgres postgres \
		-c "select 1 from pg_database where datname = 'chatkit'") ]]; then
		pg_psql "$port" postgres postgres -c "create database chatkit owner chatkit" ||
			die "could not create the database chatkit" || return
	fi
	for f in "$sqldir"/*.sql; do
		[[ -e $f ]] || continue
		pg_psql "$port" chatkit chatkit -f "$f" >/dev/null ||
			die "migration $f failed" || return
	done
}

# pg_chatkit_user PORT ID [ROLE] [ACTIVE]: a row in users for ID (role
# member, active) unless one is there.
pg_chatkit_user() {
	pg_psql "$1" chatkit postgres -v id="$2" -v role="${3:-member}" \
		-v active="${4:-true}" <<-'SQL'
		insert into users (clerk_user_id, role, is_active)
		select :'id', :'role', :'active'::boolean
		where not exists (select 1 from users where clerk_user_id = :'id');
	SQL
}

# --- a throwaway cluster ------------------------------------------------

# pg_start [--ssl]: a cluster in a new /tmp/chatkit-pg.* directory (open
# to its owner, which a caller's temp directory may not be), tuned for
# speed over safety, with database chatkit and $TOP_SRCDIR/sql applied.
# PG_MAX_CONNECTIONS: the server's max_connections (default 100).
pg_start() {
	local dir ssl=no
	[[ ${1:-} == --ssl ]] && ssl=yes
	dir=$(mktemp -d /tmp/chatkit-pg.XXXXXX) || die "mktemp failed" || return
	export PG_TEST_DIR=$dir
	pg_cluster_init "$dir" --no-sync \
		'fsync = off' \
		'synchronous_commit = off' \
		'full_page_writes = off' \
		"max_connections = ${PG_MAX_CONNECTIONS:-100}" \
		'shared_buffers = 16MB' \
		'log_min_messages = warning' \
		'log_min_error_statement = error' || return
	if [[ $ssl == yes ]]; then
		_pg_ssl_setup "$dir" || return
	fi
	pg_cluster_start "$dir" || return
	export PG_TEST_PORT=$PG_PORT
	CHATKIT_DATABASE_URL=$(pg_url "$PG_PORT")
	export CHATKIT_DATABASE_URL
	pg_chatkit_db "$PG_PORT" "$TOP_SRCDIR/sql" || return
	if [[ -n ${PG_VIA_PGBOUNCER:-} ]]; then
		pgb_start "$PG_VIA_PGBOUNCER" || return
		export PG_DIRECT_URL=$CHATKIT_DATABASE_URL
		export CHATKIT_DATABASE_URL=$PGB_URL
	fi
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
		chown -R "$(stat -c %U "$dir"):" "$ssl" || return
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

# pg_restart: stop the throwaway cluster (fast: open connections are
# cut) and start it again on the same port.
pg_restart() {
	pg_cluster_restart "$PG_TEST_DIR" "$PG_TEST_PORT"
}

# pg_stop: stop pgb_start's pgbouncer and the cluster, and remove its
# directory.
pg_stop() {
	pgb_stop
	[[ -n ${PG_TEST_DIR:-} && -d $PG_TEST_DIR ]] || return 0
	pg_cluster_stop "$PG_TEST_DIR"
	case $PG_TEST_DIR in
	/tmp/chatkit-pg.*) rm -rf -- "$PG_TEST_DIR" ;;
	esac
}

# _pg_psql DB USER PSQL-ARGS...: pg_psql to the throwaway cluster.
_pg_psql() {
	pg_psql "$PG_TEST_PORT" "$@"
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
	pg_chatkit_user "$PG_TEST_PORT" "$@"
}

# pg_dead_url: a CHATKIT_DATABASE_URL whose port nothing listens on.
pg_dead_url() {
	local port
	port=$(random_free_port) || return
	printf 'host=127.0.0.1 port=%s dbname=chatkit user=chatkit connect_timeout=2\n' "$port"
}
