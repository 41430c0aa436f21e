//! The latency experiments' figures: the six-peer buy of a transport and
//! store, the markets of "more peers", and the failovers after a kill.

use bazaar_node::net::TransportKind;

use crate::{
    bench::{
        experiments::{
            BenchResults, Summary,
            latency::{Cause, Election, LatencyResult},
        },
        plan::{Disruption, Group},
    },
    books::BooksKind,
};

/// The six-peer experiment of a transport and store.
pub fn six_peers(
    results: &BenchResults,
    kind: TransportKind,
    store: BooksKind,
) -> Option<&LatencyResult> {
    results.latency.iter().find(|r| {
        matches!(r.scenario.group, Group::Transports | Group::Durable)
            && r.scenario.transport == kind
            && r.scenario.store == store
    })
}

/// The six-peer buy's response times over `kind` with the books in
/// `store`, if it ran and answered any.
pub fn six_peer_buys(
    results: &BenchResults,
    kind: TransportKind,
    store: BooksKind,
) -> Option<&Summary> {
    six_peers(results, kind, store).and_then(|r| r.latency.measured())
}

/// The p50 of the six-peer buy over `kind` with the books in `store`, in
/// microseconds.
pub fn buy_p50_us(results: &BenchResults, kind: TransportKind, store: BooksKind) -> Option<f64> {
    six_peer_buys(results, kind, store).map(|s| s.p50_us)
}

/// The experiments of `group`, in plan order.
pub fn group(results: &BenchResults, group: Group) -> impl Iterator<Item = &LatencyResult> {
    results
        .latency
        .iter()
        .filter(move |l| l.scenario.group == group)
}

/// Every election caused by killing the trader.
pub fn killed(results: &BenchResults) -> impl Iterator<Item = &Election> {
    results
        .latency
        .iter()
        .filter(|r| matches!(r.scenario.disruption, Disruption::Kill { .. }))
        .flat_map(|r| &r.elections)
        .filter(|e| e.cause == Cause::Killed)
}

/// Every failover time after a kill, in milliseconds, in order.
pub fn failovers_ms(results: &BenchResults) -> Vec<f64> {
    killed(results).map(|e| e.first_reply_ms).collect()
}

/// The share of answered requests that got at least one unit; `None` if
/// none was answered.
pub fn filled_share(result: &LatencyResult) -> Option<f64> {
    result
        .latency
        .measured()
        .map(|s| result.filled as f64 / s.count as f64)
}
