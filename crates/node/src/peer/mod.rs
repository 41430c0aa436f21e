//! `Peer`: the pure composition of a Lamport clock, a bully election and the
//! trader, buyer and seller roles. An input goes in, actions come out; the
//! tokio runtime and the simulator are two drivers of this one type.

mod config;
mod desk;
mod io;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use bazaar_clock::LamportClock;
use bazaar_election::{
    Action as ElectionAction, Bully, Input as ElectionInput, Message as ElectionMessage,
};
use bazaar_market::{
    Book, Buyer, BuyerAction, BuyerInput, Seller, SellerAction, SellerInput, TraderAction,
    TraderInput,
};
use bazaar_protocol::{Body, Envelope, Epoch, PeerId, RequestId, Timestamp, decode};

pub use config::{PeerConfig, ResignPolicy, Timing};
use desk::Desk;
pub use io::{Action, Event, Input, PeerTimer};

/// One peer of the market. Pure: it never touches a socket, a file or the
/// wall clock; `now` arrives with each input.
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
    leader: Option<(PeerId, Epoch)>,
    /// When each unanswered buy was first sent, for response times.
    asked_at: BTreeMap<RequestId, Duration>,
    /// Sends of committed-to-be batches, held until their commit is durable.
    held: BTreeMap<u64, Vec<TraderAction>>,
    next_commit: u64,
    /// When the followed trader last proved itself alive.
    heard_from_trader: Duration,
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
            leader: None,
            asked_at: BTreeMap::new(),
            held: BTreeMap::new(),
            next_commit: 0,
            heard_from_trader: Duration::ZERO,
            now: Duration::ZERO,
            out: Vec::new(),
            config,
        }
    }

    /// Takes one input at time `now` (since the driver started) and returns
    /// the actions to perform, in order.
    pub fn handle(&mut self, now: Duration, input: Input) -> Vec<Action> {
        self.now = self.now.max(now);
        match input {
            Input::Start => self.elect(ElectionInput::Start),
            Input::Frame { from, bytes } => self.on_frame(from, &bytes),
            Input::Timer(timer) => self.on_timer(timer),
            Input::Unreachable(peer) => {
                if self.follows(peer) {
                    self.elect(ElectionInput::LeaderLost);
                }
            }
            Input::Drained => self.flush(),
            Input::BooksLoaded { epoch, book } => self.on_books(epoch, *book),
            Input::Committed { seq } => self.on_committed(seq),
            Input::StoreFailed { epoch, error } => self.on_store_failed(epoch, error),
            Input::Fenced { epoch, newest } => self.on_fenced(epoch, newest),
            Input::Resign => self.elect(ElectionInput::Resign),
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
    pub const fn leader(&self) -> Option<(PeerId, Epoch)> {
        self.leader
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
            Err(e) => return self.reject(from, format!("malformed frame: {e}")),
        };
        if !self.members.contains(&from) {
            return self.reject(from, "not a peer of this cluster".into());
        }
        if envelope.from != from {
            let claim = envelope.from;
            return self.reject(from, format!("envelope claims to be from peer {claim}"));
        }
        self.clock.observe(envelope.clock);
        self.on_body(envelope.timestamp(), envelope.body);
    }

    fn on_body(&mut self, at: Timestamp, body: Body) {
        let from = at.peer;
        match body {
            Body::Election(msg) => self.elect(ElectionInput::Message { from, msg }),
            Body::Heartbeat { epoch } => self.on_heartbeat(from, epoch),
            Body::Offer(offer) => self.desk_takes(TraderInput::Offer { at, offer }),
            Body::Buy(buy) => self.desk_takes(TraderInput::Buy { at, buy }),
            Body::Deposited(deposited) => self.seller_takes(SellerInput::Deposited(deposited)),
            Body::Sale(notice) => self.seller_takes(SellerInput::Sale(notice)),
            Body::BuyReply(reply) => {
                if let Some(first_sent) = self.asked_at.remove(&reply.id) {
                    self.event(Event::Answered {
                        request: reply.id,
                        product: reply.product,
                        filled: reply.filled(),
                        latency: self.now.saturating_sub(first_sent),
                    });
                }
                self.buyer_takes(BuyerInput::Reply(reply));
            }
        }
    }

    fn on_heartbeat(&mut self, from: PeerId, epoch: Epoch) {
        if self.leader == Some((from, epoch)) && from != self.id() {
            self.heard_from_trader = self.now;
            let after = self.config.timing.heartbeat_timeout;
            self.out.push(Action::SetTimer {
                timer: PeerTimer::TraderSilent,
                after,
            });
        } else {
            // A heartbeat repeats its trader's claim: a newer trader whose
            // announcement we missed is followed (or bullied), and a stale
            // one is answered with the newer epoch so it steps down.
            self.elect(ElectionInput::Message {
                from,
                msg: ElectionMessage::Coordinator { epoch },
            });
        }
    }

    fn on_timer(&mut self, timer: PeerTimer) {
        match timer {
            PeerTimer::Election(t) => self.elect(ElectionInput::Timer(t)),
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
            PeerTimer::TraderSilent => {
                if self.leader.is_some_and(|(l, _)| l != self.id()) {
                    self.elect(ElectionInput::LeaderLost);
                } else if self.leader.is_none() && self.election.is_resigned() {
                    // It resigned and nobody took over (every other peer
                    // down, or resigned too): run again.
                    self.elect(ElectionInput::Start);
                }
            }
            PeerTimer::Resign => {
                if self.desk.is_some() {
                    self.elect(ElectionInput::Resign);
                }
            }
        }
    }

    // --- the election -----------------------------------------------------

    fn elect(&mut self, input: ElectionInput<PeerId>) {
        for action in self.election.handle(input) {
            match action {
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
                ElectionAction::BecameLeader { epoch } => self.take_office(epoch),
                ElectionAction::SteppedDown { epoch } => self.leave_office(epoch),
                ElectionAction::LeaderGone { .. } => {
                    self.leader = None;
                    self.out.push(Action::CancelTimer(PeerTimer::TraderSilent));
                    self.tell_roles(None);
                }
            }
        }
    }

    fn follow(&mut self, leader: PeerId, epoch: Epoch) {
        self.leader = Some((leader, epoch));
        self.heard_from_trader = self.now;
        let after = self.config.timing.heartbeat_timeout;
        self.out.push(Action::SetTimer {
            timer: PeerTimer::TraderSilent,
            after,
        });
        self.event(Event::Following {
            trader: leader,
            epoch,
        });
        self.tell_roles(Some(leader));
    }

    fn take_office(&mut self, epoch: Epoch) {
        let id = self.id();
        self.leader = Some((id, epoch));
        self.desk = Some(Desk::loading(epoch));
        self.out.push(Action::CancelTimer(PeerTimer::TraderSilent));
        self.out.push(Action::LoadBooks { epoch });
        let interval = self.config.timing.heartbeat_interval;
        self.out.push(Action::SetTimer {
            timer: PeerTimer::Heartbeat,
            after: interval,
        });
        if let Some(after) = self.config.resign.after {
            self.out.push(Action::SetTimer {
                timer: PeerTimer::Resign,
                after,
            });
        }
        self.tell_roles(Some(id));
    }

    fn leave_office(&mut self, epoch: Epoch) {
        self.close_desk();
        self.leader = None;
        let resigned = self.election.is_resigned();
        if resigned {
            // Found by the simulator (seed 112, 3 peers): two traders cut
            // off from each other both resigned, and with every peer
            // resigned nobody ever ran again. Wait for a successor as a
            // follower waits for heartbeats.
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
        self.leader
            .is_some_and(|(l, _)| l == peer && l != self.id())
    }

    // --- the trader's desk ------------------------------------------------

    fn desk_takes(&mut self, input: TraderInput) {
        let Some(desk) = self.desk.as_mut() else {
            return; // Not the trader: the sender times out and re-elects.
        };
        let epoch = desk.epoch();
        if let Some(actions) = desk.take(input) {
            self.on_trader(epoch, actions);
        }
    }

    fn flush(&mut self) {
        if !self.held.is_empty() {
            return; // One commit at a time: the next batch gathers meanwhile.
        }
        let Some(desk) = self.desk.as_mut() else {
            return;
        };
        let epoch = desk.epoch();
        if let Some(actions) = desk.flush() {
            self.on_trader(epoch, actions);
        }
    }

    fn on_books(&mut self, epoch: Epoch, book: Book) {
        let Some(desk) = self.desk.as_mut().filter(|d| d.epoch() == epoch) else {
            return; // A load for an office since left.
        };
        let actions = desk.open(book);
        // The lab's announcement waits for the books: a claim the store
        // refuses (a restarted peer's forgotten epoch) never trades, and
        // saying "I am the new coordinator" for it would mislead.
        let id = self.id();
        self.event(Event::Coordinator { id, epoch });
        self.on_trader(epoch, actions);
    }

    /// Persist, then send: a batch's sends wait for its commit, and so does
    /// anything answered while a commit is outstanding.
    fn on_trader(&mut self, epoch: Epoch, actions: Vec<TraderAction>) {
        let mut holding = self.held.keys().next_back().copied();
        for action in actions {
            match action {
                TraderAction::Persist(batch) => {
                    let seq = self.next_commit;
                    self.next_commit += 1;
                    self.held.insert(seq, Vec::new());
                    holding = Some(seq);
                    self.out.push(Action::Commit {
                        seq,
                        epoch,
                        batch: Box::new(batch),
                    });
                }
                TraderAction::Refused { from, error } => self.reject(from, error.to_string()),
                other => match holding {
                    Some(seq) => self.held.entry(seq).or_default().push(other),
                    None => self.release(other),
                },
            }
        }
    }

    fn on_committed(&mut self, seq: u64) {
        for action in self.held.remove(&seq).unwrap_or_default() {
            self.release(action);
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
                        self.elect(ElectionInput::Resign);
                    }
                }
            }
            TraderAction::Persist(_) | TraderAction::Refused { .. } => {
                unreachable!("on_trader handles persist and refusals")
            }
        }
    }

    fn on_store_failed(&mut self, epoch: Epoch, error: String) {
        if self.desk.as_ref().is_none_or(|d| d.epoch() != epoch) {
            return;
        }
        // The store is behind this trader's book, or a newer trader fenced
        // it: nothing held may leave, and the desk closes. The peer stays a
        // candidate: the newer trader's heartbeat tells it the epoch to beat,
        // and the bully rule then decides who leads.
        self.close_desk();
        self.event(Event::Fenced { epoch, error });
    }

    /// Ends this peer's term as trader. Sends held for the term's commits
    /// go with it (buyers and sellers retry, and a fenced commit's sends
    /// must never leave), or a commit still outstanding from this term would
    /// keep the next term's desk from ever flushing.
    fn close_desk(&mut self) {
        self.desk = None;
        self.held.clear();
        self.out.push(Action::CancelTimer(PeerTimer::Heartbeat));
        self.out.push(Action::CancelTimer(PeerTimer::Resign));
    }

    /// The store has seen `newest`: this peer leads a term it cannot
    /// serve. Found by the simulator (seed 9, 5 peers): when the newer
    /// trader resigned or died before its epoch reached anyone, the fenced
    /// peer stayed leader of its old epoch with no desk, answering every
    /// election with its stale `Coordinator` and sending no heartbeats, so
    /// the market never elected a trader again. The election learns the
    /// epoch the store holds, steps down and runs again past it.
    fn on_fenced(&mut self, epoch: Epoch, newest: Epoch) {
        let error = format!("epoch {epoch} is fenced: the store has seen epoch {newest}");
        if self.desk.as_ref().is_none_or(|d| d.epoch() != epoch) {
            return;
        }
        self.on_store_failed(epoch, error);
        self.elect(ElectionInput::EpochSeen(newest));
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
                    self.asked_at.entry(buy.id).or_insert(self.now);
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
        if self.leader.is_none_or(|(l, _)| l == self.id()) {
            return;
        }
        let quiet = self.now.saturating_sub(self.heard_from_trader);
        if quiet >= self.config.timing.heartbeat_interval {
            self.elect(ElectionInput::LeaderLost);
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

    fn reject(&mut self, from: PeerId, reason: String) {
        self.event(Event::Rejected { from, reason });
    }

    fn event(&mut self, event: Event) {
        self.out.push(Action::Event(event));
    }
}
