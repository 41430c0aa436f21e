//! The simulated world: peers (each a [`Driver`]), the shared store, the
//! network and the agenda of things due, driven one step at a time from a
//! seed.
//!
//! A step pops the earliest thing due (a delivery, a timer, a store call
//! running or answering, a drain, a fault) and hands it to its driver.
//! Drivers drain at drawn points, after one to a few inputs, as the
//! runtime does after a burst; only then do their store calls start and
//! their frames leave. Store calls run late and answer later still, in any
//! order, while their peer takes other inputs. No protocol or store-call
//! logic lives here: only the transport, the disk and the operator.

mod faults;
mod invariants;
mod stored;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bazaar_market::{Book, Pricing, Receipt};
use bazaar_protocol::{Body, Buy, Epoch, Money, PeerId, RequestId, decode, encode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    Faults, Plant, SimOptions, Violation,
    check::{self, Broken},
    faulty::{ForgetfulCheckpoints, Unexpiring, Unfenced},
    network::{Fate, Network},
    tables::SimTables,
    trace::{Step, Trace, What},
};
use crate::{
    Action, CallId, Driver, Event as PeerEvent, Incarnation, Peer, PeerConfig, Role, Sent, Stored,
    store::{MemStore, Store, StoreClock, StoreError},
};

/// Batches between two checkpoints of the simulated store: few, so that
/// most failovers open the books from a checkpoint and a tail.
const CHECKPOINT_EVERY: usize = 8;

/// Counts of what happened in one simulated run, or, added up, in many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunTally {
    /// Steps taken.
    pub steps: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages the network lost or a partition cut.
    pub lost: u64,
    /// Messages to a peer that was down (not started, or crashed).
    pub undeliverable: u64,
    /// Messages delivered twice.
    pub duplicated: u64,
    /// Traders elected.
    pub elections: u64,
    /// Sales made (logged by traders after their commits).
    pub sales: u64,
    /// Commits the store accepted.
    pub commits: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts.
    pub restarts: u64,
    /// Partitions.
    pub partitions: u64,
    /// Resignations asked of traders.
    pub resignations: u64,
    /// Sales made while the network was partitioned.
    pub partitioned_sales: u64,
    /// The most times the books were opened (a new trader's term began)
    /// within one partition: two sides deposing each other through the
    /// store would open them again and again.
    pub most_opens_in_a_partition: u64,
    /// Opens of the books in the partition under way.
    opens_in_this_partition: u64,
    /// Store calls failed on purpose (a lost connection).
    pub store_failures: u64,
    /// Store calls made.
    pub store_calls: u64,
    /// Inputs a peer took while one of its store calls was in flight.
    pub in_flight: u64,
    /// Connections set up (a handshake before the first frame).
    pub handshakes: u64,
}

impl RunTally {
    /// Adds another run's counts; the partition figure is the most of
    /// either.
    pub fn add(&mut self, t: &Self) {
        self.steps += t.steps;
        self.sent += t.sent;
        self.lost += t.lost;
        self.undeliverable += t.undeliverable;
        self.duplicated += t.duplicated;
        self.elections += t.elections;
        self.sales += t.sales;
        self.commits += t.commits;
        self.crashes += t.crashes;
        self.restarts += t.restarts;
        self.partitions += t.partitions;
        self.resignations += t.resignations;
        self.partitioned_sales += t.partitioned_sales;
        self.most_opens_in_a_partition = self
            .most_opens_in_a_partition
            .max(t.most_opens_in_a_partition);
        self.store_failures += t.store_failures;
        self.store_calls += t.store_calls;
        self.in_flight += t.in_flight;
        self.handshakes += t.handshakes;
    }
}

/// Something due at a moment of simulated time.
#[derive(Debug)]
enum Due {
    Start(PeerId),
    Deliver {
        to: PeerId,
        from: PeerId,
        bytes: Vec<u8>,
    },
    Unreachable {
        to: PeerId,
        about: PeerId,
    },
    /// A peer drains, if it took inputs since it last did.
    Drain {
        peer: PeerId,
        incarnation: Incarnation,
    },
    /// The store runs a call: what it writes lands now.
    Run(Box<stored::RunningCall>),
    /// A store call's answer reaches its peer.
    Answer {
        peer: PeerId,
        incarnation: Incarnation,
        call: CallId,
        answer: Result<Stored, StoreError>,
    },
    Fault,
    Calm,
}

