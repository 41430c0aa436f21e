//! The durable stores' table: each store's commits beside its floor.

use std::fmt::Write;

use super::cells::{or_missing, summary, times, us_or_missing};
use crate::bench::{
    analysis::{load::durable_load, ratio},
    experiments::{BenchResults, commits::BUYS_PER_BATCH, floors::FSYNC},
};

/// The commits experiment, if it ran.
pub fn section(md: &mut String, r: &BenchResults) {
    if r.commits.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Durable stores\n\nThe same batches (a restocking deposit and {} one-unit buys \
         each) committed back to back to each durable store, only `commit` timed: SQLite \
         in the output folder, PostgreSQL in the database of `--postgres`. \"floor \
         commit\" is PostgreSQL's floor, as many rounds right after on the same server: a \
         single-row `INSERT` into a scratch table (`bench_floor`, dropped after) in its own \
         transaction, in a session with the store's settings; SQLite's floor is the \
         disk's, \"{}\" above. \"durable buys/s\" is the throughput experiment with \
         the books in that store (its highest point, tcp).\n\n| store | commits | commit \
         mean | p50 | p99 | max | floor commit p50 | p99 | commit p50 ÷ floor | buys/s by \
         commits alone | durable buys/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        BUYS_PER_BATCH, FSYNC,
    );
    for c in &r.commits {
        let floor = c.floor.as_ref().and_then(|f| f.measured());
        let commit = c.commit.measured();
        let load = durable_load(r, c.store);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {:.0} | {} |",
            c.store,
            c.commit.count,
            summary(&c.commit),
            us_or_missing(floor.map(|f| f.p50_us)),
            us_or_missing(floor.map(|f| f.p99_us)),
            times(ratio(commit.map(|s| s.p50_us), floor.map(|f| f.p50_us))),
            c.buys_per_s,
            or_missing(load, |l| format!("{:.0}", l.buys_per_s)),
        );
    }
    md.push('\n');
}
