#!/usr/bin/env bash
# Failovers, counted: a 6-peer `bazaar up` cluster over TRANSPORT for 16 s
# whose trader is SIGKILLed every 5 s (back 1 s later). Prints the kills,
# the "new coordinator" announcements, the elections the run reports, the
# sales per second (trader's log lines) and the three longest pauses
# between two sales.
# Usage: scripts/kill-trader.sh [TRANSPORT=quic] [DIR=/tmp/bazaar-kills] [PORT=7500]
# (BAZAAR=path runs another build of the binary.)
set -euo pipefail
transport=${1:-quic}
dir=${2:-/tmp/bazaar-kills}
port=${3:-7500}
cd "$(dirname "$0")/.."
bazaar=${BAZAAR:-./target/release/bazaar}
[ -x "$bazaar" ] || cargo build --release --quiet --bin bazaar
rm -rf "$dir"
out=$("$bazaar" up --peers 6 --transport "$transport" --duration 16s \
    --kill-trader-every 5s --out "$dir" --base-port "$port" 2>&1)
grep -E '^\[up\] (killed|restarted)' <<<"$out" || true
echo "announcements: $(grep -c 'new coordinator' <<<"$out" || true)"
grep -o '^elections: [0-9]*' <<<"$out"
# Seconds since midnight of each sale the trader logged, in order.
sales=$(grep -E '^\[peer [0-9]+\] [0-9-]+ [0-9:.]+ peer [0-9]+ bought ' <<<"$out" |
    awk '{ split($4, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }' | sort -n)
[ -n "$sales" ] || { echo "no sales"; exit 0; }
first=$(head -1 <<<"$sales")
echo "sales per second from the first sale:"
awk -v f="$first" '{ n[int($1 - f)]++; if (int($1 - f) > m) m = int($1 - f) }
    END { for (s = 0; s <= m; s++) printf "%d%s", n[s] + 0, (s < m ? " " : "\n") }' <<<"$sales"
echo "longest pauses between sales (s, at s from the first sale):"
awk -v f="$first" 'NR > 1 { printf "%.3f %.1f\n", $1 - p, p - f } { p = $1 }' <<<"$sales" |
    sort -rn | head -3
