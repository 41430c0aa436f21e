//! The re-elections' tables: the killed and resigning traders' buys, every
//! election's times, and the plots of response time over time.

use std::fmt::Write;

use bazaar_node::net::TransportKind;

use super::{super::svg::Plots, latency};
use crate::bench::{
    analysis::{
        floors::floor_us,
        latency::{failovers_ms, group},
        mean, worst,
    },
    experiments::{BenchResults, latency::LatencyResult},
    plan::{Disruption, Group},
};

/// The re-election experiments, if any ran.
pub fn section(md: &mut String, r: &BenchResults, plots: &Plots) {
    let rows: Vec<&LatencyResult> = group(r, Group::Elections).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Re-elections (tcp, 6 peers, store off, default timeouts)\n\n\
         *Killed*: the trader's task is aborted and its transport dropped with no \
         goodbye; once its successor has answered a buyer it is brought back, and \
         as the highest id it takes over again (*returned*). *Resigned*: the trader \
         steps down after K sales. Each election's time runs from the death (or \
         resignation, or return) to the new trader's announcement, and to the first \
         reply a buyer gets from it: the failover time.\n\n{}",
        latency::head("experiment")
    );
    for l in &rows {
        latency::row(md, &l.scenario.name, l, floor_us(r, TransportKind::Tcp));
    }
    every_election(md, &rows);
    let kills = failovers_ms(r);
    if let (Some(mean), Some(worst)) = (mean(&kills), worst(&kills)) {
        let _ = writeln!(
            md,
            "\nFailover after a kill: mean {mean:.1} ms, worst {worst:.1} ms over {} kills.",
            kills.len()
        );
    }
    for (svg, what) in [(&plots.killed, "killed"), (&plots.resigned, "resigning")] {
        if let Some(svg) = svg {
            let _ = writeln!(md, "\n![latency over time, trader {what}]({svg})");
        }
    }
    md.push('\n');
}

/// Every election of `rows`: its cause, traders, and times.
fn every_election(md: &mut String, rows: &[&LatencyResult]) {
    let _ = writeln!(
        md,
        "\n| experiment | cause | trader | at | elected after | first reply after |\n|---|---|---|---:|---:|---:|"
    );
    for l in rows {
        for e in &l.elections {
            let _ = writeln!(
                md,
                "| {} | {} | {} → {} | {:.2} s | {:.1} ms | {:.1} ms |",
                short(l),
                e.cause,
                e.old,
                e.new,
                e.at_s,
                e.elected_ms,
                e.first_reply_ms
            );
        }
    }
}

/// What the experiment did to its trader, in a word.
const fn short(l: &LatencyResult) -> &'static str {
    match l.scenario.disruption {
        Disruption::Kill { .. } => "killed",
        Disruption::Resign { .. } => "resigning",
        Disruption::None => "none",
    }
}
