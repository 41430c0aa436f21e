//! What a latency experiment sees of its market, report by report: the
//! buyers' replies, the traders, the elections and what each cost; and
//! when to kill the trader or bring it back.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use bazaar_node::{Event, runtime::Report};
use bazaar_protocol::PeerId;

use super::{Cause, Election, Sample};
use crate::{
    bench::plan::{Disruption, LatencyScenario},
    stats::Latencies,
};

/// An election under way: what started it and when.
struct Pending {
    cause: Cause,
    old: PeerId,
    at: Instant,
    elected: Option<(Instant, PeerId)>,
}

/// One buyer's reply.
struct Reply {
    buyer: PeerId,
    filled: bool,
    latency: Duration,
}

/// What the experiment has seen so far.
pub struct Watch {
    /// When the market started.
    pub started: Instant,
    requests: u64,
    disruption: Disruption,
    answered: BTreeMap<PeerId, u64>,
    /// Every counted response time.
    pub latencies: Latencies,
    /// Every counted reply, in order.
    pub samples: Vec<Sample>,
    /// Counted replies with at least one unit.
    pub filled: u64,
    trader: Option<PeerId>,
    pending: Option<Pending>,
    /// The elections after the first, each once a buyer was answered.
    pub elections: Vec<Election>,
    since_kill: u64,
}

/// What the loop must do to the market after a report.
pub enum Move {
    /// Nothing.
    Nothing,
    /// Crash the trader.
    Crash(PeerId),
    /// Bring the crashed trader back.
    Restart(PeerId),
}

impl Watch {
    /// Nothing seen yet of a market of `scenario`, started now.
    pub fn new(scenario: &LatencyScenario) -> Self {
        Self {
            started: Instant::now(),
            requests: scenario.requests,
            disruption: scenario.disruption,
            answered: scenario.buyer_ids().into_iter().map(|b| (b, 0)).collect(),
            latencies: Latencies::default(),
            samples: Vec::new(),
            filled: 0,
            trader: None,
            pending: None,
            elections: Vec::new(),
            since_kill: 0,
        }
    }

    /// Whether every buyer has made all its requests.
    pub fn done(&self) -> bool {
        self.answered.values().all(|&n| n >= self.requests)
    }

    /// Takes in one report; says what to do to the market.
    pub fn observe(&mut self, report: &Report) -> Move {
        let now = Instant::now();
        match &report.event {
            Event::Coordinator { id, .. } => {
                self.on_coordinator(*id, now);
                Move::Nothing
            }
            Event::SteppedDown { resigned: true, .. } if self.pending.is_none() => {
                self.pending = Some(Pending {
                    cause: Cause::Resigned,
                    old: report.peer,
                    at: now,
                    elected: None,
                });
                Move::Nothing
            }
            Event::Answered {
                filled, latency, ..
            } => {
                let reply = Reply {
                    buyer: report.peer,
                    filled: *filled > 0,
                    latency: *latency,
                };
                self.on_reply(&reply, now)
            }
            _ => Move::Nothing,
        }
    }

    /// The killed trader `id` was brought back: its return is an election.
    pub fn returned(&mut self, id: PeerId) {
        self.pending = Some(Pending {
            cause: Cause::Returned,
            old: self.trader.unwrap_or(id),
            at: Instant::now(),
            elected: None,
        });
    }

    fn on_coordinator(&mut self, id: PeerId, now: Instant) {
        let previous = self.trader.replace(id);
        match &mut self.pending {
            Some(p) if p.elected.is_none() && id != p.old => {
                p.elected = Some((now, id));
            }
            None if previous.is_some_and(|p| p != id) => {
                // Nobody asked for this one: a timeout somewhere.
                self.pending = Some(Pending {
                    cause: Cause::Unplanned,
                    old: previous.unwrap_or(id),
                    at: now,
                    elected: Some((now, id)),
                });
            }
            _ => {}
        }
    }

    fn on_reply(&mut self, reply: &Reply, now: Instant) -> Move {
        let Some(count) = self.answered.get_mut(&reply.buyer) else {
            return Move::Nothing;
        };
        *count += 1;
        if *count <= self.requests {
            self.latencies.record(reply.latency);
            self.filled += u64::from(reply.filled);
            self.samples.push(Sample {
                at_s: now.duration_since(self.started).as_secs_f64(),
                latency_us: reply.latency.as_secs_f64() * 1e6,
            });
        }
        if let Some(killed) = self.close_election(now) {
            return Move::Restart(killed);
        }
        self.since_kill += 1;
        match (self.disruption, self.trader) {
            (Disruption::Kill { every }, Some(trader))
                if self.pending.is_none() && self.since_kill >= every && !self.done() =>
            {
                self.since_kill = 0;
                self.pending = Some(Pending {
                    cause: Cause::Killed,
                    old: trader,
                    at: now,
                    elected: None,
                });
                Move::Crash(trader)
            }
            _ => Move::Nothing,
        }
    }

    /// A reply at `now` ends the election under way if a trader was
    /// elected: records it, and returns the killed trader to bring back
    /// if it was a kill.
    fn close_election(&mut self, now: Instant) -> Option<PeerId> {
        let p = self.pending.take_if(|p| p.elected.is_some())?;
        let (elected_at, new) = p.elected.expect("taken only once elected");
        let ms = |t: Instant| t.duration_since(p.at).as_secs_f64() * 1e3;
        self.elections.push(Election {
            cause: p.cause,
            old: p.old.0,
            new: new.0,
            at_s: p.at.duration_since(self.started).as_secs_f64(),
            elected_ms: ms(elected_at),
            first_reply_ms: ms(now),
        });
        (p.cause == Cause::Killed).then_some(p.old)
    }
}
