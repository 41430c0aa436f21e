//! The figures as JSON for `--json FILE`: a few headline keys that scripts
//! and CI can read (`transports.tcp.buy_p50_us`, `failover_ms`, …), then
//! every experiment in full.

use serde_json::{Map, Value, json};

use super::{
    floor_us,
    results::{BenchResults, LatencyResult, LoadResult},
    scenarios::{Disruption, Group, StoreKind, TRANSPORTS},
};
use bazaar_node::net::TransportKind;

/// The whole run as one JSON value.
pub fn to_json(results: &BenchResults) -> Value {
    let mut transports = Map::new();
    for kind in TRANSPORTS {
        transports.insert(kind.name().into(), transport(results, kind));
    }
    let kills: Vec<f64> = killed(results).map(|e| e.first_reply_ms).collect();
    let peers: Map<String, Value> = results
        .latency
        .iter()
        .filter(|r| r.scenario.group == Group::Peers)
        .map(|r| {
            (
                r.scenario.peers.to_string(),
                json!({
                    "buy_mean_us": r.latency.mean_us,
                    "buy_p50_us": r.latency.p50_us,
                    "buy_p99_us": r.latency.p99_us,
                    "buy_max_us": r.latency.max_us,
                    "complete": r.complete,
                }),
            )
        })
        .collect();
    json!({
        "quick": results.plan.quick,
        "elapsed_s": results.elapsed_s,
        "load_average": results.load_average,
        "raw_tcp_echo_p50_us": results.echo.iter().find(|e| e.name == "raw tcp").map(|e| e.round_trip.p50_us),
        "fsync_p50_us": results.echo.iter().find(|e| e.name == super::FSYNC).map(|e| e.round_trip.p50_us),
        "transports": transports,
        "failover_ms": kills.iter().copied().reduce(f64::max),
        "failover_mean_ms": (!kills.is_empty()).then(|| kills.iter().sum::<f64>() / kills.len() as f64),
        "failovers_ms": kills,
        "peers": peers,
        "history": {
            "open_ms": results.history.iter().map(|h| (h.sales.to_string(), json!(h.open_ms))).collect::<Map<String, Value>>(),
            "book_bytes": results.history.iter().map(|h| (h.sales.to_string(), json!(h.book_bytes))).collect::<Map<String, Value>>(),
            "connect_ms": results.history.iter().map(|h| (h.sales.to_string(), json!(h.connect_ms))).collect::<Map<String, Value>>(),
            "runs": results.history,
        },
        "remote": {
            "skipped": results.remote_skipped,
            "buy_p50_us": results.remote.iter().map(|r| (r.delay_us.to_string(), json!(r.buy.p50_us))).collect::<Map<String, Value>>(),
            "failover_ms": results.remote.iter().map(|r| (r.delay_us.to_string(), json!(r.failover_ms))).collect::<Map<String, Value>>(),
            "runs": results.remote,
        },
        "processes": super::processes::json::figures(results.processes.as_ref()),
        "stores": stores(results),
        "commits": results.commits,
        "echo": results.echo,
        "latency": results.latency,
        "load": results.load,
    })
}

/// The durable stores side by side: `stores.sqlite.commit_p50_us`,
/// `stores.postgres.durable_buys_per_s`, …; a store not measured is
/// absent.
fn stores(results: &BenchResults) -> Value {
    results
        .commits
        .iter()
        .map(|c| {
            let kind = if c.store == "postgres" {
                StoreKind::Postgres
            } else {
                StoreKind::Sqlite
            };
            let load = durable_load(results, kind);
            (
                c.store.clone(),
                json!({
                    "commit_mean_us": c.commit.mean_us,
                    "commit_p50_us": c.commit.p50_us,
                    "commit_p99_us": c.commit.p99_us,
                    "commit_buys_per_s": c.buys_per_s,
                    "durable_buys_per_s": load.map(|l| l.buys_per_s),
                    "durable_buy_p50_us": load.map(|l| l.latency.p50_us),
                }),
            )
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// The headline figures of one transport; `null` where not measured.
fn transport(results: &BenchResults, kind: TransportKind) -> Value {
    let buy = six_peers(results, kind, StoreKind::Mem);
    let durable = six_peers(results, kind, StoreKind::Sqlite);
    let load = throughput(results, kind, StoreKind::Mem);
    let durable_load = throughput(results, kind, StoreKind::Sqlite);
    let echo = floor_us(results, kind);
    json!({
        "echo_p50_us": echo,
        "echo_p99_us": results.echo.iter().find(|e| e.name == kind.name()).map(|e| e.round_trip.p99_us),
        "buy_mean_us": buy.map(|r| r.latency.mean_us),
        "buy_p50_us": buy.map(|r| r.latency.p50_us),
        "buy_p99_us": buy.map(|r| r.latency.p99_us),
        "buy_max_us": buy.map(|r| r.latency.max_us),
        "buy_p50_over_echo": buy.zip(echo).map(|(r, e)| r.latency.p50_us / e),
        "throughput_buys_per_s": load.map(|r| r.buys_per_s),
        "durable_buy_p50_us": durable.map(|r| r.latency.p50_us),
        "durable_buy_p99_us": durable.map(|r| r.latency.p99_us),
        "durable_throughput_buys_per_s": durable_load.map(|r| r.buys_per_s),
    })
}

/// The six-peer experiment of a transport and store.
pub fn six_peers(
    results: &BenchResults,
    kind: TransportKind,
    store: StoreKind,
) -> Option<&LatencyResult> {
    results.latency.iter().find(|r| {
        matches!(r.scenario.group, Group::Transports | Group::Durable)
            && r.scenario.transport == kind
            && r.scenario.store == store
    })
}

/// The throughput experiment of a transport and store.
pub fn throughput(
    results: &BenchResults,
    kind: TransportKind,
    store: StoreKind,
) -> Option<&LoadResult> {
    results
        .load
        .iter()
        .find(|r| r.scenario.transport == kind && r.scenario.store == store)
}

/// The throughput experiment with the books in `store`: over tcp if there
/// is one, else the first.
pub fn durable_load(results: &BenchResults, store: StoreKind) -> Option<&LoadResult> {
    throughput(results, TransportKind::Tcp, store)
        .or_else(|| results.load.iter().find(|r| r.scenario.store == store))
}

/// Every election caused by killing the trader.
pub fn killed(results: &BenchResults) -> impl Iterator<Item = &super::Election> {
    results
        .latency
        .iter()
        .filter(|r| matches!(r.scenario.disruption, Disruption::Kill { .. }))
        .flat_map(|r| &r.elections)
        .filter(|e| e.cause == "killed")
}
