//! The history experiment's figures, keyed by the length of history.

use serde_json::{Map, Value, json};

use crate::bench::experiments::{BenchResults, history::HistoryResult};

/// `history.open_ms.<sales>`, `history.book_bytes.<sales>`,
/// `history.connect_ms.<sales>`, and every run.
pub fn history(results: &BenchResults) -> Value {
    let by_sales = |figure: fn(&HistoryResult) -> Value| {
        results
            .history
            .iter()
            .map(|h| (h.sales.to_string(), figure(h)))
            .collect::<Map<String, Value>>()
    };
    json!({
        "open_ms": by_sales(|h| json!(h.open_ms)),
        "book_bytes": by_sales(|h| json!(h.book_bytes)),
        "connect_ms": by_sales(|h| json!(h.connect_ms)),
        "runs": results.history,
    })
}
