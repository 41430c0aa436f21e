//! The figures as JSON for `--json FILE`: a few headline keys that scripts
//! and CI can read (`transports.tcp.buy_p50_us`, `failover_ms`, …), then
//! every experiment in full. A figure the run did not measure is `null`,
//! never 0.

mod capacity;
mod history;
mod instructions;
mod processes;
mod remote;
mod stores;
mod transports;

use bazaar_node::net::TransportKind;
use serde_json::{Map, Value, json};

use crate::bench::{
    analysis::{
        floors::{fsync_p50_us, paced_fsync_p50_us, raw_tcp_echo_p50_us},
        latency::failovers_ms,
        mean, worst,
    },
    experiments::BenchResults,
    plan::TRANSPORTS,
};

/// The whole run as one JSON value.
pub fn to_json(results: &BenchResults) -> Value {
    let kills = failovers_ms(results);
    json!({
        "quick": results.plan.quick,
        "elapsed_s": results.elapsed_s,
        "load_average": results.load_average,
        "raw_tcp_echo_p50_us": raw_tcp_echo_p50_us(results),
        "fsync_p50_us": fsync_p50_us(results),
        "paced_fsync_p50_us": paced_fsync_p50_us(results),
        "transports": transports::transports(results),
        "failover_ms": worst(&kills),
        "failover_mean_ms": mean(&kills),
        "failovers_ms": kills,
        "peers": transports::peers(results),
        "history": history::history(results),
        "remote": remote::remote(results),
        "instructions_per_buy": results.instructions.as_ref().map(|i| i.per_buy),
        "instructions": instructions::instructions(results),
        "processes": processes::figures(results.processes.as_ref()),
        "stores": stores::stores(results),
        "capacity": capacity::capacity(results),
        "capacity_floors": results.capacity,
        "commits": results.commits,
        "echo": results.floors,
        "latency": results.latency,
        "load": results.load,
    })
}

/// An object of `figures` of every transport, by the transport's name.
fn per_transport(figures: impl Fn(TransportKind) -> Value) -> Value {
    TRANSPORTS
        .into_iter()
        .map(|kind| (kind.name().to_owned(), figures(kind)))
        .collect::<Map<String, Value>>()
        .into()
}

/// An object of each item's figure, by its key (`history.open_ms.<sales>`).
fn keyed<T>(items: &[T], key: impl Fn(&T) -> String, figure: impl Fn(&T) -> Value) -> Value {
    items
        .iter()
        .map(|item| (key(item), figure(item)))
        .collect::<Map<String, Value>>()
        .into()
}
