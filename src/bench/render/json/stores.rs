//! The durable stores side by side: `stores.sqlite.commit_p50_us`,
//! `stores.postgres.floor_commit_p50_us`, …

use serde_json::{Map, Value, json};

use crate::{
    bench::{
        analysis::{
            load::durable_load,
            ratio,
            stores::{commit, commits, floor_commit},
        },
        experiments::BenchResults,
    },
    books::BooksKind,
};

/// Both durable stores always, with `null` for what was not measured.
pub fn stores(results: &BenchResults) -> Value {
    [BooksKind::Sqlite, BooksKind::Postgres]
        .into_iter()
        .map(|kind| (kind.name().to_owned(), store(results, kind)))
        .collect::<Map<String, Value>>()
        .into()
}

/// One store's commits, floor commit and durable throughput.
fn store(results: &BenchResults, kind: BooksKind) -> Value {
    let c = commits(results, kind);
    let commit = commit(results, kind);
    let floor = floor_commit(results, kind);
    let load = durable_load(results, kind);
    json!({
        "commit_mean_us": commit.map(|s| s.mean_us),
        "commit_p50_us": commit.map(|s| s.p50_us),
        "commit_p99_us": commit.map(|s| s.p99_us),
        "commit_buys_per_s": c.map(|c| c.buys_per_s),
        "floor_commit_p50_us": floor.map(|s| s.p50_us),
        "floor_commit_p99_us": floor.map(|s| s.p99_us),
        "commit_p50_over_floor_commit": ratio(commit.map(|s| s.p50_us), floor.map(|s| s.p50_us)),
        "durable_buys_per_s": load.map(|l| l.buys_per_s),
        "durable_buy_p50_us": load.and_then(|l| l.latency.measured()).map(|s| s.p50_us),
    })
}
