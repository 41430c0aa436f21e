//! What the page shows, kept up to date from what the market reports: each
//! peer, the elections, the sales, the last minute. Every line of text is
//! the node's story ([`crate::story`]), carried by an [`Observation`]; this
//! file only arranges it.

use std::{
    collections::{BTreeMap, VecDeque},
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{
    observation::Observation,
    window::{ChartPoint, LastMinute, quantile_ms},
};

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
pub struct TimelineEntry {
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
    pub elections: Vec<TimelineEntry>,
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
    elections: VecDeque<TimelineEntry>,
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

    /// Takes in what peer `peer` reported, observed at `now` (and at
    /// `wall_ms` on the wall clock of whoever saw it first).
    pub fn observe(&mut self, now: Instant, wall_ms: u64, peer: u32, seen: &Observation) {
        let oldest = self.oldest_unsent_ms.get_or_insert(wall_ms);
        *oldest = (*oldest).min(wall_ms);
        let at = now.saturating_duration_since(self.started);
        match seen {
            Observation::Elected { epoch, line } => self.announce(peer, *epoch, at, line),
            Observation::Follows { trader, epoch } => {
                self.peer(peer).follows = Some((*trader, *epoch));
            }
            Observation::SteppedDown if self.trader.map(|(t, _)| t) == Some(peer) => {
                self.trader = None;
            }
            // The first election started by a peer that knew the current
            // trader's epoch is why the next one is elected; a late start-up
            // from before that epoch explains nothing.
            Observation::ElectionStarted { epoch, line }
                if self.pending_reason.is_none()
                    && self.trader.is_none_or(|(_, now)| *epoch >= now) =>
            {
                self.pending_reason = Some(line.clone());
            }
            Observation::Sold { line } => {
                self.minute.sale(at.as_secs());
                let sale = TickerLine {
                    at_s: at.as_secs_f64(),
                    text: line.clone(),
                };
                push_newest(&mut self.ticker, TICKER_LINES, sale);
            }
            Observation::Answered { .. } => {
                let latency = seen.latency().unwrap_or_default();
                self.minute.answered(at.as_secs(), latency);
                let answered = &mut self.peer(peer).answered;
                if answered.len() >= PEER_SAMPLES {
                    answered.pop_front();
                }
                answered.push_back((now, latency));
            }
            _ => {}
        }
    }

    /// A peer is elected: the timeline gets an epoch, with the line that
    /// started its election.
    fn announce(&mut self, id: u32, epoch: u64, at: Duration, announcement: &str) {
        self.trader = Some((id, epoch));
        let state = self.peer(id);
        state.follows = Some((id, epoch));
        state.alive = true;
        let election = TimelineEntry {
            epoch,
            trader: id,
            at_s: at.as_secs_f64(),
            announcement: announcement.to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> (MarketView, Instant) {
        let start = Instant::now();
        let roles: Vec<(u32, String)> = (1..=6).map(|id| (id, "buyer".to_owned())).collect();
        (MarketView::new("demo", start, &roles), start)
    }

    fn elected(epoch: u64) -> Observation {
        Observation::Elected {
            epoch,
            line: format!("elected at {epoch}"),
        }
    }

    fn started(epoch: u64, line: &str) -> Observation {
        Observation::ElectionStarted {
            epoch,
            line: line.into(),
        }
    }

    #[test]
    fn each_epoch_says_why_its_election_began() {
        let (mut view, now) = market();
        view.observe(now, 1, 6, &elected(1));
        view.observe(now, 2, 5, &started(1, "trader 6 is unreachable"));
        view.observe(now, 3, 4, &started(1, "a later line"));
        view.observe(now, 4, 5, &elected(2));
        let snapshot = view.take_snapshot(now, 5, Controls::default());
        assert_eq!(snapshot.trader, Some((5, 2)));
        assert_eq!(
            snapshot.elections[0].reason.as_deref(),
            Some("trader 6 is unreachable")
        );
    }

    #[test]
    fn a_start_up_from_before_the_trader_explains_nothing() {
        let (mut view, now) = market();
        view.observe(now, 1, 6, &elected(3));
        view.observe(now, 2, 1, &started(0, "it has just started"));
        view.observe(now, 3, 5, &elected(4));
        let snapshot = view.take_snapshot(now, 4, Controls::default());
        assert_eq!(snapshot.elections[0].reason, None);
    }

    #[test]
    fn a_dead_trader_trades_no_more() {
        let (mut view, now) = market();
        view.observe(now, 1, 6, &elected(1));
        view.set_alive(6, false, 2);
        let snapshot = view.take_snapshot(now, 3, Controls::default());
        assert_eq!(snapshot.trader, None);
        let six = &snapshot.peers[5];
        assert_eq!((six.alive, six.role.as_str()), (false, "buyer"));
    }

    #[test]
    fn the_lag_counts_from_the_oldest_event_not_yet_sent() {
        let (mut view, now) = market();
        assert!(!view.changed());
        view.observe(now, 20, 1, &Observation::Answered { latency_us: 300 });
        view.observe(now, 10, 2, &Observation::Answered { latency_us: 300 });
        let snapshot = view.take_snapshot(now, 30, Controls::default());
        assert_eq!(snapshot.oldest_event_ms, Some(10));
        assert!(!view.changed());
    }
}