/// One peer's slot: its process (if up) and what outlives it.
#[derive(Debug)]
struct Node {
    config: PeerConfig,
    driver: Option<Driver>,
    /// Bumped at each crash, so that what a dead incarnation asked for is
    /// dropped.
    incarnation: Incarnation,
    /// It resigned as trader since it last started.
    resigned: bool,
    /// What earlier incarnations received and were credited.
    past_receipt: Receipt,
    past_credits: Money,
    /// What this incarnation had paid and been credited when last held
    /// against the ledger.
    checked: (Money, Money),
    /// Inputs taken since the last drain, and how many it takes before the
    /// next one.
    undrained: u32,
    burst: u32,
    drain_scheduled: bool,
    /// Its store calls not yet answered, as the world saw them asked.
    calls: BTreeSet<CallId>,
    /// For [`Plant::AnswersCrossed`]: a call whose answer goes under
    /// another id, and that id.
    crossed: BTreeMap<CallId, CallId>,
}

impl Node {
    /// A slot for each of peers 1..=n, each with a drawn role and seed.
    fn draw(rng: &mut ChaCha8Rng, n: u32) -> Vec<Self> {
        (1..=n)
            .map(|id| {
                let role = match rng.random_range(0..4) {
                    0 => Role::Buyer,
                    1 => Role::Seller,
                    _ => Role::Both,
                };
                let mut config = PeerConfig::simple(id, n, role);
                config.seed = rng.random();
                Self::new(config)
            })
            .collect()
    }

    /// The slot of a peer of `config` not started yet.
    fn new(config: PeerConfig) -> Self {
        Self {
            config,
            driver: None,
            incarnation: Incarnation::FIRST,
            resigned: false,
            past_receipt: Receipt::default(),
            past_credits: Money::ZERO,
            checked: (Money::ZERO, Money::ZERO),
            undrained: 0,
            burst: 1,
            drain_scheduled: false,
            calls: BTreeSet::new(),
            crossed: BTreeMap::new(),
        }
    }
}

/// The store the world reads and, unless each incarnation of each peer
/// reaches shared tables through a store of its own, the peers share; and
/// those tables.
/// Its leases keep `clock`; a planted bug picks its stand-in.
fn shared_store(
    seed: u64,
    plant: Option<Plant>,
    clock: StoreClock,
) -> (Box<dyn Store>, Option<SimTables>) {
    let every = CHECKPOINT_EVERY as u64;
    match plant {
        Some(Plant::IgnoreFencing) => (
            Box::new(Unfenced(MemStore::with(CHECKPOINT_EVERY, clock))),
            None,
        ),
        Some(Plant::LeaseNeverExpires) => (
            Box::new(Unexpiring(MemStore::with(CHECKPOINT_EVERY, clock))),
            None,
        ),
        Some(Plant::CheckpointDropsBatch) => {
            (Box::new(ForgetfulCheckpoints::new(CHECKPOINT_EVERY)), None)
        }
        // Odd seeds trade through the one durable store layer, each
        // incarnation of each peer with a store (a cache) of its own over
        // shared tables, as processes over one database; even seeds
        // through the in-memory store, which the peers share.
        Some(Plant::CommitUnfenced) => {
            let tables = SimTables::new(clock, every, false);
            (Box::new(tables.store()), Some(tables))
        }
        _ if seed % 2 == 1 => {
            let tables = SimTables::new(clock, every, true);
            (Box::new(tables.store()), Some(tables))
        }
        _ => (Box::new(MemStore::with(CHECKPOINT_EVERY, clock)), None),
    }
}

