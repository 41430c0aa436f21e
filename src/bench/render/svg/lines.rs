//! The line charts of response times: against peers, against the delay
//! between hosts, and the load curves.

use std::path::Path;

use plotters::prelude::*;

use super::chart::{Drawn, LogMicros, Series, lines_over_log_micros};
use crate::{
    bench::{
        analysis::load::curve,
        experiments::{BenchResults, Summary, latency::LatencyResult, remote::RemoteResult},
        plan::TRANSPORTS,
    },
    books::BooksKind,
};

/// Buy response time (p50, mean, p99, max) against the number of peers.
pub fn latency_vs_peers(path: &Path, rows: &[&LatencyResult]) -> Drawn {
    let points: Vec<(f64, &Summary)> = rows
        .iter()
        .filter_map(|r| {
            r.latency
                .measured()
                .map(|s| (f64::from(r.scenario.peers), s))
        })
        .collect();
    let axes = LogMicros {
        caption: "Buy response time against peers (tcp, store off)",
        x_desc: "peers (half buyers)",
    };
    let figures: [SummaryLine; 4] = [
        ("p50", BLUE, |s| s.p50_us),
        ("mean", GREEN, |s| s.mean_us),
        ("p99", RED, |s| s.p99_us),
        ("max", BLACK, |s| s.max_us),
    ];
    lines_over_log_micros(path, axes, summary_lines(&points, &figures))
}

/// A figure of a distribution drawn as a line: its label, its colour, and
/// how to read it.
type SummaryLine = (&'static str, RGBColor, fn(&Summary) -> f64);

/// A line per figure of `figures`, through the distributions at `points`.
fn summary_lines(points: &[(f64, &Summary)], figures: &[SummaryLine]) -> Vec<Series<'static>> {
    figures
        .iter()
        .map(|&(label, colour, figure)| {
            let line = points.iter().map(|&(x, s)| (x, figure(s))).collect();
            (label, colour, line)
        })
        .collect()
}

/// The load curves: p99 response time against throughput, a line per
/// transport and store, each point a number of buyers.
pub fn load_curves(path: &Path, results: &BenchResults) -> Drawn {
    const COLOURS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];
    let mut curves = Vec::new();
    for store in [BooksKind::Mem, BooksKind::Sqlite, BooksKind::Postgres] {
        for (kind, colour) in TRANSPORTS.into_iter().zip(COLOURS) {
            let points: Vec<(f64, f64)> = curve(results, kind, store)
                .filter_map(|p| p.latency.measured().map(|s| (p.buys_per_s, s.p99_us)))
                .collect();
            if points.is_empty() {
                continue;
            }
            let store_on = store != BooksKind::Mem;
            // Store on: the same hue, lighter.
            let colour = if store_on {
                RGBColor(colour.0 / 2 + 100, colour.1 / 2 + 100, colour.2 / 2 + 100)
            } else {
                colour
            };
            let label = if store_on {
                format!("{kind}, {}", store.name())
            } else {
                format!("{kind}, store off")
            };
            curves.push((label, colour, points));
        }
    }
    let axes = LogMicros {
        caption: "Load curve: p99 response time against buys per second",
        x_desc: "buys/s (a point per number of closed-loop buyers)",
    };
    let lines = curves
        .iter()
        .map(|(label, colour, points)| (label.as_str(), *colour, points.clone()))
        .collect();
    lines_over_log_micros(path, axes, lines)
}

/// Buy response time (p50, p99) against the delay each way between hosts.
pub fn remote(path: &Path, rows: &[RemoteResult]) -> Drawn {
    let points: Vec<(f64, &Summary)> = rows
        .iter()
        .filter_map(|r| r.buy.measured().map(|s| (r.delay_us as f64, s)))
        .collect();
    let axes = LogMicros {
        caption: "Buy response time against the delay between hosts",
        x_desc: "delay each way, µs",
    };
    let figures: [SummaryLine; 2] = [("p50", BLUE, |s| s.p50_us), ("p99", RED, |s| s.p99_us)];
    lines_over_log_micros(path, axes, summary_lines(&points, &figures))
}
