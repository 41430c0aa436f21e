#!/usr/bin/env bash
# The trader's memory over a long full-speed run: six `bazaar node`
# processes over tcp on loopback, books in SQLite, buyers and sellers with
# no think time. Samples every peer's resident set size (VmRSS) every
# INTERVAL seconds for DURATION seconds and prints one CSV line a sample:
#   seconds,peer1_kb,...,peer6_kb,sales_in_store
# Usage: scripts/trader-rss.sh [DURATION=600] [INTERVAL=30] [DIR=/tmp/bazaar-rss]
set -euo pipefail
duration=${1:-600}
interval=${2:-30}
dir=${3:-/tmp/bazaar-rss}
cd "$(dirname "$0")/.."
bazaar=./target/release/bazaar
[ -x "$bazaar" ] || cargo build --release --quiet
rm -rf "$dir"
"$bazaar" init --peers 6 --out "$dir" --base-port 7400 >/dev/null
sed -i 's/^think_ms = .*/think_ms = 0/' "$dir/cluster.toml"
pids=()
for i in 1 2 3 4 5 6; do
    "$bazaar" node --cluster "$dir/cluster.toml" --id "$i" --duration "${duration}s" \
        >"$dir/peer$i.log" 2>&1 &
    pids+=("$!")
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
echo "seconds,peer1_kb,peer2_kb,peer3_kb,peer4_kb,peer5_kb,peer6_kb,sales_in_store"
start=$(date +%s)
while :; do
    sleep "$interval"
    now=$(( $(date +%s) - start ))
    line="$now"
    for pid in "${pids[@]}"; do
        kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        line="$line,${kb:-0}"
    done
    sales=$(sqlite3 -readonly "$dir/data/bazaar.db" "SELECT COUNT(*) FROM sales" 2>/dev/null || echo ?)
    echo "$line,$sales"
    [ "$now" -ge "$duration" ] && break
done
wait "${pids[@]}" 2>/dev/null || true
"$bazaar" audit --data-dir "$dir/data" | grep -E "^(audit|VIOLATION)"