/// One run of the simulation.
pub(crate) struct World {
    options: SimOptions,
    rng: ChaCha8Rng,
    now: Duration,
    nodes: Vec<Node>,
    store: Box<dyn Store>,
    /// The shared tables, when the peers reach them each through a store
    /// of its own; `store` is then the world's own reader.
    tables: Option<SimTables>,
    /// Each peer's store over `tables`, by incarnation.
    stores: BTreeMap<(PeerId, Incarnation), Box<dyn Store>>,
    /// The store's books as of the last commit.
    book: Book,
    /// What the store accepted, as the simulator saw it.
    accepted: check::Accepted,
    /// Simulated milliseconds, the store's clock.
    store_clock: Arc<AtomicU64>,
    /// This run's fault profile: the options', or drawn from the seed.
    pub(crate) faults: Faults,
    agenda: BTreeMap<(Duration, u64), Due>,
    next_due: u64,
    network: Network,
    calm: bool,
    /// Every buy any buyer sent, by id.
    asked: BTreeMap<RequestId, Buy>,
    /// For [`Plant::SkipRetryDedup`]: buys already on the wire, the fresh
    /// id a retry was sent under and the id it stands for.
    on_the_wire: BTreeSet<RequestId>,
    aliases: BTreeMap<RequestId, RequestId>,
    owners: BTreeMap<Epoch, PeerId>,
    /// The envelopes of the step under way, in brief (kept to reuse its
    /// allocation).
    sent: Vec<Sent>,
    /// Announcements since a quiet moment, while no trader stands yet.
    storm: Option<invariants::StormWatch>,
    pub(crate) trace: Trace,
    pub(crate) tally: RunTally,
}

