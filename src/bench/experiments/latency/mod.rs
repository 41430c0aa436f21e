//! The latency experiments: buyers making sequential requests while the
//! trader serves, is killed, or resigns; every reply's response time, and
//! what each election cost the buyers.

mod watch;

use std::{sync::Arc, time::Duration};

use serde::Serialize;
use tokio::sync::mpsc;

use bazaar_node::market::LocalMarket;

use bazaar_protocol::PeerId;

use super::{
    ExperimentError, Setup, Summary, peers,
    stock::StockedStore,
    stores::{self, InProcess},
};
use crate::{bench::plan::LatencyScenario, books::BooksKind};
use watch::{Move, Watch};

/// One buyer's reply, for the latency-over-time plot.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// When the reply arrived, seconds from the market's start.
    pub at_s: f64,
    /// The request's response time, in microseconds.
    pub latency_us: f64,
}

/// What started an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// The trader was crashed.
    Killed,
    /// The trader stepped down after its sales.
    Resigned,
    /// A crashed trader came back and, as the highest id, took over.
    Returned,
    /// Nobody asked for it: a timeout somewhere.
    Unplanned,
}

impl Cause {
    /// Every cause, in the order the plots mark them.
    pub const ALL: [Self; 4] = [
        Self::Killed,
        Self::Resigned,
        Self::Returned,
        Self::Unplanned,
    ];

    /// How the report and the JSON name it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Killed => "killed",
            Self::Resigned => "resigned",
            Self::Returned => "returned",
            Self::Unplanned => "unplanned",
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an election did to the buyers: from the trader's death (or its
/// resignation, or a crashed trader's return) to the first reply.
#[derive(Debug, Clone, Serialize)]
pub struct Election {
    /// What caused it.
    pub cause: Cause,
    /// The trader before.
    pub old: u32,
    /// The trader after.
    pub new: u32,
    /// When it began, seconds from the market's start.
    pub at_s: f64,
    /// Until the new trader announced itself, in milliseconds.
    pub elected_ms: f64,
    /// Until a buyer got its first reply from the new trader, in
    /// milliseconds: the failover time.
    pub first_reply_ms: f64,
}

/// The outcome of one latency experiment.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyResult {
    /// What was run.
    pub scenario: LatencyScenario,
    /// Every buyer's response times together.
    pub latency: Summary,
    /// Requests answered with at least one unit.
    pub filled: u64,
    /// Whether every buyer made all its requests before the time limit.
    pub complete: bool,
    /// Wall time, seconds.
    pub elapsed_s: f64,
    /// Frames sent by all peers.
    pub frames: u64,
    /// The elections after the first.
    pub elections: Vec<Election>,
    /// Every reply in order, kept only where the report plots them.
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

/// Every latency experiment of the plan, in order, each with a fresh
/// store of its kind in the output folder.
///
/// # Errors
/// An [`ExperimentError`] if an experiment's transports or store cannot
/// start.
pub async fn run(setup: &Setup<'_>) -> Result<Vec<LatencyResult>, ExperimentError> {
    let (seed, limit) = (setup.seed, setup.plan.latency_limit);
    stores::each(
        setup,
        "latency",
        &setup.plan.latency,
        |s, store| async move { measure(&s, store, seed, limit).await },
    )
    .await
}

impl InProcess for LatencyScenario {
    fn books(&self) -> (&str, BooksKind, Vec<PeerId>) {
        let sellers = if self.stocked {
            self.seller_ids()
        } else {
            Vec::new()
        };
        (&self.name, self.store, sellers)
    }
}

/// Runs one latency experiment to the end (every buyer made its
/// requests) or to `limit`.
///
/// # Errors
/// An [`ExperimentError`] if the transports cannot start.
pub async fn measure(
    scenario: &LatencyScenario,
    store: Arc<StockedStore>,
    seed: u64,
    limit: Duration,
) -> Result<LatencyResult, ExperimentError> {
    let failed = |source| ExperimentError::Transport {
        scenario: scenario.name.clone(),
        source,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let configs = peers::latency(scenario, seed);
    let mut market = LocalMarket::start_with(scenario.transport, configs, store, seed, tx)
        .await
        .map_err(failed)?;
    let mut watch = Watch::new(scenario);
    let deadline = tokio::time::Instant::now() + limit;
    let complete = loop {
        if watch.done() {
            break true;
        }
        let report = tokio::select! {
            report = rx.recv() => report,
            () = tokio::time::sleep_until(deadline) => break false,
        };
        let Some(report) = report else { break false };
        match watch.observe(&report) {
            Move::Nothing => {}
            Move::Crash(id) => market.crash(id).await,
            Move::Restart(id) => {
                market.restart(id).await.map_err(failed)?;
                watch.returned(id);
            }
        }
    };
    let elapsed_s = watch.started.elapsed().as_secs_f64();
    let frames = market.frames_sent();
    market.stop().await;
    Ok(LatencyResult {
        scenario: scenario.clone(),
        latency: Summary::from(&watch.latencies),
        filled: watch.filled,
        complete,
        elapsed_s,
        frames,
        elections: watch.elections,
        samples: watch.samples,
    })
}
