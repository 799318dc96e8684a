#!/usr/bin/env bats
# cgi-lookup-env.bats: a database host named by libpq's environment
# (PGHOST): a CGI's own environment, which a FastCGI process does not take
# from its requests. The rest of the lookup cases: cgi-lookup.bats.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/session
load helpers/timeout
load helpers/lookup

@test "a host name from PGHOST is bounded too" {
	unavailable_within 3500 CHATKIT_DB_TIMEOUT=2 -u CHATKIT_DATABASE_URL \
		PGHOST="$SILENT_HOST" PGPORT="$PG_TEST_PORT" PGDATABASE=chatkit PGUSER=chatkit
}

