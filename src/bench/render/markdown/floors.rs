//! The floors' table: the echoes, hot and paced, and the disk's sync.

use std::fmt::Write;

use super::cells::{summary, us_or_missing};
use crate::bench::{
    experiments::{
        BenchResults,
        floors::{FSYNC, echo::FRAME},
    },
    plan::THINK,
};

/// Every floor, hot and (where measured) paced.
pub fn section(md: &mut String, r: &BenchResults) {
    let _ = writeln!(
        md,
        "## Floors\n\nA {}-byte echo: peer 1 sends, peer 2 sends it back, through the \
         `Transport` trait; \"raw tcp\" is two tokio sockets with nothing between. Hot: \
         {} round trips back to back after a warm-up. Paced: {} round trips, each after \
         the buyers' think time ({} µs) slept on the same runtime, so that both ends wake \
         from idle as a buyer and its trader do; every response time below is divided by \
         its transport's paced p50. \"{}\" is one 4 KiB write and `fdatasync` in the \
         output folder ({} rounds): what a durable commit pays at least.\n\n\
         | floor | mean | p50 | p99 | max | paced p50 | paced p99 |\n\
         |---|---:|---:|---:|---:|---:|---:|",
        FRAME,
        r.plan.echo_round_trips,
        r.plan.paced_round_trips,
        THINK.as_micros(),
        FSYNC,
        r.plan.echo_round_trips / 20,
    );
    for f in &r.floors {
        let paced = f.paced.as_ref().and_then(|p| p.measured());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            f.name,
            summary(&f.round_trip),
            us_or_missing(paced.map(|p| p.p50_us)),
            us_or_missing(paced.map(|p| p.p99_us)),
        );
    }
    md.push('\n');
}