impl World {
    pub(crate) fn new(seed: u64, options: &SimOptions) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // The profile has a stream of its own, so that the rest of a run
        // draws as it would with the profile given.
        let faults = if options.swarm {
            Faults::draw(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5757_4152_4d00_0000))
        } else {
            options.faults
        };
        let n = options.peers.max(1);
        let nodes = Node::draw(&mut rng, n);
        let store_clock = Arc::new(AtomicU64::new(0));
        let reads = Arc::clone(&store_clock);
        let clock = StoreClock::from_fn(move || reads.load(Ordering::Relaxed));
        let (store, tables) = shared_store(seed, options.plant, clock);
        let book = Book::new(Pricing::default()).expect("the default prices are valid");
        let mut world = Self {
            options: options.clone(),
            rng,
            now: Duration::ZERO,
            nodes,
            store,
            tables,
            stores: BTreeMap::new(),
            book,
            accepted: check::Accepted::default(),
            store_clock,
            faults,
            agenda: BTreeMap::new(),
            next_due: 0,
            network: Network::new(faults),
            calm: false,
            asked: BTreeMap::new(),
            on_the_wire: BTreeSet::new(),
            aliases: BTreeMap::new(),
            owners: BTreeMap::new(),
            sent: Vec::new(),
            storm: invariants::StormWatch::from(Duration::ZERO, &faults, false),
            trace: Trace::new(options.trace_tail),
            tally: RunTally::default(),
        };
        for id in 1..=n {
            let stagger = Duration::from_micros(world.rng.random_range(0..20_000));
            world.schedule(stagger, Due::Start(PeerId(id)));
        }
        let first = world.fault_gap();
        world.schedule(first, Due::Fault);
        world.schedule(options.faulty, Due::Calm);
        world
    }

    /// Runs to the end; `Err` says which invariant broke first.
    pub(crate) fn run(&mut self) -> Result<(), Broken> {
        let end = self.options.faulty + self.options.settle;
        while let Some((at, timer)) = self.next_moment() {
            if at > end {
                break;
            }
            self.set_now(at);
            self.step(timer)?;
        }
        self.set_now(end);
        self.check_settled()
    }

    /// Moves simulated time, which the store's leases run on too.
    fn set_now(&mut self, at: Duration) {
        self.now = at;
        let ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
        self.store_clock.store(ms, Ordering::Relaxed);
    }

    /// The next moment something is due, and the peer whose timeout it
    /// is, if the agenda has nothing as early: the agenda first, then
    /// timers by peer.
    fn next_moment(&self) -> Option<(Duration, Option<PeerId>)> {
        let agenda = self.agenda.keys().next().map(|&(at, _)| at);
        let timer = self
            .nodes
            .iter()
            .filter_map(|n| Some((n.driver.as_ref()?.poll_timeout()?, n.config.id)))
            .min();
        match (agenda, timer) {
            (Some(at), Some((t, peer))) if t < at => Some((t, Some(peer))),
            (Some(at), _) => Some((at, None)),
            (None, Some((t, peer))) => Some((t, Some(peer))),
            (None, None) => None,
        }
    }

    /// Takes the one thing due now: the agenda's first, or `timer`'s peer's
    /// timeout.
    fn step(&mut self, timer: Option<PeerId>) -> Result<(), Broken> {
        match timer {
            Some(peer) => self.feed(peer, |driver, now| match driver.handle_timeout(now) {
                Some(timer) => What::Timer(timer),
                None => What::Release,
            }),
            None => match self.agenda.pop_first() {
                Some((_, due)) => self.take(due),
                None => Ok(()),
            },
        }
    }

    fn take(&mut self, due: Due) -> Result<(), Broken> {
        match due {
            Due::Start(peer) => self.boot(peer),
            Due::Deliver { to, from, bytes } => {
                if self.node(to).driver.is_none() {
                    self.tally.undeliverable += 1;
                    return Ok(());
                }
                // The trace keeps the frame only when it prints steps.
                let kept = if self.options.trace_tail > 0 {
                    bytes.clone()
                } else {
                    Vec::new()
                };
                let clock = decode(&bytes).ok().map(|e| e.clock);
                self.feed(to, |driver, now| {
                    driver.handle_frame(now, from, bytes);
                    What::Frame {
                        from,
                        clock,
                        bytes: kept,
                    }
                })
            }
            Due::Unreachable { to, about } => self.feed(to, |driver, now| {
                driver.handle_unreachable(now, about);
                What::Unreachable(about)
            }),
            Due::Drain { peer, incarnation } => {
                let node = self.node_mut(peer);
                if node.incarnation != incarnation {
                    return Ok(());
                }
                node.drain_scheduled = false;
                if node.undrained == 0 {
                    return Ok(());
                }
                self.drain(peer)
            }
            Due::Run(running) => self.run_call(running),
            Due::Answer {
                peer,
                incarnation,
                call,
                answer,
            } => self.answer(peer, incarnation, call, answer),
            Due::Fault => self.fault(),
            Due::Calm => self.calm_down(),
        }
    }

    // --- feeding a driver ---------------------------------------------------

    /// Hands one input to `peer`'s driver (if up), checks the clock and the
    /// invariants, records the step, and drains now or later as drawn.
    fn feed(
        &mut self,
        peer: PeerId,
        input: impl FnOnce(&mut Driver, Duration) -> What,
    ) -> Result<(), Broken> {
        let node = self.node_mut(peer);
        if node.driver.is_none() {
            return Ok(());
        }
        node.undrained += 1;
        if node.undrained >= node.burst {
            // The burst ends with this input: one step takes it and drains.
            self.next_burst(peer);
            self.take_input(peer, |driver, now| {
                let what = input(driver, now);
                driver.drain(now);
                what
            })?;
            self.start_calls(peer)?;
            return self.transmit(peer);
        }
        self.take_input(peer, input)?;
        let node = self.node_mut(peer);
        if !node.drain_scheduled {
            node.drain_scheduled = true;
            let incarnation = node.incarnation;
            let lag = self.faults.drain_lag.as_micros();
            let lag = Duration::from_micros(self.rng.random_range(0..=lag) as u64);
            self.schedule(self.now + lag, Due::Drain { peer, incarnation });
        }
        Ok(())
    }

    /// The end of a burst: the peer serves its batch; its store calls
    /// start, its frames leave, and the next burst's size is drawn.
    fn drain(&mut self, peer: PeerId) -> Result<(), Broken> {
        self.next_burst(peer);
        self.take_input(peer, |driver, now| {
            driver.drain(now);
            What::Drained
        })?;
        self.start_calls(peer)?;
        self.transmit(peer)
    }

    /// A burst ends: the next one's size is drawn.
    fn next_burst(&mut self, peer: PeerId) {
        let burst = self.rng.random_range(1..=self.faults.burst.max(1));
        let node = self.node_mut(peer);
        node.undrained = 0;
        node.burst = burst;
    }

    /// One `handle_*` of a driver, with the checks after it.
    fn take_input(
        &mut self,
        peer: PeerId,
        input: impl FnOnce(&mut Driver, Duration) -> What,
    ) -> Result<(), Broken> {
        let now = self.now;
        let mut sent = std::mem::take(&mut self.sent);
        let Some(driver) = self.node_mut(peer).driver.as_mut() else {
            return Ok(());
        };
        let in_flight = driver.in_flight() > 0;
        let before = driver.peer().time();
        let what = input(driver, now);
        let after = driver.peer().time();
        let digest = driver.digest();
        let actions = driver.take_recorded();
        sent.clear();
        driver.take_sent(&mut sent);
        let mut events = Vec::new();
        while let Some(event) = driver.poll_event() {
            events.push(event);
        }
        if in_flight && !matches!(what, What::Drained) {
            self.tally.in_flight += 1;
        }
        let received = match &what {
            What::Frame { clock, .. } => *clock,
            _ => None,
        };
        // Receipts and credits move only with a frame (a reply, a sale
        // notice) or a store answer (a trader's notice to its own seller);
        // a desk opens or closes only with an event that says so.
        let accounts_moved = !matches!(what, What::Drained | What::Timer(_) | What::Release);
        let desks_moved = events.iter().any(|e| {
            matches!(
                e,
                PeerEvent::Coordinator { .. }
                    | PeerEvent::BooksReloaded { .. }
                    | PeerEvent::SteppedDown { .. }
                    | PeerEvent::DeskClosed { .. }
            )
        });
        let clocks = sent.iter().map(|s| s.clock);
        let result = check::clock(peer, before, after, received, clocks)
            .and_then(|()| self.check_requests(&sent))
            .and_then(|()| events.into_iter().try_for_each(|e| self.on_event(peer, e)))
            .and_then(|()| {
                if accounts_moved {
                    self.check_accounts(peer)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| {
                if desks_moved {
                    self.check_traders()
                } else {
                    Ok(())
                }
            })
            .and_then(|()| self.check_storm());
        self.record(Some(peer), what, after, actions, digest);
        self.sent = sent;
        result
    }

    /// What a peer told: counted, and a refusal is a violation (honest
    /// peers over a network that only loses, delays and duplicates).
    fn on_event(&mut self, peer: PeerId, event: PeerEvent) -> Result<(), Broken> {
        match event {
            PeerEvent::Coordinator { .. } => {
                self.tally.elections += 1;
                if let Some(storm) = self.storm.as_mut() {
                    storm.announced()?;
                }
            }
            PeerEvent::Sold(_) => {
                self.tally.sales += 1;
                if self.network.is_partitioned() {
                    self.tally.partitioned_sales += 1;
                }
            }
            PeerEvent::SteppedDown { resigned: true, .. } => self.node_mut(peer).resigned = true,
            PeerEvent::Rejected { from, reason } => {
                return Err(Violation::Refused { peer, from, reason });
            }
            _ => {}
        }
        Ok(())
    }

    /// Every buy's id names one buy for ever.
    fn check_requests(&mut self, sent: &[Sent]) -> Result<(), Broken> {
        for buy in sent.iter().filter_map(|s| s.buy.as_ref()) {
            {
                match self.asked.get(&buy.id) {
                    Some(first) if first != buy => {
                        return Err(Violation::RequestReused {
                            now: *buy,
                            first: *first,
                        });
                    }
                    Some(_) => {}
                    None => {
                        self.asked.insert(buy.id, *buy);
                    }
                }
            }
        }
        Ok(())
    }

    /// Hands the peer's frames to the network.
    fn transmit(&mut self, from: PeerId) -> Result<(), Broken> {
        let now = self.now;
        while let Some(transmit) = self
            .node_mut(from)
            .driver
            .as_mut()
            .and_then(|d| d.poll_transmit(now))
        {
            for frame in transmit.frames {
                let bytes = self.in_transit(frame.to_vec())?;
                self.send(from, transmit.to, bytes);
            }
        }
        Ok(())
    }

    /// What a frame becomes on the wire: itself, but under
    /// [`Plant::SkipRetryDedup`] a retried buy takes a fresh id, and the
    /// reply to it the original id again.
    fn in_transit(&mut self, bytes: Vec<u8>) -> Result<Vec<u8>, Broken> {
        if self.options.plant != Some(Plant::SkipRetryDedup) {
            return Ok(bytes);
        }
        let Ok(mut envelope) = decode(&bytes) else {
            return Ok(bytes);
        };
        match &mut envelope.body {
            Body::Buy(buy) if !self.on_the_wire.insert(buy.id) => {
                let fresh = RequestId {
                    buyer: buy.id.buyer,
                    seq: (1 << 48) + self.aliases.len() as u64,
                };
                self.aliases.insert(fresh, buy.id);
                buy.id = fresh;
            }
            Body::BuyReply(reply) => {
                if let Some(&original) = self.aliases.get(&reply.id) {
                    reply.id = original;
                }
            }
            _ => return Ok(bytes),
        }
        let mut out = Vec::new();
        encode(&envelope, &mut out).map_err(|e| Violation::Store {
            peer: None,
            detail: format!("codec: {e}"),
        })?;
        Ok(out)
    }

    /// Routes one frame through the network.
    fn send(&mut self, from: PeerId, to: PeerId, bytes: Vec<u8>) {
        self.tally.sent += 1;
        if self.node(to).driver.is_none() {
            self.tally.undeliverable += 1;
            if self.faults.unreachable {
                let at = self.now + self.faults.min_delay;
                let due = Due::Unreachable {
                    to: from,
                    about: to,
                };
                self.schedule(at, due);
            }
            return;
        }
        let now = self.now;
        match self.network.route(&mut self.rng, now, from, to) {
            Fate::Lost | Fate::Cut => self.tally.lost += 1,
            Fate::Arrives { at, handshake } => {
                self.tally.handshakes += u64::from(handshake);
                self.tally.duplicated += at.len() as u64 - 1;
                for at in at {
                    let bytes = bytes.clone();
                    self.schedule(at, Due::Deliver { to, from, bytes });
                }
            }
        }
    }

    // --- incarnations -------------------------------------------------------

    /// A fresh process for `peer`, with nothing but the shared store.
    fn boot(&mut self, peer: PeerId) -> Result<(), Broken> {
        let tracing = self.options.trace_tail > 0;
        let node = self.node_mut(peer);
        let mut config = node.config.clone();
        config.seed = config.seed.wrapping_add(u64::from(node.incarnation.0));
        config.incarnation = node.incarnation;
        let mut driver = Driver::new(Peer::new(config));
        driver.record_sends();
        if tracing {
            driver.record_actions();
        }
        node.driver = Some(driver);
        node.resigned = false;
        self.network.restarted(peer);
        self.feed(peer, |driver, now| {
            driver.handle_start(now);
            What::Start
        })
    }

    fn crash(&mut self, peer: PeerId) {
        self.tally.crashes += 1;
        let node = self.node_mut(peer);
        if let Some(driver) = node.driver.take() {
            let p = driver.peer();
            if let Some(buyer) = p.buyer() {
                add_receipt(&mut node.past_receipt, buyer.receipt());
            }
            if let Some(seller) = p.seller() {
                node.past_credits += seller.credits();
            }
        }
        node.incarnation = node
            .incarnation
            .next()
            .expect("fewer than 2^32 crashes in one run");
        node.checked = (Money::ZERO, Money::ZERO);
        node.undrained = 0;
        node.drain_scheduled = false;
        node.calls.clear();
        node.crossed.clear();
        self.network.restarted(peer);
        self.world(format!("peer {peer} crashes"));
    }

    // --- bookkeeping --------------------------------------------------------

    fn schedule(&mut self, at: Duration, due: Due) {
        self.next_due += 1;
        self.agenda.insert((at, self.next_due), due);
    }

    fn record(
        &mut self,
        peer: Option<PeerId>,
        what: What,
        time: u64,
        actions: Vec<Action>,
        digest: u64,
    ) {
        self.tally.steps += 1;
        self.trace.push(Step {
            at: self.now,
            peer,
            what,
            time,
            actions,
            digest,
        });
    }

    /// Records what the world did, in words.
    fn world(&mut self, text: String) {
        self.record(None, What::World(text), 0, Vec::new(), 0);
    }

    fn ids(&self, live: bool) -> Vec<PeerId> {
        self.nodes
            .iter()
            .filter(|n| n.driver.is_some() == live)
            .map(|n| n.config.id)
            .collect()
    }

    fn node(&self, peer: PeerId) -> &Node {
        &self.nodes[peer.0 as usize - 1]
    }

    fn node_mut(&mut self, peer: PeerId) -> &mut Node {
        &mut self.nodes[peer.0 as usize - 1]
    }

    /// The store's books at the end, for reports.
    pub(crate) const fn book(&self) -> &Book {
        &self.book
    }
}

fn add_receipt(total: &mut Receipt, more: &Receipt) {
    for (&product, &units) in &more.goods {
        *total.goods.entry(product).or_default() += units;
    }
    total.paid += more.paid;
}
