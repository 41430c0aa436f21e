//! What the page shows, kept up to date from what the market reports: each
//! peer, the elections, the sales, the last minute. Every line of text is
//! the node's story ([`crate::story`]); this file only arranges it.

use std::{
    collections::{BTreeMap, VecDeque},
    time::{Duration, Instant},
};

use bazaar_node::{Event, runtime::Report};
use serde::Serialize;

use super::window::{ChartPoint, LastMinute, quantile_ms};
use crate::story;

/// Sales shown in the ticker, newest first.
const TICKER_LINES: usize = 30;
/// Elections shown in the timeline, newest first.
const ELECTIONS_SHOWN: usize = 30;
/// A peer's buys/s and p50 are over this last stretch.
const PEER_WINDOW: Duration = Duration::from_secs(5);
/// Response times kept per peer for its p50 at most.
const PEER_SAMPLES: usize = 4_096;

/// One peer, as its row shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerRow {
    /// Its id.
    pub id: u32,
    /// `trader`, or its role in the market (`buyer`, `seller`, …).
    pub role: String,
    /// Whether it runs.
    pub alive: bool,
    /// The trader it follows (or is).
    pub trader: Option<u32>,
    /// That trader's epoch.
    pub epoch: Option<u64>,
    /// Its buys answered per second, over the last few seconds.
    pub buys_per_s: f64,
    /// Its median response time over the last few seconds, in ms.
    pub p50_ms: Option<f64>,
}

/// One epoch of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Election {
    /// The epoch.
    pub epoch: u64,
    /// The peer elected.
    pub trader: u32,
    /// Seconds since the start, when it was announced.
    pub at_s: f64,
    /// Its announcement, in the lab's words.
    pub announcement: String,
    /// The line of the peer that started the election: why.
    pub reason: Option<String>,
}

/// One sale of the ticker.
#[derive(Debug, Clone, Serialize)]
pub struct TickerLine {
    /// Seconds since the start.
    pub at_s: f64,
    /// The trader's lab line.
    pub text: String,
}

/// The whole page's state, as `/state` serves it and the page receives it.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// `demo` or `up`.
    pub mode: &'static str,
    /// Whether the controls are on (`--web-control`).
    pub controls: bool,
    /// Whether the market can be split in two (the demo over mem).
    pub can_partition: bool,
    /// The two sides while the market is split.
    pub partition: Option<[Vec<u32>; 2]>,
    /// The trader and its epoch, if any.
    pub trader: Option<(u32, u64)>,
    /// Every peer, by id.
    pub peers: Vec<PeerRow>,
    /// Newest first.
    pub elections: Vec<Election>,
    /// Newest first.
    pub ticker: Vec<TickerLine>,
    /// The last minute, oldest first.
    pub chart: Vec<ChartPoint>,
    /// Seconds since the start.
    pub at_s: f64,
    /// Wall-clock ms (Unix) when the oldest event not yet on the page was
    /// observed: the page's lag is its receive time minus this.
    pub oldest_event_ms: Option<u64>,
    /// Wall-clock ms (Unix) when this snapshot was made.
    pub made_ms: u64,
}

/// What is known of one peer.
#[derive(Debug, Default)]
struct PeerState {
    role: String,
    alive: bool,
    follows: Option<(u32, u64)>,
    answered: VecDeque<(Instant, Duration)>,
}

/// The market as the page shows it. Time comes in as arguments.
#[derive(Debug)]
pub struct MarketView {
    mode: &'static str,
    started: Instant,
    peers: BTreeMap<u32, PeerState>,
    trader: Option<(u32, u64)>,
    elections: VecDeque<Election>,
    /// The first election line since the last announcement.
    pending_reason: Option<String>,
    ticker: VecDeque<TickerLine>,
    minute: LastMinute,
    partition: Option<[Vec<u32>; 2]>,
    oldest_unsent_ms: Option<u64>,
}

impl MarketView {
    /// A view of the peers `roles` (id and role name), all alive, started
    /// at `started`; `mode` says which command serves it.
    pub fn new(mode: &'static str, started: Instant, roles: &[(u32, String)]) -> Self {
        let peers = roles
            .iter()
            .map(|(id, role)| {
                let state = PeerState {
                    role: role.clone(),
                    alive: true,
                    ..PeerState::default()
                };
                (*id, state)
            })
            .collect();
        Self {
            mode,
            started,
            peers,
            trader: None,
            elections: VecDeque::new(),
            pending_reason: None,
            ticker: VecDeque::new(),
            minute: LastMinute::default(),
            partition: None,
            oldest_unsent_ms: None,
        }
    }

