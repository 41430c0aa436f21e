//! `Peer`: the pure composition of a Lamport clock, a bully election and the
//! trader, buyer and seller roles. An input goes in, actions come out; the
//! `Driver` performs them, for the tokio runtime and the simulator alike.

mod config;
mod desk;
mod io;
mod role;
mod timing;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use bazaar_clock::LamportClock;
use bazaar_election::{
    Action as ElectionAction, Bully, Input as ElectionInput, Message as ElectionMessage,
};
use bazaar_market::{
    Book, Buyer, BuyerAction, BuyerInput, Persist, Seller, SellerAction, SellerInput, TraderAction,
    TraderInput,
};
use bazaar_protocol::{Body, Envelope, Epoch, PeerId, RequestId, Timestamp, decode};

pub use config::{Incarnation, PeerConfig};
use desk::Desk;
pub use io::{Action, CommitId, ElectionCause, Event, Input, PeerTimer, Reject, StoreFailure};
pub use role::{Role, UnknownRole};
pub use timing::{ResignPolicy, Timing};

/// One peer of the market. Pure: it never touches a socket, a file or the
/// wall clock; `now` arrives with each input.
///
/// # Who drives it
///
/// The [`Driver`](crate::Driver) performs its actions: [`Action::Send`],
/// [`Action::SetTimer`] and [`Action::CancelTimer`], the store calls
/// behind [`Action::LoadBooks`], [`Action::ReloadBooks`],
/// [`Action::RenewLease`] and [`Action::Commit`], and [`Action::Event`]
/// for whoever watches. It feeds the peer every frame, fired timer and
/// store answer as an input, with an [`Input::Drained`] after each burst:
/// that is when the trader serves its batch. The driver's docs give the contract its shells keep; a test may
/// also call [`Peer::handle`] directly and assert the actions.
///
/// The rules of the house are the peer's, so that no driver has to keep
/// them: a batch's replies and notices leave only after its commit is
/// durable (persist, then send); one commit is in flight at a time, and the
/// next batch gathers meanwhile; a failed or fenced commit drops what it
/// held and closes the desk.
#[derive(Debug)]
pub struct Peer {
    config: PeerConfig,
    members: BTreeSet<PeerId>,
    clock: LamportClock<PeerId>,
    election: Bully<PeerId>,
    /// Set while this peer is trader.
    desk: Option<Desk>,
    buyer: Option<Buyer>,
    seller: Option<Seller>,
    /// The trader this peer follows, or itself.
    trader: Option<(PeerId, Epoch)>,
    /// When each unanswered buy was first sent, for response times.
    asked_at: BTreeMap<RequestId, Duration>,
    /// The trader's one commit in flight, and the sends that wait for it.
    commit: Option<InFlight>,
    next_commit: CommitId,
    /// When the followed trader last proved itself alive.
    heard_from_trader: Duration,
    /// When this peer last sent its trader anything: a follower that has
    /// sent nothing lately answers a heartbeat.
    sent_to_trader: Duration,
    /// When any other peer was last heard from: a trader that hears from
    /// none is cut off, and gives up its term.
    heard_from_any: Duration,
    /// Since when the store has been failing this trader's calls, in
    /// this term.
    store_down_since: Option<Duration>,
    /// The store's outage as this peer has seen it across its terms,
    /// until it sees books again (its own, or a trader's answers).
    store_outage: Option<StoreOutage>,
    /// Whether it gave up a term cut off from every other peer: it stays
    /// out of elections until it hears from one again.
    cut_off: bool,
    /// Peers heard from at least once: only their outages are reported.
    reached: BTreeSet<PeerId>,
    /// Peers whose outage is under way, with when it was reported.
    outages: BTreeMap<PeerId, Duration>,
    now: Duration,
    out: Vec<Action>,
}

impl Peer {
    /// A peer that has not started yet; feed it [`Input::Start`].
    pub fn new(config: PeerConfig) -> Self {
        let id = config.id;
        let others = config.peers.iter().copied().filter(|&p| p != id);
        let election = Bully::new(id, others, config.timing.election);
        let buyer = config
            .role
            .buys()
            .then(|| Buyer::new(id, config.buyer(), config.seed));
        let seller = config
            .role
            .sells()
            .then(|| Seller::new(id, config.seller(), config.seed.wrapping_add(0x5e11)));
        Self {
            members: config.peers.iter().copied().collect(),
            clock: LamportClock::new(id),
            election,
            desk: None,
            buyer,
            seller,
            trader: None,
            asked_at: BTreeMap::new(),
            commit: None,
            next_commit: CommitId(0),
            heard_from_trader: Duration::ZERO,
            sent_to_trader: Duration::ZERO,
            heard_from_any: Duration::ZERO,
            store_down_since: None,
            store_outage: None,
            cut_off: false,
            reached: BTreeSet::new(),
            outages: BTreeMap::new(),
            now: Duration::ZERO,
            out: Vec::new(),
            config,
        }
    }

