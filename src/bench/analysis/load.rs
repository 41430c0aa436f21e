//! The load curves' figures: each curve, its highest point, its knee, the
//! request/reply floor beside each point.

use bazaar_node::net::TransportKind;

use crate::{
    bench::experiments::{BenchResults, load::LoadResult},
    books::BooksKind,
};

/// The response time a point must keep its p99 under to count as served
/// rather than queued: the knee is the highest throughput that does.
pub const KNEE_P99_US: f64 = 1_000.0;

/// The load curve of a transport and store: its points that settled (see
/// [`LoadResult::settled`]), fewest buyers first.
pub fn curve(
    results: &BenchResults,
    kind: TransportKind,
    store: BooksKind,
) -> impl Iterator<Item = &LoadResult> {
    results
        .load
        .iter()
        .filter(move |r| r.scenario.transport == kind && r.scenario.store == store && r.settled)
}

/// The highest throughput on the load curve of a transport and store.
pub fn throughput(
    results: &BenchResults,
    kind: TransportKind,
    store: BooksKind,
) -> Option<&LoadResult> {
    curve(results, kind, store).max_by(|a, b| a.buys_per_s.total_cmp(&b.buys_per_s))
}

/// The knee of a transport and store's load curve: its highest throughput
/// with p99 under [`KNEE_P99_US`]; `None` if no point stays under it.
pub fn knee(results: &BenchResults, kind: TransportKind, store: BooksKind) -> Option<&LoadResult> {
    curve(results, kind, store)
        .filter(|r| r.latency.measured().is_some_and(|s| s.p99_us < KNEE_P99_US))
        .max_by(|a, b| a.buys_per_s.total_cmp(&b.buys_per_s))
}

/// The request/reply floor of `transport` (a transport's name, or `raw
/// tcp`) with `connections` clients, in round trips per second.
pub fn capacity_floor(results: &BenchResults, transport: &str, connections: u32) -> Option<f64> {
    results
        .capacity
        .iter()
        .find(|c| c.transport == transport && c.connections == connections)
        .map(|c| c.round_trips_per_s)
}

/// The throughput experiment with the books in `store`: over tcp if there
/// is one, else the first.
pub fn durable_load(results: &BenchResults, store: BooksKind) -> Option<&LoadResult> {
    throughput(results, TransportKind::Tcp, store)
        .or_else(|| results.load.iter().find(|r| r.scenario.store == store))
}

/// How many requests a batch of a point served on average; `None` where
/// nothing was committed.
pub fn buys_per_commit(point: &LoadResult) -> Option<f64> {
    (point.commits_per_s > 0.0).then(|| point.buys_per_s / point.commits_per_s)
}