    /// Takes in one report, observed at `now` (wall clock `wall_ms`).
    pub fn observe(&mut self, now: Instant, wall_ms: u64, report: &Report) {
        self.oldest_unsent_ms.get_or_insert(wall_ms);
        let peer = report.peer.0;
        let at = now.saturating_duration_since(self.started);
        match &report.event {
            Event::Coordinator { id, epoch } => {
                self.announce(id.0, epoch.0, at, story::line(report).1);
            }
            Event::Following { trader, epoch } => {
                self.peer(peer).follows = Some((trader.0, epoch.0));
            }
            Event::SteppedDown { .. } if self.trader.map(|(t, _)| t) == Some(peer) => {
                self.trader = None;
            }
            // The first election started by a peer that knew the current
            // trader's epoch is why the next one is elected; a late start-up
            // from before that epoch explains nothing.
            Event::ElectionStarted { epoch, .. }
                if self.pending_reason.is_none()
                    && self.trader.is_none_or(|(_, now)| epoch.0 >= now) =>
            {
                self.pending_reason = Some(story::line(report).1);
            }
            Event::Sold(_) => {
                self.minute.sale(at.as_secs());
                push_newest(
                    &mut self.ticker,
                    TICKER_LINES,
                    TickerLine {
                        at_s: at.as_secs_f64(),
                        text: story::line(report).1,
                    },
                );
            }
            Event::Answered { latency, .. } => {
                self.minute.answered(at.as_secs(), *latency);
                let answered = &mut self.peer(peer).answered;
                if answered.len() >= PEER_SAMPLES {
                    answered.pop_front();
                }
                answered.push_back((now, *latency));
            }
            _ => {}
        }
    }

    /// A peer is elected: the timeline gets an epoch, with the line that
    /// started its election.
    fn announce(&mut self, id: u32, epoch: u64, at: Duration, announcement: String) {
        self.trader = Some((id, epoch));
        let state = self.peer(id);
        state.follows = Some((id, epoch));
        state.alive = true;
        let election = Election {
            epoch,
            trader: id,
            at_s: at.as_secs_f64(),
            announcement,
            reason: self.pending_reason.take(),
        };
        push_newest(&mut self.elections, ELECTIONS_SHOWN, election);
    }

    /// Peer `id` stopped (crashed, killed) or runs again.
    pub fn set_alive(&mut self, id: u32, alive: bool, wall_ms: u64) {
        self.oldest_unsent_ms.get_or_insert(wall_ms);
        let state = self.peer(id);
        state.alive = alive;
        if !alive {
            state.follows = None;
            state.answered.clear();
            if self.trader.map(|(t, _)| t) == Some(id) {
                self.trader = None;
            }
        }
    }

    /// The market is split in two sides, or healed (`None`).
    pub fn set_partition(&mut self, sides: Option<[Vec<u32>; 2]>, wall_ms: u64) {
        self.oldest_unsent_ms.get_or_insert(wall_ms);
        self.partition = sides;
    }

    /// The trader now, if one trades.
    pub const fn trader(&self) -> Option<(u32, u64)> {
        self.trader
    }

    /// The peers that run now.
    pub fn alive(&self) -> Vec<u32> {
        self.peers
            .iter()
            .filter(|(_, p)| p.alive)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether something happened since the last [`Self::take_snapshot`].
    pub const fn changed(&self) -> bool {
        self.oldest_unsent_ms.is_some()
    }

    /// The page's state at `now`; marks everything as sent.
    pub fn take_snapshot(&mut self, now: Instant, wall_ms: u64, controls: Controls) -> Snapshot {
        let at = now.saturating_duration_since(self.started);
        let trader = self.trader;
        let peers = self
            .peers
            .iter_mut()
            .map(|(id, state)| row(*id, state, trader, now))
            .collect();
        Snapshot {
            mode: self.mode,
            controls: controls.on,
            can_partition: controls.can_partition,
            partition: self.partition.clone(),
            trader,
            peers,
            elections: self.elections.iter().cloned().collect(),
            ticker: self.ticker.iter().cloned().collect(),
            chart: self.minute.points(at.as_secs()),
            at_s: at.as_secs_f64(),
            oldest_event_ms: self.oldest_unsent_ms.take(),
            made_ms: wall_ms,
        }
    }

    fn peer(&mut self, id: u32) -> &mut PeerState {
        self.peers.entry(id).or_insert_with(|| PeerState {
            role: "peer".into(),
            alive: true,
            ..PeerState::default()
        })
    }
}

/// Which controls the page offers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Controls {
    /// `--web-control` was given.
    pub on: bool,
    /// The market can be partitioned.
    pub can_partition: bool,
}

/// A peer's row at `now`, forgetting response times older than the window.
fn row(id: u32, state: &mut PeerState, trader: Option<(u32, u64)>, now: Instant) -> PeerRow {
    while let Some((at, _)) = state.answered.front() {
        if now.saturating_duration_since(*at) <= PEER_WINDOW {
            break;
        }
        state.answered.pop_front();
    }
    let mut latencies: Vec<Duration> = state.answered.iter().map(|(_, l)| *l).collect();
    latencies.sort_unstable();
    let trading = state.alive && trader.map(|(t, _)| t) == Some(id);
    PeerRow {
        id,
        role: if trading {
            "trader".into()
        } else {
            state.role.clone()
        },
        alive: state.alive,
        trader: state.follows.map(|(t, _)| t),
        epoch: state.follows.map(|(_, e)| e),
        buys_per_s: latencies.len() as f64 / PEER_WINDOW.as_secs_f64(),
        p50_ms: quantile_ms(&latencies, 0.5),
    }
}

/// Pushes `item` to the front, keeping at most `cap`.
fn push_newest<T>(list: &mut VecDeque<T>, cap: usize, item: T) {
    list.push_front(item);
    list.truncate(cap);
}