    /// Takes one input at time `now` (since the driver started) and returns
    /// the actions to perform, in order.
    pub fn handle(&mut self, now: Duration, input: Input) -> Vec<Action> {
        self.handle_into(now, input, Vec::new())
    }

    /// [`Peer::handle`], appending to `out` (an empty vector whose
    /// allocation a driver reuses from step to step).
    pub(crate) fn handle_into(
        &mut self,
        now: Duration,
        input: Input,
        out: Vec<Action>,
    ) -> Vec<Action> {
        self.out = out;
        self.now = self.now.max(now);
        match input {
            Input::Start => self.elect(ElectionInput::Start, ElectionCause::StartUp),
            Input::Frame { from, bytes } => self.on_frame(from, &bytes),
            Input::Timer(timer) => self.on_timer(timer),
            Input::Unreachable(peer) => self.on_unreachable(peer),
            Input::Drained => self.flush(),
            Input::BooksLoaded { epoch, book } => self.on_books(epoch, *book),
            Input::Committed(commit) => self.on_committed(commit),
            Input::CommitFailed { commit, failure } => self.on_commit_failed(commit, failure),
            Input::StoreFailed { epoch, failure } => self.on_store_failed(epoch, failure),
            Input::Resign => self.resign(),
        }
        std::mem::take(&mut self.out)
    }

    /// This peer's id.
    pub const fn id(&self) -> PeerId {
        self.config.id
    }

    /// Its configuration.
    pub const fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// The trader it follows (possibly itself), with its epoch.
    pub const fn trader(&self) -> Option<(PeerId, Epoch)> {
        self.trader
    }

    /// Whether it is the trader and has its books open.
    pub fn is_trading(&self) -> bool {
        self.desk.as_ref().is_some_and(Desk::is_open)
    }

    /// The trader's books, while it is trader and they are loaded.
    pub fn book(&self) -> Option<&Book> {
        self.desk.as_ref().and_then(Desk::book)
    }

    /// The highest epoch it has seen.
    pub const fn epoch(&self) -> Epoch {
        self.election.epoch()
    }

    /// Its Lamport time.
    pub const fn time(&self) -> u64 {
        self.clock.time()
    }

    /// Its buyer role, if it buys.
    pub const fn buyer(&self) -> Option<&Buyer> {
        self.buyer.as_ref()
    }

    /// Its seller role, if it sells.
    pub const fn seller(&self) -> Option<&Seller> {
        self.seller.as_ref()
    }

