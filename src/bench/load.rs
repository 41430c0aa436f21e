//! The throughput experiments: many buyers with no think time, closed
//! loop (each has one request out at a time), against one stocked trader;
//! buys answered per second in a window after a warm-up.

use std::{sync::Arc, time::Instant};

use tokio::sync::mpsc;

use bazaar_node::market::LocalMarket;

use super::{
    BenchError,
    results::{LoadResult, Summary},
    scenarios::LoadScenario,
    stock::StockedStore,
};
use bazaar_node::{Event, runtime::Report};

use crate::stats::Latencies;

/// Runs one throughput experiment: warm-up, then the counted window.
///
/// # Errors
/// A [`BenchError`] if the transports cannot start.
pub async fn run(
    scenario: &LoadScenario,
    store: Arc<StockedStore>,
    seed: u64,
) -> Result<LoadResult, BenchError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let market = LocalMarket::start_with(
        scenario.transport,
        scenario.configs(seed),
        Arc::clone(&store) as _,
        seed,
        tx,
    )
    .await
    .map_err(|source| BenchError::Transport {
        scenario: scenario.name.clone(),
        source,
    })?;
    let warmup_end = tokio::time::Instant::now() + scenario.warmup;
    drain_until(&mut rx, warmup_end, |_| {}).await;

    let (frames, commits, start) = (market.frames_sent(), store.commits(), Instant::now());
    let mut latencies = Latencies::default();
    let mut filled = 0u64;
    drain_until(
        &mut rx,
        tokio::time::Instant::from_std(start + scenario.window),
        |r| {
            if let Event::Answered {
                filled: units,
                latency,
                ..
            } = r.event
            {
                latencies.record(latency);
                filled += u64::from(units > 0);
            }
        },
    )
    .await;
    let secs = start.elapsed().as_secs_f64();
    let frames = market.frames_sent().saturating_sub(frames);
    let commits = store.commits().saturating_sub(commits);
    market.stop().await;

    let buys = latencies.count();
    Ok(LoadResult {
        scenario: scenario.clone(),
        buys_per_s: buys as f64 / secs,
        filled_per_s: filled as f64 / secs,
        latency: Summary::from(&latencies),
        frames_per_buy: frames as f64 / (buys.max(1) as f64),
        commits_per_s: commits as f64 / secs,
    })
}

/// Hands every report to `each` until `until`.
async fn drain_until(
    rx: &mut mpsc::UnboundedReceiver<Report>,
    until: tokio::time::Instant,
    mut each: impl FnMut(&Report),
) {
    loop {
        tokio::select! {
            report = rx.recv() => match report {
                Some(report) => each(&report),
                None => return,
            },
            () = tokio::time::sleep_until(until) => return,
        }
    }
}
