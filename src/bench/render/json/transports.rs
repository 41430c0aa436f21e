//! The headline figures per transport (`transports.tcp.buy_p50_us`, …) and
//! per market size (`peers.96.buy_p99_us`).

use bazaar_node::net::TransportKind;
use serde_json::{Map, Value, json};

use crate::{
    bench::{
        analysis::{
            floors::{hot_echo_p50_us, hot_echo_p99_us, paced_echo_p50_us},
            latency::{group, six_peer_buys},
            load::throughput,
            ratio,
        },
        experiments::BenchResults,
        plan::Group,
    },
    books::BooksKind,
};

/// Every transport's headline figures, by its name.
pub fn transports(results: &BenchResults) -> Value {
    super::per_transport(|kind| transport(results, kind))
}

/// The headline figures of one transport; `null` where not measured.
fn transport(results: &BenchResults, kind: TransportKind) -> Value {
    let buy = six_peer_buys(results, kind, BooksKind::Mem);
    let durable = six_peer_buys(results, kind, BooksKind::Sqlite);
    let load = throughput(results, kind, BooksKind::Mem);
    let durable_load = throughput(results, kind, BooksKind::Sqlite);
    let echo = paced_echo_p50_us(results, kind);
    let hot = hot_echo_p50_us(results, kind);
    let buy_p50 = buy.map(|s| s.p50_us);
    json!({
        "echo_p50_us": hot,
        "echo_p99_us": hot_echo_p99_us(results, kind),
        "paced_echo_p50_us": echo,
        "buy_p50_over_hot_echo": ratio(buy_p50, hot),
        "buy_mean_us": buy.map(|s| s.mean_us),
        "buy_p50_us": buy_p50,
        "buy_p99_us": buy.map(|s| s.p99_us),
        "buy_max_us": buy.map(|s| s.max_us),
        "buy_p50_over_echo": ratio(buy_p50, echo),
        "throughput_buys_per_s": load.map(|r| r.buys_per_s),
        "durable_buy_p50_us": durable.map(|s| s.p50_us),
        "durable_buy_p99_us": durable.map(|s| s.p99_us),
        "durable_throughput_buys_per_s": durable_load.map(|r| r.buys_per_s),
    })
}

/// Every market of "more peers", by its number of peers.
pub fn peers(results: &BenchResults) -> Value {
    group(results, Group::Peers)
        .map(|r| {
            let buys = r.latency.measured();
            let figures = json!({
                "buy_mean_us": buys.map(|s| s.mean_us),
                "buy_p50_us": buys.map(|s| s.p50_us),
                "buy_p99_us": buys.map(|s| s.p99_us),
                "buy_max_us": buys.map(|s| s.max_us),
                "complete": r.complete,
            });
            (r.scenario.peers.to_string(), figures)
        })
        .collect::<Map<String, Value>>()
        .into()
}
