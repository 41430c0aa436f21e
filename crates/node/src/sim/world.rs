//! The simulated world: peers, their timers, the shared store, the network
//! and the agenda of things due, driven one step at a time from a seed.
//!
//! A step pops the earliest thing due (a delivery, a timer, a commit made
//! durable, a fault), feeds it to its peer followed by `Input::Drained`,
//! performs the actions, and checks the invariants. No protocol logic
//! lives here: only the transport, the disk and the operator.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bazaar_market::{Batch, Book, Pricing, Receipt};
use bazaar_protocol::{Body, Buy, Envelope, Epoch, Money, PeerId, RequestId, decode, encode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    Faults, Plant, SimOptions,
    check::{self, Broken, Settled},
    faulty::{ForgetfulCheckpoints, Unexpiring, Unfenced},
    network::{Fate, Network, chance},
    trace::{Step, Trace, What},
};
/// Batches between two checkpoints of the simulated store: few, so that
/// most failovers open the books from a checkpoint and a tail.
const CHECKPOINT_EVERY: usize = 8;

use crate::{
    Action, CommitId, Event as PeerEvent, Incarnation, Input, Peer, PeerConfig, PeerTimer, Role,
    StoreFailure, TimerQueue,
    store::{Claim, MemStore, Store, StoreClock, StoreError},
};

/// Counts of what happened in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
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
    Durable {
        peer: PeerId,
        life: Incarnation,
        commit: CommitId,
        epoch: Epoch,
        batch: Box<Batch>,
        acked: bool,
    },
    Fault,
    Calm,
}

/// One peer's slot: its process (if up) and what outlives it.
#[derive(Debug)]
struct Node {
    config: PeerConfig,
    peer: Option<Peer>,
    timers: TimerQueue<PeerTimer>,
    /// Bumped at each crash, so that a commit of a dead life is dropped.
    life: Incarnation,
    /// It resigned as trader since it last started.
    resigned: bool,
    /// What earlier lives received and were credited.
    past_receipt: Receipt,
    past_credits: Money,
    /// What was last held against the ledger.
    checked: (Receipt, Money),
}

/// One run of the simulation.
pub(crate) struct World {
    options: SimOptions,
    rng: ChaCha8Rng,
    now: Duration,
    nodes: Vec<Node>,
    store: Box<dyn Store>,
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
    /// For [`Plant::SkipRetryDedup`]: the fresh id a retry was sent under,
    /// and the id it stands for.
    aliases: BTreeMap<RequestId, RequestId>,
    owners: BTreeMap<Epoch, PeerId>,
    pub(crate) trace: Trace,
    pub(crate) tally: Tally,
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
        let nodes = (1..=n)
            .map(|id| {
                let role = match rng.random_range(0..4) {
                    0 => Role::Buyer,
                    1 => Role::Seller,
                    _ => Role::Both,
                };
                let mut config = PeerConfig::simple(id, n, role);
                config.seed = rng.random();
                Node {
                    config,
                    peer: None,
                    timers: TimerQueue::new(),
                    life: Incarnation::FIRST,
                    resigned: false,
                    past_receipt: Receipt::default(),
                    past_credits: Money::ZERO,
                    checked: (Receipt::default(), Money::ZERO),
                }
            })
            .collect();
        // Checkpoints every few batches, so that most failovers open the
        // books from a checkpoint and a tail.
        let store_clock = Arc::new(AtomicU64::new(0));
        let reads = Arc::clone(&store_clock);
        let clock = StoreClock::from_fn(move || reads.load(Ordering::Relaxed));
        let memory = MemStore::with(CHECKPOINT_EVERY, clock);
        let store: Box<dyn Store> = match options.plant {
            Some(Plant::IgnoreFencing) => Box::new(Unfenced(memory.clone())),
            Some(Plant::LeaseNeverExpires) => Box::new(Unexpiring(memory.clone())),
            Some(Plant::CheckpointDropsBatch) => {
                Box::new(ForgetfulCheckpoints::new(CHECKPOINT_EVERY))
            }
            _ => Box::new(memory.clone()),
        };
        let book = Book::new(Pricing::default()).expect("the default prices are valid");
        let mut world = Self {
            options: options.clone(),
            rng,
            now: Duration::ZERO,
            nodes,
            store,
            book,
            accepted: check::Accepted::default(),
            store_clock,
            faults,
            agenda: BTreeMap::new(),
            next_due: 0,
            network: Network::new(faults),
            calm: false,
            asked: BTreeMap::new(),
            aliases: BTreeMap::new(),
            owners: BTreeMap::new(),
            trace: Trace::new(options.trace_tail),
            tally: Tally::default(),
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
        while let Some(at) = self.next_moment() {
            if at > end {
                break;
            }
            self.set_now(at);
            self.step()?;
        }
        self.set_now(end);
        self.check_settled()
    }

