//! The latency experiments' tables: six peers over each transport, more
//! peers, buyers against sellers; each response time also as a ratio to
//! its transport's floor.

use std::fmt::Write;

use bazaar_node::net::TransportKind;

use super::{
    super::svg::Plots,
    cells::{or_missing, store_label, summary, times},
};
use crate::{
    bench::{
        analysis::{
            floors::floor_us,
            latency::{filled_share, group, six_peers},
            ratio,
        },
        experiments::{BenchResults, latency::LatencyResult},
        plan::{Group, TRANSPORTS},
    },
    books::BooksKind,
};

/// The head of a latency table whose first column is `label`.
pub fn head(label: &str) -> String {
    format!(
        "| {label} | mean | p50 | p99 | max | p50 ÷ floor | p99 ÷ floor | filled | buys |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
}

/// One experiment's row, its ratios to `floor` (µs).
pub fn row(md: &mut String, label: &str, l: &LatencyResult, floor: Option<f64>) {
    let measured = l.latency.measured();
    let _ = writeln!(
        md,
        "| {label} | {} | {} | {} | {} | {}{} |",
        summary(&l.latency),
        times(ratio(measured.map(|s| s.p50_us), floor)),
        times(ratio(measured.map(|s| s.p99_us), floor)),
        or_missing(filled_share(l), |f| format!("{:.0}%", 100.0 * f)),
        l.latency.count,
        if l.complete { "" } else { " (cut short)" },
    );
}

/// Six peers over each transport, the store off, then on.
pub fn transports(md: &mut String, r: &BenchResults) {
    let _ = writeln!(
        md,
        "## Six peers over each transport\n\n3 buyers, 3 sellers. Store off: books in \
         memory; store on: SQLite, one transaction (WAL, synchronous=FULL) per batch \
         before its replies leave.\n\n{}",
        head("transport, store")
    );
    for store in [BooksKind::Mem, BooksKind::Sqlite] {
        for kind in TRANSPORTS {
            if let Some(l) = six_peers(r, kind, store) {
                let label = format!("{kind}, {}", store_label(store));
                row(md, &label, l, floor_us(r, kind));
            }
        }
    }
    md.push('\n');
}

/// More and more peers over tcp, and their plot.
pub fn peers(md: &mut String, r: &BenchResults, plots: &Plots) {
    let _ = writeln!(
        md,
        "## More peers (tcp, store off)\n\nHalf the peers buy, half sell.\n\n{}",
        head("peers")
    );
    let floor = floor_us(r, TransportKind::Tcp);
    for l in group(r, Group::Peers) {
        row(md, &l.scenario.peers.to_string(), l, floor);
    }
    if let Some(svg) = &plots.peers {
        let _ = writeln!(md, "\n![latency against peers]({svg})");
    }
    md.push('\n');
}

/// Buyers against sellers in an unstocked market, if it ran.
pub fn ratios(md: &mut String, r: &BenchResults) {
    let rows: Vec<&LatencyResult> = group(r, Group::Ratios).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Buyers against sellers (tcp, 8 peers, unstocked)\n\nThe trader (peer 8) \
         is a seller that pauses while it trades; the others split as shown. No \
         initial deposit: buyers get only what sellers have offered, one lot of 1–10 \
         units at a time each.\n\n{}",
        head("buyers:sellers")
    );
    let floor = floor_us(r, TransportKind::Tcp);
    for l in rows {
        let label = format!(
            "{}:{}",
            l.scenario.buyers,
            l.scenario.peers - l.scenario.buyers - 1
        );
        row(md, &label, l, floor);
    }
    md.push('\n');
}
