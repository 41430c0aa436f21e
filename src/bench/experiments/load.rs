//! The load curve's points: many buyers with no think time, closed loop
//! (each has one request out at a time), against one stocked trader; buys
//! answered per second in a window after every buyer has been answered
//! once and a warm-up.

use std::{
    collections::BTreeSet,
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_protocol::PeerId;
use serde::Serialize;
use tokio::sync::mpsc;

use bazaar_node::{Event, market::LocalMarket, runtime::Report};

use super::{
    ExperimentError, Setup, Summary, peers,
    stock::StockedStore,
    stores::{self, InProcess},
};
use crate::{bench::plan::LoadScenario, books::BooksKind, stats::Latencies};

/// How long the buyers may take to be answered once before the window
/// counts anyway (and shows how few buys came).
const PATIENCE: Duration = Duration::from_secs(30);

/// The outcome of one throughput experiment.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// What was run.
    pub scenario: LoadScenario,
    /// Buys answered per second in the window.
    pub buys_per_s: f64,
    /// Buys answered with at least one unit, per second.
    pub filled_per_s: f64,
    /// Response times of the window's buys.
    pub latency: Summary,
    /// Frames sent per buy in the window, all peers; `None` if no buy
    /// was answered.
    pub frames_per_buy: Option<f64>,
    /// Batches the trader committed per second (store on: fsyncs/s).
    pub commits_per_s: f64,
    /// Whether every buyer had been answered once before the window (the
    /// election over, every connection up) within the bench's patience.
    pub settled: bool,
}

/// Every point of the plan's load curves, in order, each with a fresh
/// store of its kind in the output folder.
///
/// # Errors
/// An [`ExperimentError`] if a point's transports or store cannot start.
pub async fn run(setup: &Setup<'_>) -> Result<Vec<LoadResult>, ExperimentError> {
    let seed = setup.seed;
    stores::each(setup, "load", &setup.plan.load, |s, store| async move {
        measure(&s, store, seed).await
    })
    .await
}

impl InProcess for LoadScenario {
    /// Always stocked: buyers under load are filled, not told "out of
    /// stock".
    fn books(&self) -> (&str, BooksKind, Vec<PeerId>) {
        (&self.name, self.store, self.seller_ids())
    }
}

/// Runs one throughput experiment: warm-up, then the counted window.
///
/// # Errors
/// An [`ExperimentError`] if the transports cannot start.
pub async fn measure(
    scenario: &LoadScenario,
    store: Arc<StockedStore>,
    seed: u64,
) -> Result<LoadResult, ExperimentError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let configs = peers::load(scenario, seed);
    let books = Arc::clone(&store) as _;
    let market = LocalMarket::start_with(scenario.transport, configs, books, seed, tx)
        .await
        .map_err(|source| ExperimentError::Transport {
            scenario: scenario.name.clone(),
            source,
        })?;
    // Warm: every buyer answered once (the election over, every
    // connection up, which takes long with many quic peers), then the
    // warm-up on top.
    let mut waiting: BTreeSet<PeerId> = (1..=scenario.buyers).map(PeerId).collect();
    let patience = tokio::time::Instant::now() + PATIENCE;
    drain_until(&mut rx, patience, |r| {
        if matches!(r.event, Event::Answered { .. }) {
            waiting.remove(&r.peer);
        }
        waiting.is_empty()
    })
    .await;
    let settled = waiting.is_empty();
    let warmup_end = tokio::time::Instant::now() + scenario.warmup;
    drain_until(&mut rx, warmup_end, |_| false).await;

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
            false
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
        frames_per_buy: (buys > 0).then(|| frames as f64 / buys as f64),
        commits_per_s: commits as f64 / secs,
        settled,
    })
}

/// Hands every report to `each` until `until`, or until `each` says it has
/// seen enough.
async fn drain_until(
    rx: &mut mpsc::UnboundedReceiver<Report>,
    until: tokio::time::Instant,
    mut each: impl FnMut(&Report) -> bool,
) {
    loop {
        tokio::select! {
            report = rx.recv() => match report {
                Some(report) if each(&report) => return,
                Some(_) => {}
                None => return,
            },
            () = tokio::time::sleep_until(until) => return,
        }
    }
}
