//! The figures as JSON for `--json FILE`: a few headline keys that scripts
//! and CI can read (`transports.tcp.buy_p50_us`, `failover_ms`, …), then
//! every experiment in full.

use serde_json::{Map, Value, json};

use super::{
    commits::CommitResult,
    hot_floor_us,
    results::{BenchResults, LatencyResult, LoadResult, Summary},
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
        "fsync_p50_us": fsync_p50_us(results),
        "paced_fsync_p50_us": paced_fsync_p50_us(results),
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
        "instructions_per_buy": results.instructions.as_ref().map(|i| i.per_buy),
        "instructions": instructions(results),
        "processes": super::processes::json::figures(results.processes.as_ref()),
        "stores": stores(results),
        "capacity": capacity(results),
        "capacity_floors": results.capacity,
        "commits": results.commits,
        "echo": results.echo,
        "latency": results.latency,
        "load": results.load,
    })
}

/// The instruction counts behind `instructions_per_buy`: N, the counts
/// at N and 2N, every repeat, and why they were not taken if they were not.
fn instructions(results: &BenchResults) -> Value {
    let i = results.instructions.as_ref();
    json!({
        "skipped": results.instructions_skipped,
        "buys": i.map(|i| i.plan.buys),
        "instructions_n": i.map(|i| i.instructions_n),
        "instructions_2n": i.map(|i| i.instructions_2n),
        "spread": i.map(|i| i.spread),
        "run": i,
    })
}

