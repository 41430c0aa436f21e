//! The instruction count's figures.

use serde_json::{Value, json};

use crate::bench::experiments::BenchResults;

/// The instruction counts behind `instructions_per_buy`: N, the counts
/// at N and 2N, every repeat, and why they were not taken if they were not.
pub fn instructions(results: &BenchResults) -> Value {
    let i = results.instructions.as_ref();
    json!({
        "skipped": results.instructions_skipped,
        "buys": i.map(|i| i.plan.buys),
        "instructions_n": i.map(|i| i.instructions_n),
        "instructions_2n": i.map(|i| i.instructions_2n),
        "spread": i.and_then(|i| i.spread),
        "run": i,
    })
}
