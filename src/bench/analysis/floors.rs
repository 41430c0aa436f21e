//! The floors' figures: what every response time is divided by.

use bazaar_node::net::TransportKind;

use crate::bench::experiments::{
    BenchResults,
    floors::{FSYNC, FloorResult, RAW_TCP},
};

/// The floor named `name` (a transport's, [`RAW_TCP`] or [`FSYNC`]).
pub fn named<'a>(results: &'a BenchResults, name: &str) -> Option<&'a FloorResult> {
    results.floors.iter().find(|f| f.name == name)
}

/// The floor every response time of `kind` is divided by: the p50 of the
/// echo paced as the buyers are, in microseconds (the hot echo's where no
/// paced one was measured).
pub fn floor_us(results: &BenchResults, kind: TransportKind) -> Option<f64> {
    paced_echo_p50_us(results, kind).or_else(|| hot_echo_p50_us(results, kind))
}

/// The hot echo's p50 over `kind`, in microseconds.
pub fn hot_echo_p50_us(results: &BenchResults, kind: TransportKind) -> Option<f64> {
    hot_p50_us(results, kind.name())
}

/// The hot echo's p99 over `kind`, in microseconds.
pub fn hot_echo_p99_us(results: &BenchResults, kind: TransportKind) -> Option<f64> {
    named(results, kind.name())
        .and_then(|f| f.round_trip.measured())
        .map(|s| s.p99_us)
}

/// The p50 of raw tokio tcp's echo, in microseconds.
pub fn raw_tcp_echo_p50_us(results: &BenchResults) -> Option<f64> {
    hot_p50_us(results, RAW_TCP)
}

/// The p50 of the paced echo over `kind` (the floor a buy is held to), in
/// microseconds; `None` where no paced echo ran.
pub fn paced_echo_p50_us(results: &BenchResults, kind: TransportKind) -> Option<f64> {
    paced_p50_us(results, kind.name())
}

/// The p50 of the disk's floor, 4 KiB written and `fdatasync`ed, in
/// microseconds.
pub fn fsync_p50_us(results: &BenchResults) -> Option<f64> {
    hot_p50_us(results, FSYNC)
}

/// The p50 of the disk's floor paced as the buys are (a pause of the
/// buyers' think time after each sync), in microseconds.
pub fn paced_fsync_p50_us(results: &BenchResults) -> Option<f64> {
    paced_p50_us(results, FSYNC)
}

fn hot_p50_us(results: &BenchResults, name: &str) -> Option<f64> {
    named(results, name)
        .and_then(|f| f.round_trip.measured())
        .map(|s| s.p50_us)
}

fn paced_p50_us(results: &BenchResults, name: &str) -> Option<f64> {
    named(results, name)
        .and_then(|f| f.paced.as_ref())
        .and_then(|s| s.measured())
        .map(|s| s.p50_us)
}
