#!/usr/bin/env bash
# A PostgreSQL primary and its synchronous standby on this machine, for
# trying the market's failover by hand or measuring what the standby
# costs: throwaway clusters under DIR, trusting loopback, user `bazaar`.
#
#   scripts/pg-pair.sh start DIR [PORT]   # primary on PORT (default 55432), standby on PORT+1
#   scripts/pg-pair.sh single DIR [PORT]  # one server alone, for a comparison
#   scripts/pg-pair.sh promote DIR        # the standby becomes the primary
#   scripts/pg-pair.sh kill DIR           # SIGKILL the primary (its host dies)
#   scripts/pg-pair.sh stop DIR           # stop whatever runs there, by PID
#
# Prints the market's URL. Needs PostgreSQL's server binaries
# (/usr/lib/postgresql/*/bin); as root, the servers run as `postgres`.
set -euo pipefail
cmd=${1:?usage: pg-pair.sh start|single|promote|kill|stop DIR [PORT]}
dir=${2:?a folder for the clusters}
port=${3:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi

pgctl() { "${as[@]}" "$bin/pg_ctl" "$@"; }

launch() { # data port
    pgctl -D "$1" -l "$1/../$(basename "$1").log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $2 -k $dir -c fsync=on" start >/dev/null
}

case $cmd in
start | single)
    mkdir -p "$dir"
    if [ ${#as[@]} -gt 0 ]; then chown postgres:postgres "$dir"; fi
    "${as[@]}" "$bin/initdb" -D "$dir/primary" -U bazaar --auth=trust >/dev/null
    launch "$dir/primary" "$port"
    "${as[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U bazaar -d postgres -qc 'CREATE DATABASE bazaar'
    if [ "$cmd" = single ]; then
        echo "postgres://bazaar@127.0.0.1:$port/bazaar"
        exit 0
    fi
    "${as[@]}" "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U bazaar -D "$dir/standby" -R -X stream -c fast
    launch "$dir/standby" $((port + 1))
    # Asked for after the copy, so that the standby, once promoted, runs alone.
    for sql in "ALTER SYSTEM SET synchronous_standby_names = '*'" \
        "ALTER SYSTEM SET synchronous_commit = on" "SELECT pg_reload_conf()"; do
        "${as[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U bazaar -d postgres -qAtc "$sql" >/dev/null
    done
    until [ "$("${as[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U bazaar -d postgres -qAtc \
        "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" = 1 ]; do
        sleep 0.1
    done
    echo "postgres://bazaar@127.0.0.1:$port,127.0.0.1:$((port + 1))/bazaar?target_session_attrs=read-write"
    ;;
promote) pgctl -D "$dir/standby" -w promote >/dev/null ;;
kill) kill -KILL "$(head -1 "$dir/primary/postmaster.pid")" ;;
stop)
    for data in "$dir/primary" "$dir/standby"; do
        if [ -f "$data/postmaster.pid" ]; then
            pid=$(head -1 "$data/postmaster.pid")
            kill -QUIT "$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    ;;
*)
    echo "usage: pg-pair.sh start|single|promote|kill|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
