#!/usr/bin/env bash
# What a synchronous standby costs the market, in one run: the books on
# one PostgreSQL server and on a primary with a synchronous standby, side
# by side on this machine, measured by `bazaar bench` (the durable store
# and the durable load), the runs alternating so that both sides share the
# machine's load. Prints one table row per run.
#
#   scripts/standby-bench.sh [ROUNDS] [DIR]   # default 2 rounds, DIR a temporary folder
#
# Needs a release build (`cargo build --release`), PostgreSQL's server
# binaries and python3. The servers (scripts/pg-pair.sh) are stopped by
# their PIDs at the end, and DIR removed.
set -euo pipefail
rounds=${1:-2}
dir=${2:-$(mktemp -d /tmp/bazaar-standby-bench.XXXXXX)}
here=$(cd "$(dirname "$0")" && pwd)
bazaar=$here/../target/release/bazaar
[ -x "$bazaar" ] || { echo "no $bazaar: run cargo build --release first" >&2; exit 2; }
mkdir -p "$dir"
# As root the servers run as `postgres`, who must reach the folders.
chmod 755 "$dir"

stop() {
    "$here/pg-pair.sh" stop "$dir/single" 2>/dev/null || true
    "$here/pg-pair.sh" stop "$dir/pair" 2>/dev/null || true
    rm -rf "$dir"
}
trap stop EXIT

single=$("$here/pg-pair.sh" single "$dir/single" 55510)
pair=$("$here/pg-pair.sh" start "$dir/pair" 55502)

echo "| books | commit p50 | commit p99 | floor commit p50 | durable buys/s | durable buy p50 |"
echo "|---|---:|---:|---:|---:|---:|"
for round in $(seq 1 "$rounds"); do
    for side in single pair; do
        url=${!side}
        json=$dir/$side-$round.json
        "$bazaar" bench --quick --only load --transports tcp --postgres "$url" \
            --out "$dir/$side-$round" --json "$json" >"$dir/$side-$round.log" 2>&1 || {
            echo "bench on $side failed; its output:" >&2
            cat "$dir/$side-$round.log" >&2
            exit 1
        }
        python3 - "$json" "$side" "$round" <<'EOF'
import json, sys
path, side, run = sys.argv[1:]
pg = json.load(open(path))["stores"]["postgres"]
name = {"single": "one server", "pair": "primary + sync standby"}[side]
def cell(key, unit):
    value = pg.get(key)
    return "–" if value is None else f"{round(value):,}{unit}"
print(f"| {name}, run {run} | {cell('commit_p50_us', ' µs')} | {cell('commit_p99_us', ' µs')} "
      f"| {cell('floor_commit_p50_us', ' µs')} | {cell('durable_buys_per_s', '')} "
      f"| {cell('durable_buy_p50_us', ' µs')} |")
EOF
    done
done
