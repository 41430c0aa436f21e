//! The remote experiment's figures, keyed by the delay between hosts.

use serde_json::{Value, json};

use super::keyed;
use crate::bench::experiments::{BenchResults, remote::RemoteResult};

/// `remote.buy_p50_us.<delay>`, `remote.failover_ms.<delay>`, why it was
/// skipped, and every run.
pub fn remote(results: &BenchResults) -> Value {
    let runs = &results.remote;
    let delay = |r: &RemoteResult| r.delay_us.to_string();
    json!({
        "skipped": results.remote_skipped,
        "buy_p50_us": keyed(runs, delay, |r| json!(r.buy.measured().map(|s| s.p50_us))),
        "failover_ms": keyed(runs, delay, |r| json!(r.failover_ms)),
        "runs": runs,
    })
}
