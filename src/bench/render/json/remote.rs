//! The remote experiment's figures, keyed by the delay between hosts.

use serde_json::{Map, Value, json};

use crate::bench::experiments::{BenchResults, remote::RemoteResult};

/// `remote.buy_p50_us.<delay>`, `remote.failover_ms.<delay>`, why it was
/// skipped, and every run.
pub fn remote(results: &BenchResults) -> Value {
    let by_delay = |figure: fn(&RemoteResult) -> Value| {
        results
            .remote
            .iter()
            .map(|r| (r.delay_us.to_string(), figure(r)))
            .collect::<Map<String, Value>>()
    };
    json!({
        "skipped": results.remote_skipped,
        "buy_p50_us": by_delay(|r| json!(r.buy.measured().map(|s| s.p50_us))),
        "failover_ms": by_delay(|r| json!(r.failover_ms)),
        "runs": results.remote,
    })
}
