//! The latency experiments: buyers making sequential requests while the
//! trader serves, is killed, or resigns; every reply's response time, and
//! what each election cost the buyers.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_protocol::PeerId;
use tokio::sync::mpsc;

use bazaar_node::market::LocalMarket;

use super::{
    BenchError,
    results::{Election, LatencyResult, Sample, Summary},
    scenarios::{Disruption, LatencyScenario},
    stock::StockedStore,
};
use bazaar_node::{Event, runtime::Report};

use crate::stats::Latencies;

/// An election under way: what started it and when.
struct Pending {
    cause: &'static str,
    old: PeerId,
    at: Instant,
    elected: Option<(Instant, PeerId)>,
}

/// What the experiment has seen so far.
struct Watch {
    started: Instant,
    requests: u64,
    answered: BTreeMap<PeerId, u64>,
    latencies: Latencies,
    samples: Vec<Sample>,
    filled: u64,
    trader: Option<PeerId>,
    pending: Option<Pending>,
    elections: Vec<Election>,
    since_kill: u64,
}

/// What the loop must do to the market after a report.
enum Move {
    Nothing,
    /// Crash the trader.
    Crash(PeerId),
    /// Bring the crashed trader back.
    Restart(PeerId),
}

/// Runs one latency experiment to the end (every buyer made its
/// requests) or to `limit`.
///
/// # Errors
/// A [`BenchError`] if the transports or the store cannot start.
pub async fn run(
    scenario: &LatencyScenario,
    store: Arc<StockedStore>,
    seed: u64,
    limit: Duration,
) -> Result<LatencyResult, BenchError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut market =
        LocalMarket::start_with(scenario.transport, scenario.configs(seed), store, seed, tx)
            .await
            .map_err(|source| BenchError::Transport {
                scenario: scenario.name.clone(),
                source,
            })?;
    let mut watch = Watch {
        started: Instant::now(),
        requests: scenario.requests,
        answered: scenario.buyer_ids().into_iter().map(|b| (b, 0)).collect(),
        latencies: Latencies::default(),
        samples: Vec::new(),
        filled: 0,
        trader: None,
        pending: None,
        elections: Vec::new(),
        since_kill: 0,
    };
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
        match watch.observe(&report, scenario.disruption) {
            Move::Nothing => {}
            Move::Crash(id) => market.crash(id).await,
            Move::Restart(id) => {
                market
                    .restart(id)
                    .await
                    .map_err(|source| BenchError::Transport {
                        scenario: scenario.name.clone(),
                        source,
                    })?;
                watch.pending = Some(Pending {
                    cause: "returned",
                    old: watch.trader.unwrap_or(id),
                    at: Instant::now(),
                    elected: None,
                });
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

impl Watch {
    fn done(&self) -> bool {
        self.answered.values().all(|&n| n >= self.requests)
    }

    fn observe(&mut self, report: &Report, disruption: Disruption) -> Move {
        let now = Instant::now();
        match &report.event {
            Event::Coordinator { id, .. } => {
                let previous = self.trader.replace(*id);
                match &mut self.pending {
                    Some(p) if p.elected.is_none() && *id != p.old => {
                        p.elected = Some((now, *id));
                    }
                    None if previous.is_some_and(|p| p != *id) => {
                        // Nobody asked for this one: a timeout somewhere.
                        self.pending = Some(Pending {
                            cause: "unplanned",
                            old: previous.unwrap_or(*id),
                            at: now,
                            elected: Some((now, *id)),
                        });
                    }
                    _ => {}
                }
                Move::Nothing
            }
            Event::SteppedDown { resigned: true, .. } if self.pending.is_none() => {
                self.pending = Some(Pending {
                    cause: "resigned",
                    old: report.peer,
                    at: now,
                    elected: None,
                });
                Move::Nothing
            }
            Event::Answered {
                filled, latency, ..
            } => self.on_answer(report.peer, *filled > 0, *latency, now, disruption),
            _ => Move::Nothing,
        }
    }

    fn on_answer(
        &mut self,
        buyer: PeerId,
        filled: bool,
        latency: Duration,
        now: Instant,
        disruption: Disruption,
    ) -> Move {
        let Some(count) = self.answered.get_mut(&buyer) else {
            return Move::Nothing;
        };
        *count += 1;
        if *count <= self.requests {
            self.latencies.record(latency);
            self.filled += u64::from(filled);
            self.samples.push(Sample {
                at_s: now.duration_since(self.started).as_secs_f64(),
                latency_us: latency.as_secs_f64() * 1e6,
            });
        }
        if let Some(p) = self.pending.take_if(|p| p.elected.is_some()) {
            let (elected_at, new) = p.elected.expect("taken only once elected");
            let ms = |t: Instant| t.duration_since(p.at).as_secs_f64() * 1e3;
            self.elections.push(Election {
                cause: p.cause.into(),
                old: p.old.0,
                new: new.0,
                at_s: p.at.duration_since(self.started).as_secs_f64(),
                elected_ms: ms(elected_at),
                first_reply_ms: ms(now),
            });
            if p.cause == "killed" {
                return Move::Restart(p.old);
            }
        }
        self.since_kill += 1;
        match (disruption, self.trader) {
            (Disruption::Kill { every }, Some(trader))
                if self.pending.is_none() && self.since_kill >= every && !self.done() =>
            {
                self.since_kill = 0;
                self.pending = Some(Pending {
                    cause: "killed",
                    old: trader,
                    at: now,
                    elected: None,
                });
                Move::Crash(trader)
            }
            _ => Move::Nothing,
        }
    }
}