    /// Its buys not yet answered, with when each was first sent: what a
    /// liveness check looks at.
    pub fn unanswered(&self) -> impl Iterator<Item = (RequestId, Duration)> + '_ {
        self.asked_at.iter().map(|(&id, &sent)| (id, sent))
    }

    // --- inputs -----------------------------------------------------------

    fn on_frame(&mut self, from: PeerId, bytes: &[u8]) {
        let envelope = match decode(bytes) {
            Ok(envelope) => envelope,
            Err(e) => return self.reject(from, Reject::Malformed(e)),
        };
        if !self.members.contains(&from) {
            return self.reject(from, Reject::Stranger);
        }
        if envelope.from != from {
            let claimed = envelope.from;
            return self.reject(from, Reject::Impersonation { claimed });
        }
        self.heard_from(from);
        self.clock.observe(envelope.clock);
        self.on_body(envelope.timestamp(), envelope.body);
    }

    /// A frame from `peer` proves it reachable; an outage reported for it
    /// is over.
    fn heard_from(&mut self, peer: PeerId) {
        self.heard_from_any = self.now;
        if std::mem::take(&mut self.cut_off) && self.election.is_resigned() {
            // Back in touch: a candidate again, and the bully rule decides.
            self.elect(ElectionInput::Start, ElectionCause::Reconnected);
        }
        self.reached.insert(peer);
        if let Some(began) = self.outages.remove(&peer) {
            let lasted = self.now.saturating_sub(began);
            self.event(Event::OutageEnded { peer, lasted });
        }
    }

    /// The transport cannot reach `peer`. An outage of a peer reached
    /// before is reported once; a peer never reached (not started yet,
    /// perhaps) is not news. An unreachable trader is lost.
    fn on_unreachable(&mut self, peer: PeerId) {
        if self.reached.contains(&peer) && !self.outages.contains_key(&peer) {
            self.outages.insert(peer, self.now);
            self.event(Event::OutageBegan { peer });
        }
        if self.follows(peer) {
            let cause = ElectionCause::TraderUnreachable { trader: peer };
            self.elect(ElectionInput::LeaderLost, cause);
        }
    }

    fn on_body(&mut self, at: Timestamp, body: Body) {
        let from = at.peer;
        match body {
            Body::Election(msg) => {
                let cause = match msg {
                    ElectionMessage::Election { epoch } | ElectionMessage::Alive { epoch }
                        if from > self.id() =>
                    {
                        ElectionCause::NewerEpoch { epoch }
                    }
                    ElectionMessage::Alive { epoch } => ElectionCause::NewerEpoch { epoch },
                    ElectionMessage::Election { .. } => ElectionCause::LowerPeerCalled { by: from },
                    ElectionMessage::Coordinator { .. } => {
                        ElectionCause::LowerPeerClaimed { by: from }
                    }
                    ElectionMessage::Resign { .. } => {
                        ElectionCause::TraderResigned { trader: from }
                    }
                };
                self.elect(ElectionInput::Message { from, msg }, cause);
            }
            Body::Heartbeat { epoch } => self.on_heartbeat(from, epoch),
            // Proof enough that the trader is not cut off: heard_from.
            Body::Following { .. } => {}
            Body::Offer(offer) => self.desk_takes(TraderInput::Offer { at, offer }),
            Body::Buy(buy) => self.desk_takes(TraderInput::Buy { at, buy }),
            Body::Deposited(deposited) => {
                self.store_outage = None;
                self.seller_takes(SellerInput::Deposited(deposited));
            }
            Body::Sale(notice) => self.seller_takes(SellerInput::Sale(notice)),
            Body::BuyReply(reply) => {
                // A trader answers from books: the store is back.
                self.store_outage = None;
                if let Some(first_sent) = self.asked_at.remove(&reply.id) {
                    self.event(Event::Answered {
                        request: reply.id,
                        product: reply.product,
                        requested: reply.requested,
                        filled: reply.filled(),
                        fills: reply.fills.clone(),
                        latency: self.now.saturating_sub(first_sent),
                    });
                }
                self.buyer_takes(BuyerInput::Reply(reply));
            }
        }
    }

    fn on_heartbeat(&mut self, from: PeerId, epoch: Epoch) {
        if self.trader == Some((from, epoch)) && from != self.id() {
            self.heard_from_trader = self.now;
            let after = self.config.timing.heartbeat_timeout;
            self.out.push(Action::SetTimer {
                timer: PeerTimer::TraderSilent,
                after,
            });
            let quiet = self.now.saturating_sub(self.sent_to_trader);
            if quiet >= self.config.timing.heartbeat_interval {
                self.send(from, Body::Following { epoch });
            }
        } else {
            // A heartbeat repeats its trader's claim: a newer trader whose
            // announcement we missed is followed (or bullied), and a stale
            // one is answered with the newer epoch so it steps down.
            let msg = ElectionMessage::Coordinator { epoch };
            let cause = ElectionCause::LowerPeerClaimed { by: from };
            self.elect(ElectionInput::Message { from, msg }, cause);
        }
    }

    fn on_timer(&mut self, timer: PeerTimer) {
        match timer {
            PeerTimer::Election(t) => {
                self.elect(ElectionInput::Timer(t), ElectionCause::NoAnnouncement)
            }
            PeerTimer::Buyer(t) => self.buyer_takes(BuyerInput::Timer(t)),
            PeerTimer::Seller(t) => self.seller_takes(SellerInput::Timer(t)),
            PeerTimer::Heartbeat => {
                if let Some(epoch) = self.desk.as_ref().map(Desk::epoch) {
                    self.broadcast(&Body::Heartbeat { epoch });
                    let after = self.config.timing.heartbeat_interval;
                    self.out.push(Action::SetTimer {
                        timer: PeerTimer::Heartbeat,
                        after,
                    });
                }
            }
            PeerTimer::Lease => self.on_lease_due(),
            PeerTimer::Books => self.retry_books(),
            PeerTimer::TraderSilent => match self.trader {
                Some((trader, _)) if trader != self.id() => {
                    let cause = ElectionCause::TraderSilent { trader };
                    self.elect(ElectionInput::LeaderLost, cause);
                }
                None if self.election.is_resigned() => {
                    if self.cut_off {
                        // Still cut off from every other peer: a term now
                        // would take the books from whoever trades beyond
                        // the cut. Let the others hear from it (another
                        // peer cut off alike rejoins on hearing it), and
                        // look again later.
                        let epoch = self.election.epoch();
                        self.broadcast(&Body::Following { epoch });
                        self.out.push(Action::SetTimer {
                            timer: PeerTimer::TraderSilent,
                            after: self.config.timing.heartbeat_timeout,
                        });
                    } else {
                        // It resigned and nobody took over (every other
                        // peer down, or resigned too): run again.
                        self.elect(ElectionInput::Start, ElectionCause::NoSuccessor);
                    }
                }
                _ => {}
            },
            PeerTimer::Resign => {
                if self.desk.is_some() {
                    self.resign();
                }
            }
        }
    }

    // --- the election -----------------------------------------------------

    /// The trader resigns; it starts no election (it abstains from the one
    /// that follows).
    fn resign(&mut self) {
        self.elect(ElectionInput::Resign, ElectionCause::NoSuccessor);
    }

    /// Hands `input` to the election and performs what it asks. Whether
    /// that starts an election of this peer's is the election's to say
    /// (`ElectionStarted`); why is the caller's: `cause`, what made it feed
    /// `input`.
    fn elect(&mut self, input: ElectionInput<PeerId>, cause: ElectionCause) {
        let actions = self.election.handle(input);
        // The highest live peer, told of a newer epoch, steps down and
        // claims past it in one breath: the trade carries on into the new
        // epoch (the books fenced again there) rather than closing the desk
        // and announcing a new coordinator. Otherwise a lower peer that
        // cannot hear it yet (a connection still coming up) claims again
        // and again, and each claim would cost a new term.
        let carries_on = self.desk.is_some()
            && actions
                .iter()
                .any(|a| matches!(a, ElectionAction::SteppedDown { .. }))
            && actions
                .iter()
                .any(|a| matches!(a, ElectionAction::BecameLeader { .. }));
        for action in actions {
            match action {
                ElectionAction::ElectionStarted { epoch } => {
                    self.event(Event::ElectionStarted { cause, epoch });
                }
                ElectionAction::Send { to, msg } => self.send(to, Body::Election(msg)),
                ElectionAction::SetTimer { timer, after } => {
                    self.out.push(Action::SetTimer {
                        timer: PeerTimer::Election(timer),
                        after,
                    });
                }
                ElectionAction::CancelTimer(timer) => {
                    self.out
                        .push(Action::CancelTimer(PeerTimer::Election(timer)));
                }
                ElectionAction::LeaderIs { leader, epoch } => self.follow(leader, epoch),
                ElectionAction::BecameLeader { epoch } => self.become_trader(epoch),
                ElectionAction::SteppedDown { .. } if carries_on => {}
                ElectionAction::SteppedDown { epoch } => self.step_down(epoch),
                ElectionAction::LeaderGone { .. } => {
                    self.trader = None;
                    self.out.push(Action::CancelTimer(PeerTimer::TraderSilent));
                    self.tell_roles(None);
                }
                ElectionAction::Refused {
                    from,
                    epoch,
                    reason,
                } => self.reject(from, Reject::Epoch { epoch, reason }),
            }
        }
    }

    fn follow(&mut self, trader: PeerId, epoch: Epoch) {
        self.trader = Some((trader, epoch));
        self.heard_from_trader = self.now;
        let after = self.config.timing.heartbeat_timeout;
        self.out.push(Action::SetTimer {
            timer: PeerTimer::TraderSilent,
            after,
        });
        self.event(Event::Following { trader, epoch });
        self.tell_roles(Some(trader));
    }

    /// Won an election: open a desk that waits for its books, and pause
    /// this peer's own buying and selling for the term.
    fn become_trader(&mut self, epoch: Epoch) {
        let id = self.id();
        self.trader = Some((id, epoch));
        if let Some(desk) = self.desk.as_mut() {
            // It claimed past a newer epoch while trading: the same trader,
            // its timers running, fenced again at the new epoch.
            desk.carry_on(epoch);
            self.load_books(epoch);
            return;
        }
        self.desk = Some(Desk::loading(epoch));
        self.store_down_since = None;
        // The term starts heard: isolation is judged from here.
        self.heard_from_any = self.now;
        self.out.push(Action::CancelTimer(PeerTimer::TraderSilent));
        self.load_books(epoch);
        let interval = self.config.timing.heartbeat_interval;
        self.out.push(Action::SetTimer {
            timer: PeerTimer::Heartbeat,
            after: interval,
        });
        self.out.push(Action::SetTimer {
            timer: PeerTimer::Lease,
            after: self.renew_every(),
        });
        if let Some(after) = self.config.resign.after {
            self.out.push(Action::SetTimer {
                timer: PeerTimer::Resign,
                after,
            });
        }
        self.tell_roles(Some(id));
    }

    /// The term of `epoch` is over (resigned or deposed): close the desk
    /// and resume this peer's own role.
    fn step_down(&mut self, epoch: Epoch) {
        // A term given up (resigned, cut off, or conceded to a newer
        // epoch) gives its lease back, so that the successor need not wait
        // for it to run out; a fenced term has no lease left to give.
        if self.desk.as_ref().is_some_and(Desk::was_open) {
            let lease = Duration::ZERO;
            self.out.push(Action::RenewLease { epoch, lease });
        }
        self.close_desk();
        self.trader = None;
        let resigned = self.election.is_resigned();
        if resigned {
            // With every peer resigned nobody would ever run again: wait
            // for a successor as a follower waits for heartbeats (see the
            // peer rules test `a_resigned_trader_runs_again_when_nobody_takes_over`).
            let after = self.config.timing.heartbeat_timeout;
            self.out.push(Action::SetTimer {
                timer: PeerTimer::TraderSilent,
                after,
            });
        }
        self.event(Event::SteppedDown { epoch, resigned });
        self.tell_roles(None);
    }

    /// Whether `peer` is the trader this peer follows (not itself).
    fn follows(&self, peer: PeerId) -> bool {
        self.trader
            .is_some_and(|(t, _)| t == peer && t != self.id())
    }

    // --- the trader's desk ------------------------------------------------

    fn desk_takes(&mut self, input: TraderInput) {
        let Some(desk) = self.desk.as_mut() else {
            return; // Not the trader: the sender times out and re-elects.
        };
        if let Some(answers) = desk.take(input) {
            self.answer(answers);
        }
    }

    /// Serves the batch gathered since the last one, unless a commit is in
    /// flight: the next batch gathers meanwhile (group commit).
    fn flush(&mut self) {
        if self.commit.is_some() {
            return;
        }
        let Some(desk) = self.desk.as_mut() else {
            return;
        };
        let epoch = desk.epoch();
        if let Some(persist) = desk.flush() {
            self.start_commit(epoch, persist);
        }
    }

    fn on_books(&mut self, epoch: Epoch, book: Book) {
        let Some(desk) = self.desk.as_mut().filter(|d| d.epoch() == epoch) else {
            return; // A load for a term since ended.
        };
        let reloaded = desk.was_open() || desk.carried_on();
        let answers = desk.open(book);
        self.store_down_since = None;
        self.store_outage = None;
        // The lab's announcement waits for the books: a claim the store
        // refuses (a restarted peer's forgotten epoch) never trades, and
        // saying "I am the new coordinator" for it would mislead.
        if reloaded {
            self.event(Event::BooksReloaded { epoch });
        } else {
            let id = self.id();
            self.event(Event::Coordinator { id, epoch });
        }
        self.answer(answers);
    }

    /// Asks the driver for the books of the term of `epoch`: a first load
    /// (fence, lease) or, once they were open, a reload.
    fn load_books(&mut self, epoch: Epoch) {
        let reload = self.desk.as_ref().is_some_and(Desk::was_open);
        if reload {
            self.out.push(Action::ReloadBooks { epoch });
        } else {
            self.out.push(Action::LoadBooks {
                epoch,
                trader: self.id(),
                lease: self.config.timing.lease,
                pricing: self.config.pricing,
            });
        }
    }

    /// The Books timer: try the store again, if still waiting on it. Not
    /// while a commit of the term is in flight: it may land after the books
    /// are read, and the next batch, served from books that miss it, would
    /// be committed beside it. Its answer comes first.
    fn retry_books(&mut self) {
        let Some(epoch) = self.desk.as_ref().filter(|d| !d.is_open()).map(Desk::epoch) else {
            return;
        };
        if self.commit.as_ref().is_some_and(|c| c.epoch == epoch) {
            self.out.push(Action::SetTimer {
                timer: PeerTimer::Books,
                after: self.config.timing.heartbeat_interval,
            });
        } else {
            self.load_books(epoch);
        }
    }

    /// How often a trader renews its lease: five times a lease.
    fn renew_every(&self) -> Duration {
        (self.config.timing.lease / 5).max(Duration::from_millis(1))
    }

    /// The Lease timer. A trader that has heard from another peer within a
    /// heartbeat timeout renews its lease on the books; one cut off from
    /// every other peer gives up its term, so that the connected peers can
    /// take over once the lease runs out (the store refuses them until
    /// then).
    fn on_lease_due(&mut self) {
        let Some((epoch, open)) = self.desk.as_ref().map(|d| (d.epoch(), d.was_open())) else {
            return;
        };
        let quiet = self.now.saturating_sub(self.heard_from_any);
        if self.members.len() > 1 && quiet >= self.config.timing.heartbeat_timeout {
            self.event(Event::CutOff { epoch, quiet });
            self.resign();
            self.cut_off = true;
            return;
        }
        // A claim still waiting for the books holds no lease to renew.
        if open {
            let lease = self.config.timing.lease;
            self.out.push(Action::RenewLease { epoch, lease });
        }
        self.out.push(Action::SetTimer {
            timer: PeerTimer::Lease,
            after: self.renew_every(),
        });
    }

    /// Asks the driver to commit a batch, and holds what it answers until
    /// the commit is durable.
    fn start_commit(&mut self, epoch: Epoch, persist: Persist) {
        let id = self.next_commit;
        self.next_commit = CommitId(id.0 + 1);
        self.commit = Some(InFlight {
            id,
            epoch,
            asked: self.now,
            held: persist.then,
        });
        self.out.push(Action::Commit {
            commit: id,
            epoch,
            batch: Box::new(persist.batch),
        });
    }

    /// What the desk answers at once (a recorded reply, an acknowledged
    /// deposit, a refusal). While a commit is in flight, an answer may come
    /// from the batch being committed, so it waits for that commit too.
    fn answer(&mut self, answers: Vec<TraderAction>) {
        for action in answers {
            match self.commit.as_mut() {
                Some(in_flight) if !matches!(action, TraderAction::Refused { .. }) => {
                    in_flight.held.push(action);
                }
                _ => self.release(action),
            }
        }
    }

    fn on_committed(&mut self, commit: CommitId) {
        let Some(in_flight) = self.commit.take_if(|c| c.id == commit) else {
            return; // A commit of a term since ended.
        };
        let latency = self.now.saturating_sub(in_flight.asked);
        self.event(Event::Committed { commit, latency });
        for action in in_flight.held {
            self.release(action);
        }
    }

    /// The store refused or failed the commit `commit`. What it held never
    /// leaves, and the next batch may go; the term takes the failure as
    /// any other of the store's. A commit no longer in flight (of a term
    /// since ended) held nothing any more.
    fn on_commit_failed(&mut self, commit: CommitId, failure: StoreFailure) {
        if let Some(in_flight) = self.commit.take_if(|c| c.id == commit) {
            self.on_store_failed(in_flight.epoch, failure);
        }
    }

    fn release(&mut self, action: TraderAction) {
        match action {
            TraderAction::Deposited { to, deposited } => self.send(to, Body::Deposited(deposited)),
            TraderAction::Reply { to, reply } => self.send(to, Body::BuyReply(reply)),
            TraderAction::Notify { to, notice } => self.send(to, Body::Sale(notice)),
            TraderAction::Sold(entry) => {
                self.event(Event::Sold(entry));
                let due = self.config.resign.after_sales;
                if let Some(desk) = self.desk.as_mut() {
                    desk.count_sale();
                    if due.is_some_and(|k| desk.sales() >= k) {
                        self.resign();
                    }
                }
            }
            TraderAction::Refused { from, error } => self.reject(from, Reject::Market(error)),
        }
    }

    /// The store refused or failed one of this term's calls (a commit's
    /// failure has dropped the commit already: [`Peer::on_commit_failed`]).
    ///
    /// - Fenced: a newer trader opened the books. Nothing held may leave,
    ///   the desk closes, and the election learns the epoch the store holds,
    ///   steps down and runs again past it.
    /// - Leased: a live trader holds the books. This peer keeps its claim
    ///   and its followers, and tries again when the lease runs out.
    /// - Unavailable: the store cannot be reached. What a failed commit held
    ///   was dropped (its outcome is unknown: buyers retry, and are answered
    ///   from the books the store holds), and the books are loaded again,
    ///   every heartbeat interval, once no commit of the term is in flight
    ///   (after a failed renewal one may be, and land after books read
    ///   meanwhile); a store down for a whole lease ends the term, so that a
    ///   peer that can reach it may take over. A peer that already lost a
    ///   term to the same outage holds the next one twice as long (up to
    ///   16 leases): when no peer reaches the store, the office is not
    ///   passed around every lease.
    /// - Corrupt: the books cannot be trusted; the desk closes.
    fn on_store_failed(&mut self, epoch: Epoch, failure: StoreFailure) {
        if self.desk.as_ref().is_none_or(|d| d.epoch() != epoch) {
            // A call of a term since ended, or carried on from: its desk
            // is gone or loaded again at the newer epoch.
            return;
        }
        match failure {
            StoreFailure::Fenced { newest } => {
                self.close_desk();
                self.event(Event::DeskClosed { epoch, failure });
                self.elect(
                    ElectionInput::EpochSeen(newest),
                    ElectionCause::Fenced { newest },
                );
            }
            StoreFailure::Leased {
                holder,
                retry_after,
            } => {
                self.event(Event::BooksLeased {
                    epoch,
                    holder,
                    retry_after,
                });
                // The holder may give the lease back before it runs out
                // (stepping down to this claim): look again soon.
                let soon = self.config.timing.heartbeat_interval;
                self.out.push(Action::SetTimer {
                    timer: PeerTimer::Books,
                    after: retry_after.clamp(Duration::from_millis(1), soon),
                });
            }
            StoreFailure::Unavailable => {
                if let Some(desk) = self.desk.as_mut() {
                    desk.reload();
                }
                let since = *self.store_down_since.get_or_insert(self.now);
                let outage = *self.store_outage.get_or_insert(StoreOutage {
                    since: self.now,
                    terms_lost: 0,
                });
                self.event(Event::StoreUnavailable {
                    epoch,
                    down: self.now.saturating_sub(outage.since),
                });
                if self.now.saturating_sub(since) >= outage.patience(self.config.timing.lease) {
                    if let Some(outage) = self.store_outage.as_mut() {
                        outage.terms_lost += 1;
                    }
                    self.resign();
                } else {
                    self.out.push(Action::SetTimer {
                        timer: PeerTimer::Books,
                        after: self.config.timing.heartbeat_interval,
                    });
                }
            }
            StoreFailure::Corrupt => {
                self.close_desk();
                self.event(Event::DeskClosed { epoch, failure });
            }
        }
    }

    /// Ends this peer's term as trader. Sends held for the term's commit
    /// go with it (buyers and sellers retry, and a fenced commit's sends
    /// must never leave), or a commit still outstanding from this term would
    /// keep the next term's desk from ever flushing.
    fn close_desk(&mut self) {
        self.commit = None;
        if self.desk.take().is_some() {
            self.out.push(Action::CancelTimer(PeerTimer::Heartbeat));
            self.out.push(Action::CancelTimer(PeerTimer::Resign));
            self.out.push(Action::CancelTimer(PeerTimer::Lease));
            self.out.push(Action::CancelTimer(PeerTimer::Books));
        }
    }

    // --- buyer and seller -------------------------------------------------

    fn tell_roles(&mut self, trader: Option<PeerId>) {
        let (buyer_input, seller_input) = match trader {
            Some(t) => (BuyerInput::TraderIs(t), SellerInput::TraderIs(t)),
            None => (BuyerInput::TraderLost, SellerInput::TraderLost),
        };
        self.buyer_takes(buyer_input);
        self.seller_takes(seller_input);
    }

    fn buyer_takes(&mut self, input: BuyerInput) {
        let Some(buyer) = self.buyer.as_mut() else {
            return;
        };
        for action in buyer.handle(input) {
            match action {
                BuyerAction::Send { to, buy } => {
                    if let std::collections::btree_map::Entry::Vacant(first) =
                        self.asked_at.entry(buy.id)
                    {
                        first.insert(self.now);
                        self.event(Event::Asked {
                            request: buy.id,
                            product: buy.product,
                            quantity: buy.quantity,
                            trader: to,
                        });
                    }
                    self.send(to, Body::Buy(buy));
                }
                BuyerAction::SetTimer { timer, after } => {
                    self.out.push(Action::SetTimer {
                        timer: PeerTimer::Buyer(timer),
                        after,
                    });
                }
                BuyerAction::CancelTimer(timer) => {
                    self.out.push(Action::CancelTimer(PeerTimer::Buyer(timer)));
                }
                BuyerAction::SuspectTrader => self.suspect_trader(),
                BuyerAction::GaveUp { product } => self.event(Event::GaveUp { product }),
            }
        }
    }

    fn seller_takes(&mut self, input: SellerInput) {
        let Some(seller) = self.seller.as_mut() else {
            return;
        };
        for action in seller.handle(input) {
            match action {
                SellerAction::Send { to, offer } => self.send(to, Body::Offer(offer)),
                SellerAction::SetTimer { timer, after } => {
                    self.out.push(Action::SetTimer {
                        timer: PeerTimer::Seller(timer),
                        after,
                    });
                }
                SellerAction::CancelTimer(timer) => {
                    self.out.push(Action::CancelTimer(PeerTimer::Seller(timer)));
                }
                SellerAction::SuspectTrader => self.suspect_trader(),
                SellerAction::Offered { to, offer } => {
                    self.event(Event::Offered { offer, trader: to });
                }
                SellerAction::Credited(notice) => self.event(Event::Credited(notice)),
            }
        }
    }

    /// A request to the trader timed out. If its heartbeats still arrive,
    /// the trader is slow, not dead: the role re-sends, and an election
    /// (O(n²) messages in a bully) would only slow everyone further; with
    /// a thousand buyers it feeds on itself. A trader silent for a whole
    /// heartbeat interval is suspected at once, ahead of the heartbeat
    /// timeout.
    fn suspect_trader(&mut self) {
        if self.trader.is_none_or(|(t, _)| t == self.id()) {
            return;
        }
        let Some((trader, _)) = self.trader else {
            return;
        };
        let quiet = self.now.saturating_sub(self.heard_from_trader);
        if quiet >= self.config.timing.heartbeat_interval {
            let cause = ElectionCause::RequestUnanswered { trader };
            self.elect(ElectionInput::LeaderLost, cause);
        }
    }

    // --- output -----------------------------------------------------------

    /// Stamps `body` with a tick of the clock and sends it; a message to
    /// itself (a trader's sale notice to its own paused seller) is handled
    /// at once instead.
    fn send(&mut self, to: PeerId, body: Body) {
        let at = self.clock.tick();
        if to == self.id() {
            self.on_body(at, body);
        } else {
            if self.follows(to) {
                self.sent_to_trader = self.now;
            }
            let envelope = Envelope::new(self.id(), at.time, body);
            self.out.push(Action::Send { to, envelope });
        }
    }

    fn broadcast(&mut self, body: &Body) {
        let me = self.id();
        let others: Vec<PeerId> = self.members.iter().copied().filter(|&p| p != me).collect();
        for to in others {
            self.send(to, body.clone());
        }
    }

    fn reject(&mut self, from: PeerId, reason: Reject) {
        self.event(Event::Rejected { from, reason });
    }

    fn event(&mut self, event: Event) {
        self.out.push(Action::Event(event));
    }
}

/// An outage of the store as one peer sees it, across its terms.
#[derive(Debug, Clone, Copy)]
struct StoreOutage {
    /// When this peer first saw the store fail.
    since: Duration,
    /// How many of its terms the outage has ended.
    terms_lost: u32,
}

impl StoreOutage {
    /// How long a term waits on the store before it ends: a lease, then
    /// twice as long for each term already lost to this outage, up to 16
    /// leases.
    fn patience(&self, lease: Duration) -> Duration {
        lease * 2_u32.pow(self.terms_lost.min(4))
    }
}

/// The trader's one commit in flight: its id, and the sends that leave
/// once it is durable.
#[derive(Debug)]
struct InFlight {
    id: CommitId,
    /// The epoch it commits in.
    epoch: Epoch,
    /// When the driver was asked to commit it.
    asked: Duration,
    held: Vec<TraderAction>,
}
