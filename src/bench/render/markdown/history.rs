//! The history table: opening the books against the length of history.

use std::fmt::Write;

use super::{super::svg::Plots, cells::or_missing};
use crate::bench::experiments::BenchResults;

/// The history experiment, if it ran, and its plot.
pub fn section(md: &mut String, r: &BenchResults, plots: &Plots) {
    if r.history.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## History\n\nStores of growing histories written through the SQLite store in \
         batches of 5,000 one-unit sales (16 buyers, 8 sellers), then opened as a new \
         trader opens them at a failover: fence the epoch, load the newest checkpoint, \
         replay the batches after it. \"connect\" is a peer's process starting (its \
         integrity check reads the whole file up to 64 MiB). \"live state\" is the book \
         the trader holds, encoded.\n\n| sales | batches | file | write | connect | \
         open the books | live state |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    for h in &r.history {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} s | {:.1} ms | {:.2} ms | {} |",
            h.sales,
            h.batches,
            or_missing(h.file_bytes, |b| format!("{:.1} MB", b as f64 / 1e6)),
            h.build_s,
            h.connect_ms,
            h.open_ms,
            or_missing(h.book_bytes, |b| format!("{b} bytes")),
        );
    }
    if let Some(svg) = &plots.history {
        let _ = writeln!(md, "\n![open time and live state against history]({svg})");
    }
    md.push('\n');
}
