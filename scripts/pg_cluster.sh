#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for tests.
#
#   scripts/pg_cluster.sh start DIR PORT   -> prints the SQLAlchemy URL on stdout
#   scripts/pg_cluster.sh stop  DIR [PORT]
#   PG_EXTRA_OPTS="-c shared_buffers=4GB …" scripts/pg_cluster.sh start DIR PORT
#
# The cluster lives in DIR/data, its unix socket in DIR/sock and its log in
# DIR/postgres.log; everything is owned by the `postgres` user. It listens on
# 127.0.0.1:PORT only, uses trust auth (local tests only!) and runs with
# fsync off. It never touches the machine's shared cluster.
# Progress goes to stderr, so `url=$(scripts/pg_cluster.sh start "$d" "$p")` works.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGUSER_OS=postgres

usage() {
    echo "usage: $0 start|stop DIR PORT" >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
port=${3:-}

# Run a command as the postgres OS user (we are normally root).
as_pg() {
    if [ "$(id -un)" = "$PGUSER_OS" ]; then
        "$@"
    elif [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PGUSER_OS" -- "$@"
    else
        echo "pg_cluster: must run as root or as $PGUSER_OS" >&2
        exit 1
    fi
}

case "$cmd" in
start)
    [ -n "$port" ] || usage
    [ -x "$PGBIN/initdb" ] || { echo "pg_cluster: $PGBIN/initdb not found" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    data=$dir/data
    sock=$dir/sock
    log=$dir/postgres.log
    if [ -e "$data/PG_VERSION" ]; then
        echo "pg_cluster: $data already holds a cluster" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown "$PGUSER_OS": "$dir"
    fi
    chmod 700 "$dir"
    as_pg mkdir -p "$sock"
    as_pg touch "$log"

    echo "pg_cluster: initdb in $data" >&2
    as_pg "$PGBIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
        --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }

    opts="-c listen_addresses=127.0.0.1 -p $port -k $sock"
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # benchmarks size the server for the machine, e.g.
    # PG_EXTRA_OPTS="-c shared_buffers=4GB -c effective_cache_size=12GB -c random_page_cost=1.1"
    opts="$opts ${PG_EXTRA_OPTS:-}"
    echo "pg_cluster: starting on 127.0.0.1:$port" >&2
    if ! as_pg "$PGBIN/pg_ctl" -D "$data" -l "$log" -o "$opts" -w -t 60 start >/dev/null; then
        echo "pg_cluster: server failed to start; log follows" >&2
        tail -n 30 "$log" >&2 || true
        exit 1
    fi

    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres regtest
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/regtest"
    ;;
stop)
    data=$dir/data
    if [ -e "$data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
        echo "pg_cluster: stopped $data" >&2
    else
        echo "pg_cluster: no running cluster in $data" >&2
    fi
    ;;
*)
    usage
    ;;
esac
