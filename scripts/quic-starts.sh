#!/usr/bin/env bash
# Start-up elections, counted: RUNS starts of a 6-peer `bazaar up` cluster
# over TRANSPORT for 3 s each; one line a start with its "new coordinator"
# announcements and the elections the run reports, then the worst.
# Usage: scripts/quic-starts.sh [RUNS=20] [TRANSPORT=quic] [DIR=/tmp/bazaar-starts] [PORT=7500]
# (BAZAAR=path runs another build of the binary.)
set -euo pipefail
runs=${1:-20}
transport=${2:-quic}
dir=${3:-/tmp/bazaar-starts}
port=${4:-7500}
cd "$(dirname "$0")/.."
bazaar=${BAZAAR:-./target/release/bazaar}
[ -x "$bazaar" ] || cargo build --release --quiet --bin bazaar
worst=0
for run in $(seq 1 "$runs"); do
    rm -rf "$dir"
    out=$("$bazaar" up --peers 6 --transport "$transport" --duration 3s -q \
        --out "$dir" --base-port "$port" 2>&1)
    announced=$(grep -c "new coordinator" <<<"$out" || true)
    elections=$(sed -n 's/^elections: \([0-9]*\).*/\1/p' <<<"$out")
    echo "start $run: $announced announcements, $elections elections"
    (( announced > worst )) && worst=$announced
done
echo "$transport: worst $worst announcements in $runs starts"
