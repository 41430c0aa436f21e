//! The hub: who is up, who can reach whom, and the seeded faults.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use bazaar_protocol::PeerId;
use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::{
    sync::mpsc::{self, error::TrySendError},
    task::AbortHandle,
    time::Instant,
};

use super::{
    delay::{self, Delayed},
    transport::MemTransport,
};
use crate::{Event, TransportConfig, TransportError, inbox::Inbox, stats::Counters};

/// How long the hub holds each frame before delivering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delay {
    /// Deliver at once (the default).
    #[default]
    None,
    /// Hold every frame this long; order per pair is kept.
    Fixed(Duration),
    /// Hold each frame a duration drawn uniformly from `min..=max` with the
    /// hub's seeded generator; frames may overtake each other.
    Uniform {
        /// Shortest hold.
        min: Duration,
        /// Longest hold.
        max: Duration,
    },
}

/// An in-process network of [`MemTransport`] endpoints with seeded fault
/// injection. Cloning gives another handle to the same network.
#[derive(Clone)]
pub struct Hub {
    state: Arc<Mutex<State>>,
    config: TransportConfig,
}

/// One peer's place in the hub, for its current incarnation.
struct Slot {
    /// Bumped at every (re)start, so handles from an earlier incarnation go dead.
    incarnation: u64,
    alive: bool,
    inbox: Arc<Inbox>,
    events: mpsc::Sender<Event>,
    counters: Arc<Counters>,
    /// Frames on their way under a delay, and the task that delivers them.
    delay_line: Option<(mpsc::UnboundedSender<Delayed>, AbortHandle)>,
}

struct State {
    rng: ChaCha8Rng,
    drop_probability: f64,
    delay: Delay,
    /// Group of each peer named in a partition; unnamed peers share a group.
    groups: BTreeMap<PeerId, usize>,
    peers: BTreeMap<PeerId, Slot>,
    /// (sender, peer) pairs already told that the peer is unreachable, so
    /// each outage is reported once.
    told: BTreeSet<(PeerId, PeerId)>,
}

