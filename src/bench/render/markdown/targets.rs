//! "Against the targets": every target of the plan's table, one row each,
//! as the analysis read it.

use std::fmt::Write;

use super::cells::{MISSING, us};
use crate::{
    bench::{
        analysis::{
            load::KNEE_P99_US,
            targets::{Reading, Reference, Verdict, verdict},
        },
        experiments::BenchResults,
        plan::targets::{Figure, TARGETS, Target},
    },
    books::BooksKind::Mem,
};
use Figure::{
    BuyP50, CommitP50, FloorCommitP50, Fsync, Knee, KneeFloor, MostBuys, OpenBooks, PacedEcho,
    PacedFsync, PeersP99, ProcessFailover, WorstKill,
};

/// The report's section: every target of [`TARGETS`], one row each.
pub fn section(md: &mut String, r: &BenchResults) {
    let _ = writeln!(
        md,
        "## Against the targets\n\nEach target holds a figure to a reference measured in \
         the same run (the ratio column: figure ÷ reference), the earlier ones to an \
         absolute bound. A knee is the highest buys/s of a load curve with p99 under {}; \
         \"not measured\" where the run did not include the experiment.\n\n\
         | target | measured | against | ratio | met |\n|---|---:|---|---:|---|",
        us(KNEE_P99_US)
    );
    for target in TARGETS {
        row(md, target, &verdict(target, r));
    }
    md.push('\n');
}

/// One target's row: the figure, what it is held to, the ratio, met.
fn row(md: &mut String, target: &Target, v: &Verdict) {
    let measured = match v.figure {
        Reading::NotMeasured => "not measured".to_owned(),
        Reading::Without(why) => why.to_owned(),
        Reading::Value(x) => show(target.figure, x),
    };
    let against = match &v.reference {
        Reference::Bound(bound) => show(target.figure, *bound),
        Reference::Sum { parts, total } => sum(target.figure, parts, *total),
        Reference::Missing(Reading::Without(why)) => (*why).to_owned(),
        Reference::Missing(_) => "not measured".to_owned(),
    };
    let ratio = v
        .ratio
        .map_or_else(|| MISSING.to_owned(), |x| format!("{x:.2}×"));
    let met = match v.met {
        None => MISSING,
        Some(true) => "yes",
        Some(false) => "**no**",
    };
    let _ = writeln!(
        md,
        "| {} | {measured} | {against} | {ratio} | {met} |",
        target.name
    );
}

/// A reference of figures: each weighted part, and the sum if there are
/// several (`paced echo 41.0 µs + 2 × fdatasync 1019 µs = 2079 µs`).
fn sum(figure: Figure, parts: &[(f64, Figure, f64)], total: f64) -> String {
    let shown: Vec<String> = parts
        .iter()
        .map(|&(weight, part, v)| {
            let weight = if weight == 1.0 {
                String::new()
            } else {
                format!("{weight} × ")
            };
            format!("{weight}{} {}", label(part), show(part, v))
        })
        .collect();
    let mut text = shown.join(" + ");
    if shown.len() > 1 {
        let _ = write!(text, " = {}", show(figure, total));
    }
    text
}

/// How the report shows a value of `figure`.
fn show(figure: Figure, v: f64) -> String {
    match figure {
        PacedEcho(_) | Fsync | PacedFsync | BuyP50(..) | CommitP50(_) | FloorCommitP50(_)
        | PeersP99(_) => us(v),
        Knee(..) | MostBuys(..) | KneeFloor(_) => format!("{v:.0}/s"),
        WorstKill | ProcessFailover(_) | OpenBooks(_) if v < 10.0 => format!("{v:.2} ms"),
        WorstKill | ProcessFailover(_) | OpenBooks(_) => format!("{v:.0} ms"),
    }
}

/// What the report calls `figure` beside its value, as a reference.
const fn label(figure: Figure) -> &'static str {
    match figure {
        PacedEcho(_) => "paced echo",
        Fsync => "fdatasync",
        PacedFsync => "paced fdatasync",
        BuyP50(_, Mem) => "store-off buy",
        BuyP50(..) => "durable buy",
        Knee(_, Mem) => "store-off knee",
        Knee(..) => "knee",
        MostBuys(_, Mem) => "store off",
        MostBuys(..) => "most buys/s",
        KneeFloor(_) => "request/reply floor",
        CommitP50(_) => "commit",
        FloorCommitP50(_) => "floor commit",
        WorstKill | ProcessFailover(_) => "failover",
        OpenBooks(_) => "open",
        PeersP99(_) => "p99",
    }
}