    /// Moves simulated time, which the store's leases run on too.
    fn set_now(&mut self, at: Duration) {
        self.now = at;
        let ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
        self.store_clock
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    fn next_moment(&self) -> Option<Duration> {
        let agenda = self.agenda.keys().next().map(|&(at, _)| at);
        let timers = self
            .nodes
            .iter()
            .filter_map(|n| n.timers.next_deadline())
            .min();
        agenda.into_iter().chain(timers).min()
    }

    /// Takes the one thing due now: the agenda first, then timers by peer.
    fn step(&mut self) -> Result<(), Broken> {
        if let Some(entry) = self.agenda.first_entry()
            && entry.key().0 <= self.now
        {
            let due = entry.remove();
            return self.take(due);
        }
        let now = self.now;
        let due = self
            .nodes
            .iter_mut()
            .find_map(|n| n.timers.pop_due(now).map(|t| (n.config.id, t)));
        match due {
            Some((peer, timer)) => self.feed(peer, Input::Timer(timer), What::Timer(timer)),
            None => Ok(()),
        }
    }

    fn take(&mut self, due: Due) -> Result<(), Broken> {
        match due {
            Due::Start(peer) => self.boot(peer),
            Due::Deliver { to, from, bytes } => {
                if self.node(to).peer.is_none() {
                    self.tally.undeliverable += 1;
                    return Ok(());
                }
                let input = Input::Frame {
                    from,
                    bytes: bytes.clone(),
                };
                self.feed(to, input, What::Frame { from, bytes })
            }
            Due::Unreachable { to, about } => {
                self.feed(to, Input::Unreachable(about), What::Unreachable(about))
            }
            Due::Durable {
                peer,
                life,
                commit,
                epoch,
                batch,
                acked,
            } => self.durable(peer, life, commit, epoch, &batch, acked),
            Due::Fault => {
                self.fault()?;
                Ok(())
            }
            Due::Calm => self.calm_down(),
        }
    }

    // --- feeding a peer ----------------------------------------------------

    /// Feeds `input` to `peer` (if up), then `Drained`, performs the
    /// actions (which may feed it more, such as loaded books), checks the
    /// invariants and records the step.
    fn feed(&mut self, peer: PeerId, input: Input, what: What) -> Result<(), Broken> {
        if self.node(peer).peer.is_none() {
            return Ok(());
        }
        let mut received = match &input {
            Input::Frame { bytes, .. } => decode(bytes).ok().map(|e| e.clock),
            _ => None,
        };
        let mut queue = VecDeque::from([input]);
        let mut all = Vec::new();
        let mut result = Ok(());
        while let Some(input) = queue.pop_front() {
            let now = self.now;
            let Some(p) = self.node_mut(peer).peer.as_mut() else {
                break;
            };
            let before = p.time();
            let mut actions = p.handle(now, input);
            let middle = p.time();
            let drained = p.handle(now, Input::Drained);
            let after = p.time();
            result = check::clock(peer, before, middle, received.take(), &sent(&actions))
                .and_then(|()| check::clock(peer, middle, after, None, &sent(&drained)));
            actions.extend(drained);
            for action in actions {
                if result.is_ok() {
                    result = self.perform(peer, &action, &mut queue);
                }
                all.push(action);
            }
            if result.is_err() {
                break;
            }
        }
        let result = result
            .and_then(|()| self.check_accounts(peer))
            .and_then(|()| self.check_traders());
        let time = self.node(peer).peer.as_ref().map_or(0, Peer::time);
        self.record(Some(peer), what, time, all);
        result
    }

    fn perform(
        &mut self,
        peer: PeerId,
        action: &Action,
        queue: &mut VecDeque<Input>,
    ) -> Result<(), Broken> {
        let now = self.now;
        match action {
            Action::Send { to, envelope } => return self.send(peer, *to, envelope),
            Action::SetTimer { timer, after } => {
                self.node_mut(peer).timers.set(*timer, now + *after)
            }
            Action::CancelTimer(timer) => self.node_mut(peer).timers.cancel(timer),
            Action::LoadBooks {
                epoch,
                trader,
                lease,
                pricing,
            } => {
                let claim = Claim {
                    epoch: *epoch,
                    trader: *trader,
                    lease: *lease,
                };
                let loaded = match self.dead_connection() {
                    Some(e) => Err(e),
                    None => self.store.open(claim, pricing),
                };
                if loaded.is_ok() && self.network.is_partitioned() {
                    let t = &mut self.tally;
                    t.opens_in_this_partition += 1;
                    t.most_opens_in_a_partition =
                        t.most_opens_in_a_partition.max(t.opens_in_this_partition);
                }
                queue.push_back(self.loaded(peer, *epoch, loaded)?);
            }
            Action::ReloadBooks { epoch } => {
                let loaded = match self.dead_connection() {
                    Some(e) => Err(e),
                    None => self.store.reload(*epoch),
                };
                queue.push_back(self.loaded(peer, *epoch, loaded)?);
            }
            Action::RenewLease { epoch, lease } => match self.store.renew(*epoch, *lease) {
                Ok(()) => {}
                Err(e @ StoreError::Fenced { .. }) => queue.push_back(Input::StoreFailed {
                    epoch: *epoch,
                    failure: e.failure(),
                }),
                Err(e) => return Err(format!("store: peer {peer} cannot renew its lease: {e}")),
            },
            Action::Commit {
                commit,
                epoch,
                batch,
            } => {
                check::asked(batch, &self.asked)?;
                let acked = self.options.plant == Some(Plant::ReplyBeforeCommit);
                if acked {
                    queue.push_back(Input::Committed(*commit));
                }
                let due = Due::Durable {
                    peer,
                    life: self.node(peer).life,
                    commit: *commit,
                    epoch: *epoch,
                    batch: batch.clone(),
                    acked,
                };
                self.schedule(now + self.faults.commit_delay, due);
            }
            Action::Event(event) => match event {
                PeerEvent::Coordinator { .. } => self.tally.elections += 1,
                PeerEvent::Sold(_) => {
                    self.tally.sales += 1;
                    if self.network.is_partitioned() {
                        self.tally.partitioned_sales += 1;
                    }
                }
                PeerEvent::SteppedDown { resigned: true, .. } => {
                    self.node_mut(peer).resigned = true
                }
                PeerEvent::Rejected { from, reason } => {
                    return Err(format!(
                        "protocol: peer {peer} refused a message from peer {from}: {reason}"
                    ));
                }
                _ => {}
            },
        }
        Ok(())
    }

    /// What a peer is told of its load or reload of the books: fencing and
    /// leases are the store's answers; anything else breaks the run.
    fn loaded(
        &self,
        peer: PeerId,
        epoch: Epoch,
        loaded: Result<Book, StoreError>,
    ) -> Result<Input, Broken> {
        match loaded {
            Ok(book) => Ok(Input::BooksLoaded {
                epoch,
                book: Box::new(book),
            }),
            Err(
                e @ (StoreError::Fenced { .. } | StoreError::Leased { .. } | StoreError::Io { .. }),
            ) => Ok(Input::StoreFailed {
                epoch,
                failure: e.failure(),
            }),
            Err(e) => Err(format!("store: peer {peer} cannot load the books: {e}")),
        }
    }

    /// Encodes an envelope and hands it to the network.
    fn send(&mut self, from: PeerId, to: PeerId, envelope: &Envelope) -> Result<(), Broken> {
        self.tally.sent += 1;
        let mut envelope = envelope.clone();
        match &mut envelope.body {
            Body::Buy(buy) => match self.asked.get(&buy.id) {
                Some(first) if first != buy => {
                    return Err(format!(
                        "requests: peer {from} reused {} for {} {} (first sent for {} {})",
                        buy.id, buy.quantity, buy.product, first.quantity, first.product
                    ));
                }
                Some(_) if self.options.plant == Some(Plant::SkipRetryDedup) => {
                    let fresh = RequestId {
                        buyer: buy.id.buyer,
                        seq: (1 << 48) + self.aliases.len() as u64,
                    };
                    self.aliases.insert(fresh, buy.id);
                    buy.id = fresh;
                }
                Some(_) => {}
                None => {
                    self.asked.insert(buy.id, *buy);
                }
            },
            Body::BuyReply(reply) => {
                if let Some(&original) = self.aliases.get(&reply.id) {
                    reply.id = original;
                }
            }
            _ => {}
        }
        let mut bytes = Vec::new();
        encode(&envelope, &mut bytes).map_err(|e| format!("codec: {e}"))?;
        if self.node(to).peer.is_none() {
            self.tally.undeliverable += 1;
            if self.faults.unreachable {
                let at = self.now + self.faults.min_delay;
                self.schedule(
                    at,
                    Due::Unreachable {
                        to: from,
                        about: to,
                    },
                );
            }
            return Ok(());
        }
        match self.network.route(&mut self.rng, from, to) {
            Fate::Lost | Fate::Cut => self.tally.lost += 1,
            Fate::Arrives(delays) => {
                self.tally.duplicated += delays.len() as u64 - 1;
                for delay in delays {
                    let due = Due::Deliver {
                        to,
                        from,
                        bytes: bytes.clone(),
                    };
                    self.schedule(self.now + delay, due);
                }
            }
        }
        Ok(())
    }

    /// The store makes a commit durable, unless its trader died meanwhile.
    fn durable(
        &mut self,
        peer: PeerId,
        life: Incarnation,
        commit: CommitId,
        epoch: Epoch,
        batch: &Batch,
        acked: bool,
    ) -> Result<(), Broken> {
        let node = self.node(peer);
        if node.life != life || node.peer.is_none() {
            let text = format!("commit {} of peer {peer} is lost with its crash", commit.0);
            self.record(None, What::World(text), 0, Vec::new());
            return Ok(());
        }
        let newest = self.store.epoch().map_err(|e| format!("store: {e}"))?;
        // A store fault: the connection dies before the commit (nothing
        // written) or after it (the batch landed); either way the trader
        // is told the outcome is unknown.
        let fault = !self.calm && chance(&mut self.rng, self.faults.store_failures);
        if fault && self.rng.random_bool(0.5) {
            return self.commit_unknown(peer, commit, epoch, false);
        }
        let (input, result) = match self.store.commit(epoch, batch) {
            Ok(()) => {
                self.tally.commits += 1;
                check::fenced(peer, epoch, newest, &mut self.owners)?;
                self.accepted.add(batch)?;
                self.refresh_books()?;
                if fault {
                    return self.commit_unknown(peer, commit, epoch, true);
                }
                (Input::Committed(commit), Ok(()))
            }
            Err(e @ StoreError::Fenced { .. }) => {
                let failure = e.failure();
                (Input::StoreFailed { epoch, failure }, Err(e.to_string()))
            }
            Err(e) => return Err(format!("store: commit {} of peer {peer}: {e}", commit.0)),
        };
        if acked && result.is_ok() {
            let text = format!(
                "commit {} of peer {peer} is durable (acknowledged early)",
                commit.0
            );
            self.record(None, What::World(text), 0, Vec::new());
            return Ok(());
        }
        self.feed(peer, input, What::Durable { commit, result })
    }

    /// Draws a store fault for a load (unless the world is calm): the
    /// connection dies before the books are read, and the tally counts it.
    fn dead_connection(&mut self) -> Option<StoreError> {
        if self.calm || !chance(&mut self.rng, self.faults.store_failures) {
            return None;
        }
        self.tally.store_failures += 1;
        Some(StoreError::Io {
            path: "simulated store".into(),
            detail: "the connection died".into(),
        })
    }

    /// Tells `peer` its commit failed with an unknown outcome (it `landed`
    /// or not); with [`Plant::UnknownOutcomeIsSuccess`], that it succeeded.
    fn commit_unknown(
        &mut self,
        peer: PeerId,
        commit: CommitId,
        epoch: Epoch,
        landed: bool,
    ) -> Result<(), Broken> {
        self.tally.store_failures += 1;
        let how = if landed { "landed" } else { "wrote nothing" };
        let text = format!(
            "the store fails commit {} of peer {peer}: it {how}",
            commit.0
        );
        self.record(None, What::World(text), 0, Vec::new());
        if self.options.plant == Some(Plant::UnknownOutcomeIsSuccess) {
            return self.feed(
                peer,
                Input::Committed(commit),
                What::Durable {
                    commit,
                    result: Ok(()),
                },
            );
        }
        let failure = StoreFailure::Unavailable;
        let input = Input::StoreFailed { epoch, failure };
        let result = Err("the store failed: outcome unknown".to_owned());
        self.feed(peer, input, What::Durable { commit, result })
    }

    fn refresh_books(&mut self) -> Result<(), Broken> {
        match self.store.books() {
            Ok(Some(book)) => {
                check::books(&book)?;
                self.accepted.matches(&book)?;
                self.book = book;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(format!("store: {e}")),
        }
    }

    // --- faults ------------------------------------------------------------

    /// One fault at random, then the next one scheduled.
    fn fault(&mut self) -> Result<(), Broken> {
        if self.calm {
            return Ok(());
        }
        let next = self.now + self.fault_gap();
        self.schedule(next, Due::Fault);
        let faults = self.faults;
        let live = self.ids(true);
        let dead = self.ids(false);
        let mut kinds = Vec::new();
        if faults.crashes && live.len() > 1 {
            kinds.extend(["crash", "crash"]);
        }
        if faults.crashes && !dead.is_empty() {
            kinds.extend(["restart", "restart"]);
        }
        if faults.partitions {
            kinds.push(if self.network.is_partitioned() {
                "heal"
            } else {
                "partition"
            });
        }
        if faults.resignations {
            kinds.push("resign");
        }
        if kinds.is_empty() {
            return Ok(());
        }
        match kinds[self.rng.random_range(0..kinds.len())] {
            "crash" => {
                let peer = live[self.rng.random_range(0..live.len())];
                self.crash(peer);
            }
            "restart" => {
                let peer = dead[self.rng.random_range(0..dead.len())];
                self.restart(peer)?;
            }
            "partition" => {
                let all: Vec<PeerId> = self.nodes.iter().map(|n| n.config.id).collect();
                if let Some(side) = self.network.partition(&mut self.rng, &all) {
                    self.tally.partitions += 1;
                    self.tally.opens_in_this_partition = 0;
                    let side: Vec<String> = side.iter().map(ToString::to_string).collect();
                    let text = format!("partition: peers {} apart from the rest", side.join(","));
                    self.record(None, What::World(text), 0, Vec::new());
                }
            }
            "heal" => {
                self.network.heal();
                self.record(
                    None,
                    What::World("the partition heals".into()),
                    0,
                    Vec::new(),
                );
            }
            _ => {
                for peer in live {
                    if self.node(peer).peer.as_ref().is_some_and(Peer::is_trading) {
                        self.tally.resignations += 1;
                        self.feed(peer, Input::Resign, What::Resign)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn fault_gap(&mut self) -> Duration {
        let every = self.faults.every.as_micros().max(2);
        let micros = self.rng.random_range(every / 2..=every * 3 / 2);
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    fn crash(&mut self, peer: PeerId) {
        self.tally.crashes += 1;
        let node = self.node_mut(peer);
        if let Some(p) = node.peer.take() {
            if let Some(buyer) = p.buyer() {
                add_receipt(&mut node.past_receipt, buyer.receipt());
            }
            if let Some(seller) = p.seller() {
                node.past_credits += seller.credits();
            }
        }
        node.timers.clear();
        node.life = node
            .life
            .next()
            .expect("fewer than 2^32 crashes in one run");
        let text = format!("peer {peer} crashes");
        self.record(None, What::World(text), 0, Vec::new());
    }

    fn restart(&mut self, peer: PeerId) -> Result<(), Broken> {
        self.tally.restarts += 1;
        self.boot(peer)
    }

    /// A fresh process for `peer`, with nothing but the shared store.
    fn boot(&mut self, peer: PeerId) -> Result<(), Broken> {
        let node = self.node_mut(peer);
        let mut config = node.config.clone();
        config.seed = config.seed.wrapping_add(u64::from(node.life.0));
        config.incarnation = node.life;
        node.peer = Some(Peer::new(config));
        node.resigned = false;
        self.feed(peer, Input::Start, What::Start)
    }

    /// The faults stop: the partition heals, loss and duplication end, and
    /// each dead peer restarts or stays dead, at random.
    fn calm_down(&mut self) -> Result<(), Broken> {
        self.calm = true;
        self.network.heal();
        self.network.calm();
        self.record(None, What::World("faults stop".into()), 0, Vec::new());
        for peer in self.ids(false) {
            if chance(&mut self.rng, 0.5) {
                self.restart(peer)?;
            }
        }
        Ok(())
    }

    // --- checks ------------------------------------------------------------

    /// Receipts and credits of `peer`, over all its lives, against the
    /// ledger: only when they changed, since the ledger only grows.
    fn check_accounts(&mut self, peer: PeerId) -> Result<(), Broken> {
        let node = self.node(peer);
        let Some(p) = node.peer.as_ref() else {
            return Ok(());
        };
        let mut receipt = node.past_receipt.clone();
        if let Some(buyer) = p.buyer() {
            add_receipt(&mut receipt, buyer.receipt());
        }
        let credits = node.past_credits + p.seller().map_or(Money::ZERO, |s| s.credits());
        if node.checked.0 != receipt {
            check::receipts(&self.book, peer, &receipt)?;
        }
        if node.checked.1 != credits {
            check::credits(&self.book, peer, credits)?;
        }
        self.node_mut(peer).checked = (receipt, credits);
        Ok(())
    }

    fn check_traders(&self) -> Result<(), Broken> {
        let traders: Vec<(PeerId, Epoch)> = self
            .nodes
            .iter()
            .filter_map(|n| n.peer.as_ref())
            .filter(|p| p.is_trading())
            .filter_map(|p| p.trader())
            .collect();
        check::one_trader_per_epoch(&traders)
    }

    fn check_settled(&self) -> Result<(), Broken> {
        let peers: Vec<Settled> = self
            .nodes
            .iter()
            .filter_map(|n| {
                let p = n.peer.as_ref()?;
                Some(Settled {
                    id: p.id(),
                    leader: p.trader(),
                    trading: p.is_trading(),
                    resigned: n.resigned,
                    unanswered: p.unanswered().collect(),
                })
            })
            .collect();
        let deadline = self.now.saturating_sub(self.options.settle / 2);
        check::settled(&peers, deadline)
    }

    // --- bookkeeping -------------------------------------------------------

    fn schedule(&mut self, at: Duration, due: Due) {
        self.next_due += 1;
        self.agenda.insert((at, self.next_due), due);
    }

    fn record(&mut self, peer: Option<PeerId>, what: What, time: u64, actions: Vec<Action>) {
        self.tally.steps += 1;
        self.trace.push(Step {
            at: self.now,
            peer,
            what,
            time,
            actions,
        });
    }

    fn ids(&self, live: bool) -> Vec<PeerId> {
        self.nodes
            .iter()
            .filter(|n| n.peer.is_some() == live)
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

/// The clocks of the envelopes among `actions`, in order.
fn sent(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { envelope, .. } => Some(envelope.clock),
            _ => None,
        })
        .collect()
}

fn add_receipt(total: &mut Receipt, more: &Receipt) {
    for (&product, &units) in &more.goods {
        *total.goods.entry(product).or_default() += units;
    }
    total.paid += more.paid;
}
