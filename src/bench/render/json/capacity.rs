//! The load curve and its floors per transport: the knees and highest
//! points with the books in memory, SQLite and PostgreSQL
//! (`capacity.tcp.store_off.knee_buys_per_s`,
//! `capacity.tcp.store_postgres.max_buys_per_s`), the floor with as many
//! connections as the store-off knee has buyers
//! (`capacity.tcp.floor_round_trips_per_s`), and every point.

use bazaar_node::net::TransportKind;
use serde_json::{Value, json};

use crate::{
    bench::{
        analysis::{
            load::{capacity_floor, curve, knee, throughput},
            ratio,
        },
        experiments::{BenchResults, floors::RAW_TCP},
    },
    books::BooksKind,
};

/// Every transport and store is there, `null` (and an empty curve) where
/// its curve was not run; a knee is also `null` where no point of the
/// curve kept its p99 under the knee's bound.
pub fn capacity(results: &BenchResults) -> Value {
    super::per_transport(|kind| transport(results, kind))
}

/// One transport's curves, store off, on and in PostgreSQL, and the
/// floors beside its store-off knee.
fn transport(results: &BenchResults, kind: TransportKind) -> Value {
    let off = knee(results, kind, BooksKind::Mem);
    let at = off.map(|k| k.scenario.buyers);
    let floor = at.and_then(|n| capacity_floor(results, kind.name(), n));
    let raw = at.and_then(|n| capacity_floor(results, RAW_TCP, n));
    json!({
        "store_off": side(results, kind, BooksKind::Mem),
        "store_on": side(results, kind, BooksKind::Sqlite),
        "store_postgres": side(results, kind, BooksKind::Postgres),
        "floor_round_trips_per_s": floor,
        "raw_tcp_floor_round_trips_per_s": raw,
        "knee_over_floor": ratio(off.map(|k| k.buys_per_s), floor),
    })
}

/// One curve: its knee, its highest point, and every point beside its
/// floor.
fn side(results: &BenchResults, kind: TransportKind, store: BooksKind) -> Value {
    let knee = knee(results, kind, store);
    let points: Vec<Value> = curve(results, kind, store)
        .map(|p| {
            let latency = p.latency.measured();
            json!({
                "buyers": p.scenario.buyers,
                "buys_per_s": p.buys_per_s,
                "p50_us": latency.map(|s| s.p50_us),
                "p99_us": latency.map(|s| s.p99_us),
                "floor_round_trips_per_s": capacity_floor(results, kind.name(), p.scenario.buyers),
            })
        })
        .collect();
    json!({
        "knee_buys_per_s": knee.map(|k| k.buys_per_s),
        "knee_buyers": knee.map(|k| k.scenario.buyers),
        "knee_p99_us": knee.and_then(|k| k.latency.measured()).map(|s| s.p99_us),
        "max_buys_per_s": throughput(results, kind, store).map(|k| k.buys_per_s),
        "curve": points,
    })
}
