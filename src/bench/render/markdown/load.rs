//! The load curve's tables: each transport's knee beside its request/reply
//! floor, then every point, and the plot.

use std::fmt::Write;

use super::{
    super::svg::Plots,
    cells::{or_missing, per_s, store_label, times, us, us_or_missing},
};
use crate::{
    bench::{
        analysis::{
            load::{KNEE_P99_US, buys_per_commit, capacity_floor, curve, knee},
            ratio,
        },
        experiments::{BenchResults, floors::RAW_TCP, load::LoadResult},
        plan::TRANSPORTS,
    },
    books::BooksKind,
};

/// The load curve, if it ran.
pub fn section(md: &mut String, r: &BenchResults, plots: &Plots) {
    let Some(first) = r.load.first() else { return };
    let s = &first.scenario;
    let _ = writeln!(
        md,
        "## Load curve\n\nMore and more buyers with no think time, each with one request \
         out at a time (closed loop), against {} sellers (the highest the trader), stocked; \
         buys counted for {:.1} s after {:.1} s of warm-up at each step. The knee is the \
         highest throughput whose p99 stays under {}. Beside it, in the same run, the \
         request/reply floor: as many clients as buyers, each on its own connection with one \
         32-byte frame out at a time, against one echo peer serving them all from one task \
         through the `Transport` trait (as the trader serves its buyers), counted for {:.1} s; \
         and the same over raw tokio tcp with one echo task per connection.\n\n\
         | transport | knee, store off | at buyers | floor, same connections | knee ÷ floor \
         | raw tcp floor | knee, store on | ÷ store-off knee |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|",
        s.sellers,
        s.window.as_secs_f64(),
        s.warmup.as_secs_f64(),
        us(KNEE_P99_US),
        r.plan.capacity_window.as_secs_f64(),
    );
    knees(md, r);
    every_point(md, r);
    if let Some(svg) = &plots.throughput {
        let _ = writeln!(md, "\n![load curve per transport]({svg})");
    }
    md.push('\n');
}

/// Each transport's knees, store off and on, beside the floors with as
/// many connections as the store-off knee has buyers.
fn knees(md: &mut String, r: &BenchResults) {
    for kind in TRANSPORTS {
        if curve(r, kind, BooksKind::Mem).next().is_none() {
            continue;
        }
        let off = knee(r, kind, BooksKind::Mem).map(|k| (k.scenario.buyers, k.buys_per_s));
        let on = knee(r, kind, BooksKind::Sqlite).map(|k| k.buys_per_s);
        let at = off.map(|(buyers, _)| buyers);
        let off = off.map(|(_, buys)| buys);
        let floor = at.and_then(|n| capacity_floor(r, kind.name(), n));
        let raw = at.and_then(|n| capacity_floor(r, RAW_TCP, n));
        let _ = writeln!(
            md,
            "| {kind} | {} | {} | {} | {} | {} | {} | {} |",
            per_s(off),
            or_missing(at, |n| n.to_string()),
            per_s(floor),
            times(ratio(off, floor)),
            per_s(raw),
            per_s(on),
            times(ratio(on, off)),
        );
    }
}

/// Every point of every curve, in plan order.
fn every_point(md: &mut String, r: &BenchResults) {
    let _ = writeln!(
        md,
        "\nEvery point. \"buys per commit\" is how many requests a batch serves on average.\n\n\
         | transport, store | buyers | buys/s | p50 | p99 | floor | buys ÷ floor | frames per buy \
         | buys per commit |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for l in &r.load {
        if l.settled {
            point(md, r, l);
        } else {
            let _ = writeln!(
                md,
                "| {}, {} | {} | did not settle: some buyer was never answered within 30 s \
                 (every peer connecting to every other, and electing) | | | | | | |",
                l.scenario.transport,
                store_label(l.scenario.store),
                l.scenario.buyers,
            );
        }
    }
}

/// One settled point's row.
fn point(md: &mut String, r: &BenchResults, l: &LoadResult) {
    let floor = capacity_floor(r, l.scenario.transport.name(), l.scenario.buyers);
    let latency = l.latency.measured();
    let _ = writeln!(
        md,
        "| {}, {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
        l.scenario.transport,
        store_label(l.scenario.store),
        l.scenario.buyers,
        l.buys_per_s,
        us_or_missing(latency.map(|s| s.p50_us)),
        us_or_missing(latency.map(|s| s.p99_us)),
        per_s(floor),
        times(ratio(Some(l.buys_per_s), floor)),
        or_missing(l.frames_per_buy, |f| format!("{f:.2}")),
        or_missing(buys_per_commit(l), |b| format!("{b:.1}")),
    );
}
