# pg.bash: a throwaway PostgreSQL cluster per test file, and pgbouncer:
# scripts/lib/pg.bash (pg_start, pg_stop, pg_sql, pg_add_user,
# pg_dead_url, pg_restart, pgb_start, pgb_stop; read it).
#
#   setup_file()    { pg_start; }
#   teardown_file() { pg_stop; }

# shellcheck source=../../scripts/lib/pg.bash
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/pg.bash"

# A test file named pgbouncer-*.bats (a link to a cgi-*.bats file) runs
# its program against pgbouncer in transaction pooling mode, with a pool
# of 2 server connections for all its clients.
case ${BATS_TEST_FILENAME##*/} in
pgbouncer-*) PG_VIA_PGBOUNCER=2 ;;
esac
