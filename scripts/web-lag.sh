#!/usr/bin/env bash
# The live page, measured (the figures of docs/WEB.md): a 6-peer release
# `bazaar demo --web` for SECONDS with no page open, then with three
# headless Chromium pages open the whole time. Prints each run's summary
# line (buys answered, response mean, p50, p99) and each page's lag behind
# the market as the page measured it: for every update, its receive time
# minus the time the oldest event in it was seen.
# Usage: scripts/web-lag.sh [SECONDS=30] [THINK=50ms]   (needs chromium;
# THINK=0ms makes a market as busy as the machine allows)
set -euo pipefail
secs=${1:-30}
think=${2:-50ms}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin bazaar
target=${CARGO_TARGET_DIR:-target}
BAZAAR_BIN="$target/release/bazaar" WEB_MEASURE_SECS="$secs" WEB_MEASURE_THINK="$think" \
    cargo test --quiet -p bazaar --test web -- --ignored --nocapture \
    measure_the_page_lag_and_the_market_with_three_pages 2>&1 \
    | grep -E '^(no page|three pages|page [0-9])'
