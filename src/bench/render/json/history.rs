//! The history experiment's figures, keyed by the length of history.

use serde_json::{Value, json};

use super::keyed;
use crate::bench::experiments::{BenchResults, history::HistoryResult};

/// `history.open_ms.<sales>`, `history.book_bytes.<sales>`,
/// `history.connect_ms.<sales>`, and every run.
pub fn history(results: &BenchResults) -> Value {
    let runs = &results.history;
    let sales = |h: &HistoryResult| h.sales.to_string();
    json!({
        "open_ms": keyed(runs, sales, |h| json!(h.open_ms)),
        "book_bytes": keyed(runs, sales, |h| json!(h.book_bytes)),
        "connect_ms": keyed(runs, sales, |h| json!(h.connect_ms)),
        "runs": runs,
    })
}
