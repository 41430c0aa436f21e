//! The remote table: response times and failover against the delay
//! between hosts, or why the experiment was skipped.

use std::fmt::Write;

use super::{
    super::svg::Plots,
    cells::{us, us_or_missing},
};
use crate::bench::experiments::BenchResults;

/// The remote experiment, if it ran or was skipped.
pub fn section(md: &mut String, r: &BenchResults, plots: &Plots) {
    if r.remote.is_empty() {
        if let Some(why) = &r.remote_skipped {
            let _ = writeln!(md, "## Local against remote\n\nSkipped: {why}.\n");
        }
        return;
    }
    let _ = writeln!(
        md,
        "## Local against remote\n\nSix `bazaar node` processes on six network-namespace \
         hosts (tcp, books in SQLite), every host's outgoing packets delayed by `tc netem`: a \
         round trip between two hosts takes twice the delay more. Buyers 1 and 3 over the \
         whole run (one failover included); failover from the SIGKILL of trader 6 to peer 5's \
         first sale.\n\n| delay each way | buys | mean | p50 | p99 | failover |\n|---:|---:|---:|---:|---:|---:|"
    );
    for x in &r.remote {
        let failover = x
            .failover_ms
            .map_or_else(|| "did not come".into(), |ms| format!("{ms:.0} ms"));
        let buy = x.buy.measured();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {failover} |",
            us(x.delay_us as f64),
            x.buy.count,
            us_or_missing(buy.map(|s| s.mean_us)),
            us_or_missing(buy.map(|s| s.p50_us)),
            us_or_missing(buy.map(|s| s.p99_us)),
        );
    }
    if let Some(why) = &r.remote_skipped {
        let _ = writeln!(md, "\nNot measured: {why}.");
    }
    if let Some(svg) = &plots.remote {
        let _ = writeln!(md, "\n![response time against delay]({svg})");
    }
    md.push('\n');
}
