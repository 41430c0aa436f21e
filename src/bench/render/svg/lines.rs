//! The line charts of response times: against peers, against the delay
//! between hosts, and the load curves.

use std::path::Path;

use plotters::prelude::*;

use super::chart::{Drawn, LogMicros, decades, lines_over_log_micros};
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
    let max_peers = rows.iter().map(|r| r.scenario.peers).max().unwrap_or(6);
    let measured = || {
        rows.iter().filter_map(|r| {
            r.latency
                .measured()
                .map(|s| (f64::from(r.scenario.peers), s))
        })
    };
    let y = decades(measured().flat_map(|(_, s)| [s.p50_us, s.max_us]));
    let line = |value: fn(&Summary) -> f64| -> Vec<(f64, f64)> {
        measured().map(|(peers, s)| (peers, value(s))).collect()
    };
    lines_over_log_micros(
        path,
        LogMicros {
            caption: "Buy response time against peers (tcp, store off)",
            x_desc: "peers (half buyers)",
            x_end: f64::from(max_peers) * 1.05,
            y,
        },
        vec![
            ("p50", BLUE, line(|s| s.p50_us)),
            ("mean", GREEN, line(|s| s.mean_us)),
            ("p99", RED, line(|s| s.p99_us)),
            ("max", BLACK, line(|s| s.max_us)),
        ],
    )
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
    let x_end = curves
        .iter()
        .flat_map(|c| c.2.iter().map(|p| p.0))
        .fold(1.0, f64::max)
        * 1.05;
    let y = decades(curves.iter().flat_map(|c| c.2.iter().map(|p| p.1)));
    lines_over_log_micros(
        path,
        LogMicros {
            caption: "Load curve: p99 response time against buys per second",
            x_desc: "buys/s (a point per number of closed-loop buyers)",
            x_end,
            y,
        },
        curves
            .iter()
            .map(|(label, colour, points)| (label.as_str(), *colour, points.clone()))
            .collect(),
    )
}

/// Buy response time (p50, p99) against the delay each way between hosts.
pub fn remote(path: &Path, rows: &[RemoteResult]) -> Drawn {
    let max_delay = rows.iter().map(|r| r.delay_us).max().unwrap_or(1) as f64;
    let measured = || {
        rows.iter()
            .filter_map(|r| r.buy.measured().map(|s| (r.delay_us as f64, s)))
    };
    let y = decades(measured().flat_map(|(_, s)| [s.p50_us, s.p99_us]));
    let line = |value: fn(&Summary) -> f64| -> Vec<(f64, f64)> {
        measured().map(|(delay, s)| (delay, value(s))).collect()
    };
    lines_over_log_micros(
        path,
        LogMicros {
            caption: "Buy response time against the delay between hosts",
            x_desc: "delay each way, µs",
            x_end: max_delay.max(1.0) * 1.05,
            y,
        },
        vec![
            ("p50", BLUE, line(|s| s.p50_us)),
            ("p99", RED, line(|s| s.p99_us)),
        ],
    )
}