impl Hub {
    /// A hub whose faults draw from a generator seeded with `seed`, with
    /// default limits and no faults switched on.
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, TransportConfig::default())
    }

    /// A hub with the limits of `config` (frame size, queue and inbox length).
    pub fn with_config(seed: u64, config: TransportConfig) -> Self {
        let state = State {
            rng: ChaCha8Rng::seed_from_u64(seed),
            drop_probability: 0.0,
            delay: Delay::None,
            groups: BTreeMap::new(),
            peers: BTreeMap::new(),
            told: BTreeSet::new(),
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            config,
        }
    }

    /// The endpoint of peer `id`, up from now on. Calling it again for the
    /// same id starts a new incarnation: the previous endpoint goes dead, as after
    /// [`Hub::crash`].
    pub fn endpoint(&self, id: PeerId) -> MemTransport {
        let mut state = self.lock();
        let incarnation = state.peers.get(&id).map_or(0, |slot| slot.incarnation + 1);
        if let Some(old) = state.peers.get_mut(&id) {
            old.kill();
        }
        let inbox = Arc::new(Inbox::new(self.config.inbox_len));
        let counters = Arc::new(Counters::default());
        let slot = Slot {
            incarnation,
            alive: true,
            events: inbox.sender(),
            inbox: Arc::clone(&inbox),
            counters: Arc::clone(&counters),
            delay_line: None,
        };
        state.peers.insert(id, slot);
        state.told.retain(|&(_, peer)| peer != id);
        MemTransport::new(id, incarnation, self.clone(), inbox, counters)
    }

    /// Brings a crashed peer back with an empty inbox; same as
    /// [`Hub::endpoint`].
    pub fn restart(&self, id: PeerId) -> MemTransport {
        self.endpoint(id)
    }

    /// Crashes peer `id`: its endpoint's `recv` returns `None` and its sends
    /// fail; frames queued for it are lost, frames sent to it are dropped and
    /// their senders see [`Event::Unreachable`]. Unknown ids are ignored.
    pub fn crash(&self, id: PeerId) {
        if let Some(slot) = self.lock().peers.get_mut(&id) {
            slot.kill();
        }
    }

    /// Whether peer `id` has a live endpoint.
    pub fn is_up(&self, id: PeerId) -> bool {
        self.lock().peers.get(&id).is_some_and(|slot| slot.alive)
    }

    /// Drops each frame with probability `p` (clamped to 0..=1), drawn from
    /// the seeded generator. Dropped frames are counted in
    /// [`Stats::dropped_fault`](crate::Stats::dropped_fault) of the sender.
    pub fn set_drop_probability(&self, p: f64) {
        self.lock().drop_probability = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    }

    /// Holds frames before delivering them; see [`Delay`].
    pub fn set_delay(&self, delay: Delay) {
        self.lock().delay = delay;
    }

    /// Cuts the network into `groups`: two peers reach each other only if
    /// they are in the same group, or both are in none. Replaces any earlier
    /// partition. Senders across a cut see [`Event::Unreachable`].
    pub fn partition<G: IntoIterator<Item = PeerId>>(&self, groups: impl IntoIterator<Item = G>) {
        let mut state = self.lock();
        state.groups = groups
            .into_iter()
            .enumerate()
            .flat_map(|(group, peers)| peers.into_iter().map(move |peer| (peer, group)))
            .collect();
        state.told.clear();
    }

    /// Removes every partition.
    pub fn heal(&self) {
        let mut state = self.lock();
        state.groups.clear();
        state.told.clear();
    }

    /// Passes one frame through the faults, from the endpoint `from` in its
    /// incarnation number `incarnation`.
    pub(super) fn send(
        &self,
        from: PeerId,
        incarnation: u64,
        to: PeerId,
        frame: Bytes,
    ) -> Result<(), TransportError> {
        self.config.check_frame_len(to, frame.len())?;
        let mut guard = self.lock();
        let state = &mut *guard;
        let sender = match state.peers.get(&from) {
            Some(slot) if slot.alive && slot.incarnation == incarnation => slot,
            _ => return Err(TransportError::Shutdown(from)),
        };
        let Some(dest) = state.peers.get(&to) else {
            return Err(TransportError::UnknownPeer(to));
        };
        if !dest.alive || state.groups.get(&from) != state.groups.get(&to) {
            Counters::add(&sender.counters.dropped_unreachable, 1);
            if state.told.insert((from, to)) {
                // Never wait under the hub's lock: a full inbox loses the report.
                let _ = sender.events.try_send(Event::Unreachable { peer: to });
            }
            return Ok(());
        }
        if state.drop_probability > 0.0 && state.rng.random_bool(state.drop_probability) {
            Counters::add(&sender.counters.dropped_fault, 1);
            return Ok(());
        }
        let Some(hold) = draw_delay(&state.delay, &mut state.rng) else {
            match dest.events.try_send(Event::Frame { from, frame }) {
                Ok(()) => {
                    Counters::add(&sender.counters.sent, 1);
                    Counters::add(&dest.counters.received, 1);
                }
                Err(TrySendError::Full(_)) => Counters::add(&sender.counters.dropped_full, 1),
                Err(TrySendError::Closed(_)) => {
                    Counters::add(&sender.counters.dropped_unreachable, 1)
                }
            }
            return Ok(());
        };
        let sender = Arc::clone(&sender.counters);
        let Some(dest) = state.peers.get_mut(&to) else {
            return Err(TransportError::UnknownPeer(to));
        };
        let line = dest.delay_line.get_or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(delay::run(
                rx,
                dest.events.clone(),
                Arc::clone(&dest.counters),
            ));
            (tx, task.abort_handle())
        });
        let due = Instant::now() + hold;
        if line
            .0
            .send(Delayed {
                due,
                from,
                frame,
                sender: Arc::clone(&sender),
            })
            .is_ok()
        {
            Counters::add(&sender.sent, 1);
        }
        Ok(())
    }

    /// Ends the incarnation `incarnation` of peer `id` (its endpoint shut down).
    pub(super) fn leave(&self, id: PeerId, incarnation: u64) {
        let mut state = self.lock();
        if let Some(slot) = state
            .peers
            .get_mut(&id)
            .filter(|slot| slot.incarnation == incarnation)
        {
            slot.kill();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long the next frame is held, drawn from `rng` as `delay` says;
/// `None` for no delay at all.
fn draw_delay(delay: &Delay, rng: &mut ChaCha8Rng) -> Option<Duration> {
    match *delay {
        Delay::None => None,
        Delay::Fixed(hold) => Some(hold),
        Delay::Uniform { min, max } => {
            let (lo, hi) = (min.min(max), min.max(max));
            let nanos = rng.random_range(lo.as_nanos()..=hi.as_nanos());
            Some(Duration::from_nanos(
                u64::try_from(nanos).unwrap_or(u64::MAX),
            ))
        }
    }
}

impl Slot {
    /// Marks the peer down and loses whatever was on its way to it.
    fn kill(&mut self) {
        self.alive = false;
        self.inbox.close();
        if let Some((_, task)) = self.delay_line.take() {
            task.abort();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.kill();
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Hub")
            .field(
                "peers",
                &state
                    .peers
                    .iter()
                    .map(|(id, slot)| (*id, slot.alive))
                    .collect::<BTreeMap<_, _>>(),
            )
            .field("drop_probability", &state.drop_probability)
            .field("delay", &state.delay)
            .field("groups", &state.groups)
            .finish()
    }
}