/// The durable stores side by side: `stores.sqlite.commit_p50_us`,
/// `stores.postgres.floor_commit_p50_us`, …; both stores always, with
/// `null` for what was not measured.
fn stores(results: &BenchResults) -> Value {
    [StoreKind::Sqlite, StoreKind::Postgres]
        .into_iter()
        .map(|kind| {
            let c = commits(results, kind);
            let commit = c.and_then(|c| measured(&c.commit));
            let floor = c.and_then(|c| c.floor.as_ref()).and_then(measured);
            let load = durable_load(results, kind);
            (
                kind.name().to_owned(),
                json!({
                    "commit_mean_us": commit.map(|s| s.mean_us),
                    "commit_p50_us": commit.map(|s| s.p50_us),
                    "commit_p99_us": commit.map(|s| s.p99_us),
                    "commit_buys_per_s": c.map(|c| c.buys_per_s),
                    "floor_commit_p50_us": floor.map(|s| s.p50_us),
                    "floor_commit_p99_us": floor.map(|s| s.p99_us),
                    "commit_p50_over_floor_commit": commit.zip(floor).map(|(c, f)| c.p50_us / f.p50_us),
                    "durable_buys_per_s": load.map(|l| l.buys_per_s),
                    "durable_buy_p50_us": load.and_then(|l| measured(&l.latency)).map(|s| s.p50_us),
                }),
            )
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// The commits experiment of a durable store, if it ran.
pub fn commits(results: &BenchResults, kind: StoreKind) -> Option<&CommitResult> {
    results.commits.iter().find(|c| c.store == kind.name())
}

/// A distribution that has samples: one with none measured nothing, and
/// its zeros are not figures.
pub const fn measured(s: &Summary) -> Option<&Summary> {
    if s.count > 0 { Some(s) } else { None }
}

/// The p50 of the paced echo over `kind` (the floor a buy is held to), in
/// microseconds; `None` where no paced echo ran.
pub fn paced_echo_p50_us(results: &BenchResults, kind: TransportKind) -> Option<f64> {
    results
        .echo
        .iter()
        .find(|e| e.name == kind.name())
        .and_then(|e| e.paced.as_ref())
        .and_then(measured)
        .map(|p| p.p50_us)
}

/// The p50 of the disk's floor, 4 KiB written and `fdatasync`ed, in
/// microseconds.
pub fn fsync_p50_us(results: &BenchResults) -> Option<f64> {
    results
        .echo
        .iter()
        .find(|e| e.name == super::FSYNC)
        .and_then(|e| measured(&e.round_trip))
        .map(|s| s.p50_us)
}

/// The p50 of the disk's floor paced as the buys are (a pause of the
/// buyers' think time after each sync), in microseconds.
pub fn paced_fsync_p50_us(results: &BenchResults) -> Option<f64> {
    results
        .echo
        .iter()
        .find(|e| e.name == super::FSYNC)
        .and_then(|e| e.paced.as_ref())
        .and_then(measured)
        .map(|s| s.p50_us)
}

/// The p50 of the six-peer buy over `kind` with the books in `store`, in
/// microseconds.
pub fn buy_p50_us(results: &BenchResults, kind: TransportKind, store: StoreKind) -> Option<f64> {
    six_peers(results, kind, store)
        .and_then(|r| measured(&r.latency))
        .map(|s| s.p50_us)
}

/// The headline figures of one transport; `null` where not measured.
fn transport(results: &BenchResults, kind: TransportKind) -> Value {
    let buy = six_peers(results, kind, StoreKind::Mem).and_then(|r| measured(&r.latency));
    let durable = six_peers(results, kind, StoreKind::Sqlite).and_then(|r| measured(&r.latency));
    let load = throughput(results, kind, StoreKind::Mem);
    let durable_load = throughput(results, kind, StoreKind::Sqlite);
    let echo = paced_echo_p50_us(results, kind);
    let hot = hot_floor_us(results, kind);
    let buy_p50 = buy.map(|s| s.p50_us);
    json!({
        "echo_p50_us": hot,
        "echo_p99_us": results.echo.iter().find(|e| e.name == kind.name()).map(|e| e.round_trip.p99_us),
        "paced_echo_p50_us": echo,
        "buy_p50_over_hot_echo": buy_p50.zip(hot).map(|(b, e)| b / e),
        "buy_mean_us": buy.map(|s| s.mean_us),
        "buy_p50_us": buy_p50,
        "buy_p99_us": buy.map(|s| s.p99_us),
        "buy_max_us": buy.map(|s| s.max_us),
        "buy_p50_over_echo": buy_p50.zip(echo).map(|(b, e)| b / e),
        "throughput_buys_per_s": load.map(|r| r.buys_per_s),
        "durable_buy_p50_us": durable.map(|s| s.p50_us),
        "durable_buy_p99_us": durable.map(|s| s.p99_us),
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

/// The load curve of a transport and store: its points that settled (see
/// [`LoadResult::settled`]), fewest buyers first.
pub fn curve(
    results: &BenchResults,
    kind: TransportKind,
    store: StoreKind,
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
    store: StoreKind,
) -> Option<&LoadResult> {
    curve(results, kind, store).max_by(|a, b| a.buys_per_s.total_cmp(&b.buys_per_s))
}

/// The response time a point must keep its p99 under to count as served
/// rather than queued: the knee is the highest throughput that does.
pub const KNEE_P99_US: f64 = 1_000.0;

/// The knee of a transport and store's load curve: its highest throughput
/// with p99 under [`KNEE_P99_US`]; `None` if no point stays under it.
pub fn knee(results: &BenchResults, kind: TransportKind, store: StoreKind) -> Option<&LoadResult> {
    curve(results, kind, store)
        .filter(|r| r.latency.count > 0 && r.latency.p99_us < KNEE_P99_US)
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

/// The load curve and its floors per transport: the knees and highest
/// points with the books in memory, SQLite and PostgreSQL
/// (`capacity.tcp.store_off.knee_buys_per_s`,
/// `capacity.tcp.store_postgres.max_buys_per_s`), the floor with as many
/// connections as the store-off knee has buyers
/// (`capacity.tcp.floor_round_trips_per_s`), and every point. Every
/// transport and store is there, `null` (and an empty curve) where its
/// curve was not run; a knee is also `null` where no point of the curve
/// kept its p99 under [`KNEE_P99_US`].
fn capacity(results: &BenchResults) -> Value {
    let mut out = Map::new();
    for kind in TRANSPORTS {
        let side = |store: StoreKind| {
            let knee = knee(results, kind, store);
            json!({
                "knee_buys_per_s": knee.map(|k| k.buys_per_s),
                "knee_buyers": knee.map(|k| k.scenario.buyers),
                "knee_p99_us": knee.map(|k| k.latency.p99_us),
                "max_buys_per_s": throughput(results, kind, store).map(|k| k.buys_per_s),
                "curve": curve(results, kind, store).map(|p| json!({
                    "buyers": p.scenario.buyers,
                    "buys_per_s": p.buys_per_s,
                    "p50_us": p.latency.p50_us,
                    "p99_us": p.latency.p99_us,
                    "floor_round_trips_per_s": capacity_floor(results, kind.name(), p.scenario.buyers),
                })).collect::<Vec<_>>(),
            })
        };
        let off = knee(results, kind, StoreKind::Mem);
        let floor = off.and_then(|k| capacity_floor(results, kind.name(), k.scenario.buyers));
        let raw = off.and_then(|k| capacity_floor(results, "raw tcp", k.scenario.buyers));
        let entry = json!({
            "store_off": side(StoreKind::Mem),
            "store_on": side(StoreKind::Sqlite),
            "store_postgres": side(StoreKind::Postgres),
            "floor_round_trips_per_s": floor,
            "raw_tcp_floor_round_trips_per_s": raw,
            "knee_over_floor": off.zip(floor).map(|(k, f)| k.buys_per_s / f),
        });
        out.insert(kind.name().into(), entry);
    }
    out.into()
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
