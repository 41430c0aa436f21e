//! The instruction count's table, or why it was skipped.

use std::fmt::Write;

use super::cells::or_missing;
use crate::bench::experiments::BenchResults;

/// The instruction count, if it ran or was skipped.
pub fn section(md: &mut String, r: &BenchResults) {
    let Some(i) = &r.instructions else {
        if let Some(why) = &r.instructions_skipped {
            let _ = writeln!(md, "## Instructions per buy\n\nSkipped: {why}.\n");
        }
        return;
    };
    let (n, market) = (i.plan.buys, i.plan.market);
    let spread = or_missing(i.spread, |s| {
        format!("{:.1} ({:.4} %)", s * i.per_buy, s * 100.0)
    });
    let _ = writeln!(
        md,
        "## Instructions per buy\n\n`bazaar count-buys` under `valgrind --tool=callgrind`: \
         {} buyers with no think time and {} sellers over mem, books in memory, on one \
         thread, until N and then 2N buys are answered; (2N count − N count) / N is one \
         buy's cost, start-up and shutdown cancelled. Free of timing noise: compare it \
         across changes.\n\n| N | instructions at N | at 2N | per buy | spread of {} \
         repeats |\n|---:|---:|---:|---:|---:|\n| {n} | {} | {} | **{:.0}** | {spread} |\n\n\
         The last profile at 2N: `callgrind_annotate {}`.\n",
        market.buyers,
        market.sellers,
        i.runs_n.len(),
        i.instructions_n,
        i.instructions_2n,
        i.per_buy,
        i.profile.display(),
    );
}
