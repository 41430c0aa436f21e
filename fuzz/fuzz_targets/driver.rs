//! The node's `Driver` of one peer, fed an arbitrary story (frames from its
//! peers, raw or well-formed, unreachable peers, time and its timers,
//! resignations, drains, and the store's answers to its calls, in any
//! order, from a real shared `MemStore`), never panics and keeps its
//! contract: nothing of a batch leaves before its commit is reported
//! durable (persist, then send), one commit is in flight at a time,
//! `in_flight` counts the calls not yet answered, each destination's
//! envelopes carry strictly increasing Lamport times no later than the
//! peer's, and an answer to a call not in flight changes nothing.
//!
//! The shell here is honest: it polls after every input, as a shell does
//! after every burst, and answers each call it polled once, in any order,
//! with what a store could answer. A successful answer is the call run on
//! the store; a fence is another peer really opening the store at a newer
//! epoch before the call runs; a lost connection is an `Io` error, with the
//! call run first or not (a commit whose outcome is unknown); a lease held
//! by another peer is answered to an open only. Its store keeps no lease
//! (its clock reads the end of time), so a lease refuses only when the
//! story says so.
//!
//! The story is written in [`Step`], a mirror of the driver's inputs that
//! the shell maps to a real input in the state it is in: epochs and Lamport
//! times relative to the peer's, ids of its own requests and offers, so
//! that the fuzzer reaches elections, terms, batches and their commits.
#![no_main]

use std::{collections::BTreeMap, time::Duration};

use arbitrary::{Arbitrary, Unstructured};
use bazaar_market::{Answer, Book, LedgerEntry, Pricing};
use bazaar_node::{
    CallId, Driver, Event, Peer, PeerConfig, Role, StoreCall, Stored, Transmit,
    store::{Claim, MemStore, Store, StoreClock, StoreError},
};
use bazaar_protocol::{
    Body, Buy, BuyReply, Deposited, ElectionMessage, Envelope, Epoch, Fill, Money, Offer, OfferId,
    PeerId, Product, RequestId, SaleNotice, decode, encode,
};
use libfuzzer_sys::fuzz_target;

/// A whole run: the market's size, which peer is driven and its role, the
/// story.
#[derive(Debug)]
struct Case {
    n: u32,
    id: u32,
    role: Role,
    steps: Vec<Step>,
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(2..=7)?;
        let id = u.int_in_range(1..=n)?;
        let role = *u.choose(&Role::ALL)?;
        let steps = u.arbitrary_iter()?.collect::<arbitrary::Result<_>>()?;
        Ok(Self { n, id, role, steps })
    }
}

/// One thing that happens to the driven peer, mapped to an input by
/// [`Shell::step`].
#[derive(Debug, Arbitrary)]
enum Step {
    /// A frame arrives from peer `from` (a member, the peer itself, or a
    /// stranger: see [`Shell::peer`]).
    Frame { from: u8, frame: Frame },
    /// Another member deposits goods, in its own name and in step with the
    /// peer's clock: a shorter way to the frames a trader serves.
    Deposit {
        from: u8,
        seq: u8,
        product: u8,
        quantity: u8,
    },
    /// Another member asks for goods, likewise.
    Purchase {
        from: u8,
        seq: u8,
        product: u8,
        quantity: u8,
    },
    /// The transport cannot reach a peer.
    Unreachable(u8),
    /// Time passes, by this many milliseconds, and the timers due fire.
    Wait(u16),
    /// Time moves on to the next deadline, and the timers due fire.
    Next,
    /// The operator tells the peer to resign.
    Resign,
    /// Nothing more is queued: the trader serves its batch.
    Drain,
    /// The store answers one of the calls in flight.
    Answer { pick: u8, how: How },
    /// An answer arrives for a call not in flight: answered already, or
    /// never asked.
    Stale {
        pick: u8,
        never: bool,
        answer: StaleAnswer,
    },
    /// Another peer opens the store at a newer epoch: every call of an
    /// older one is refused from now on.
    Usurp { by: u8, bump: u8 },
}

/// Bytes as they come off the wire.
#[derive(Debug, Arbitrary)]
enum Frame {
    /// Whatever bytes.
    Raw(Vec<u8>),
    /// A well-formed envelope, in its sender's name or another's.
    Envelope {
        clock: Rel,
        claimed: Option<u8>,
        msg: Msg,
    },
}

/// A number relative to one the peer holds (its epoch, its Lamport time),
/// or any number at all.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Rel {
    Same,
    Ahead(u8),
    Behind(u8),
    Exact(u64),
}

impl Rel {
    fn from(self, base: u64) -> u64 {
        match self {
            Self::Same => base,
            Self::Ahead(d) => base.saturating_add(u64::from(d)),
            Self::Behind(d) => base.saturating_sub(u64::from(d)),
            Self::Exact(x) => x,
        }
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum ElectionKind {
    Election,
    Alive,
    Coordinator,
    Resign,
}

/// A message body. Ids of the peer's own requests and offers (in the
/// replies, receipts and notices it gets) are its own with a small
/// sequence number, as its buyer and seller number them.
#[derive(Debug, Arbitrary)]
enum Msg {
    Election(ElectionKind, Rel),
    Heartbeat(Rel),
    Following(Rel),
    /// A deposit, in the sender's name unless `owner` names another.
    Offer {
        seq: u8,
        product: u8,
        quantity: u8,
        owner: Option<u8>,
    },
    /// A receipt for one of the peer's own deposits.
    Deposited {
        seq: u8,
        remaining: u8,
    },
    /// A buy, in the sender's name unless `owner` names another.
    Buy {
        seq: u8,
        product: u8,
        quantity: u8,
        owner: Option<u8>,
    },
    /// A reply to one of the peer's own buys.
    BuyReply {
        seq: u8,
        product: u8,
        requested: u8,
        fills: Vec<(u8, u8, u16)>,
    },
    /// A sale of the peer's goods to `buyer`'s request `seq`.
    Sale {
        buyer: u8,
        seq: u8,
        product: u8,
        quantity: u8,
        credit: u16,
    },
}

/// How the store answers a call in flight.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum How {
    /// The call runs on the store: its own answer.
    Run,
    /// The connection dies: `Io`, after the call ran or before it did.
    Lost { ran: bool },
    /// Another peer opens the store at a newer epoch first; then the call
    /// runs (and is refused).
    Fenced { by: u8, bump: u8 },
    /// Another peer holds the lease: an open is refused with `Leased`
    /// (any other call runs, as the store never leases it).
    Leased { holder: u8, retry_ms: u16 },
}

/// What an answer to a call not in flight says.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum StaleAnswer {
    Done,
    Books,
    Lost,
}

fn product(k: u8) -> Product {
    Product::ALL[usize::from(k) % Product::ALL.len()]
}

fn lost() -> StoreError {
    StoreError::Io {
        path: "fuzz".into(),
        detail: "the connection died".into(),
    }
}

/// The shell: drives the peer through the story and keeps what it needs to
/// check the driver.
struct Shell {
    driver: Driver,
    store: MemStore,
    me: PeerId,
    n: u32,
    now: Duration,
    /// Calls polled and not yet answered, in the order polled.
    pending: Vec<(CallId, StoreCall)>,
    /// Calls answered.
    answered: Vec<CallId>,
    /// What the driver has been told is durable (a commit answered `Ok`,
    /// or books it was handed): each request's reply...
    replies: BTreeMap<RequestId, Vec<BuyReply>>,
    /// ...each notice to a seller of a sale for a request...
    notices: BTreeMap<(RequestId, PeerId), SaleNotice>,
    /// ...each sale...
    sales: BTreeMap<(RequestId, OfferId), LedgerEntry>,
    /// ...and each seller's highest deposit recorded.
    deposits: BTreeMap<PeerId, u64>,
    /// The Lamport time of the last envelope to each destination.
    last_clock: BTreeMap<PeerId, u64>,
}

impl Shell {
    fn new(case: &Case) -> Self {
        let peer = Peer::new(PeerConfig::simple(case.id, case.n, case.role));
        // Leases never refuse: the store's clock reads the end of time,
        // past every lease (see `How::Leased`).
        let clock = StoreClock::from_fn(|| u64::MAX);
        Self {
            driver: Driver::new(peer),
            store: MemStore::with(4, clock),
            me: PeerId(case.id),
            n: case.n,
            now: Duration::ZERO,
            pending: Vec::new(),
            answered: Vec::new(),
            replies: BTreeMap::new(),
            notices: BTreeMap::new(),
            sales: BTreeMap::new(),
            deposits: BTreeMap::new(),
            last_clock: BTreeMap::new(),
        }
    }

    /// Peer `k`: one of `1..=n` (itself among them), or a stranger (0 or
    /// `n + 1`).
    fn peer(&self, k: u8) -> PeerId {
        PeerId(u32::from(k) % (self.n + 2))
    }

    /// Another member than the driven peer (for the store's usurpers and
    /// lease holders).
    fn other(&self, k: u8) -> PeerId {
        let others: Vec<u32> = (1..=self.n).filter(|&p| p != self.me.0).collect();
        PeerId(others[usize::from(k) % others.len()])
    }

    fn start(&mut self) {
        self.driver.handle_start(self.now);
        self.poll();
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Frame { from, frame } => {
                let from = self.peer(*from);
                let bytes = match frame {
                    Frame::Raw(bytes) => bytes.clone(),
                    Frame::Envelope {
                        clock,
                        claimed,
                        msg,
                    } => {
                        let sender = claimed.map_or(from, |k| self.peer(k));
                        self.envelope(sender, *clock, msg)
                    }
                };
                self.driver.handle_frame(self.now, from, bytes);
            }
            &Step::Deposit {
                from,
                seq,
                product,
                quantity,
            } => {
                let from = self.other(from);
                let msg = Msg::Offer {
                    seq,
                    product,
                    quantity,
                    owner: None,
                };
                self.send(from, &msg);
            }
            &Step::Purchase {
                from,
                seq,
                product,
                quantity,
            } => {
                let from = self.other(from);
                let msg = Msg::Buy {
                    seq,
                    product,
                    quantity,
                    owner: None,
                };
                self.send(from, &msg);
            }
            Step::Unreachable(k) => {
                let peer = self.peer(*k);
                self.driver.handle_unreachable(self.now, peer);
            }
            Step::Wait(ms) => {
                self.now += Duration::from_millis(u64::from(*ms));
                self.fire();
            }
            Step::Next => {
                if let Some(at) = self.driver.poll_timeout() {
                    self.now = self.now.max(at);
                }
                self.fire();
            }
            Step::Resign => self.driver.handle_resign(self.now),
            Step::Drain => self.driver.drain(self.now),
            Step::Answer { pick, how } => self.answer(*pick, *how),
            Step::Stale {
                pick,
                never,
                answer,
            } => return self.stale(*pick, *never, *answer),
            Step::Usurp { by, bump } => {
                self.usurp(Epoch(0), *by, *bump);
                return;
            }
        }
        self.poll();
    }

    /// Fires every timer due now, as a shell does when its clock reaches
    /// the driver's timeout.
    fn fire(&mut self) {
        let mut fired = 0;
        while self.driver.handle_timeout(self.now).is_some() {
            fired += 1;
            // A timer fired is set again only for later: a timer due now
            // that fires forever would hang the shell.
            assert!(fired < 1_000, "timers fire forever at {:?}", self.now);
        }
    }

    /// `msg` from `from`, at its Lamport time, in its own name.
    fn send(&mut self, from: PeerId, msg: &Msg) {
        let bytes = self.envelope(from, Rel::Same, msg);
        self.driver.handle_frame(self.now, from, bytes);
    }

    /// `msg` as `sender` would encode it, at `clock` relative to the peer's
    /// Lamport time.
    fn envelope(&self, sender: PeerId, clock: Rel, msg: &Msg) -> Vec<u8> {
        let peer = self.driver.peer();
        let me = self.me;
        let epoch = |rel: &Rel| Epoch(rel.from(peer.epoch().0));
        let body = match msg {
            Msg::Election(kind, rel) => {
                let epoch = epoch(rel);
                Body::Election(match kind {
                    ElectionKind::Election => ElectionMessage::Election { epoch },
                    ElectionKind::Alive => ElectionMessage::Alive { epoch },
                    ElectionKind::Coordinator => ElectionMessage::Coordinator { epoch },
                    ElectionKind::Resign => ElectionMessage::Resign { epoch },
                })
            }
            Msg::Heartbeat(rel) => Body::Heartbeat { epoch: epoch(rel) },
            Msg::Following(rel) => Body::Following { epoch: epoch(rel) },
            Msg::Offer {
                seq,
                product: p,
                quantity,
                owner,
            } => Body::Offer(Offer {
                id: OfferId {
                    seller: owner.map_or(sender, |k| self.peer(k)),
                    seq: u64::from(*seq),
                },
                product: product(*p),
                quantity: u32::from(*quantity),
            }),
            Msg::Deposited { seq, remaining } => Body::Deposited(Deposited {
                offer: OfferId {
                    seller: me,
                    seq: u64::from(*seq),
                },
                remaining: u32::from(*remaining),
            }),
            Msg::Buy {
                seq,
                product: p,
                quantity,
                owner,
            } => Body::Buy(Buy {
                id: RequestId {
                    buyer: owner.map_or(sender, |k| self.peer(k)),
                    seq: u64::from(*seq),
                },
                product: product(*p),
                quantity: u32::from(*quantity),
            }),
            Msg::BuyReply {
                seq,
                product: p,
                requested,
                fills,
            } => Body::BuyReply(BuyReply {
                id: RequestId {
                    buyer: me,
                    seq: u64::from(*seq),
                },
                product: product(*p),
                requested: u32::from(*requested),
                fills: fills
                    .iter()
                    .map(|&(seller, quantity, price)| Fill {
                        seller: self.peer(seller),
                        quantity: u32::from(quantity),
                        unit_price: Money(u64::from(price)),
                    })
                    .collect(),
            }),
            Msg::Sale {
                buyer,
                seq,
                product: p,
                quantity,
                credit,
            } => Body::Sale(SaleNotice {
                request: RequestId {
                    buyer: self.peer(*buyer),
                    seq: u64::from(*seq),
                },
                product: product(*p),
                quantity: u32::from(*quantity),
                credit: Money(u64::from(*credit)),
            }),
        };
        let envelope = Envelope::new(sender, clock.from(peer.time()), body);
        let mut bytes = Vec::new();
        encode(&envelope, &mut bytes).expect("a small envelope encodes");
        bytes
    }

    /// Another peer opens the store at an epoch past both the store's and
    /// `past`: a real fence.
    fn usurp(&mut self, past: Epoch, by: u8, bump: u8) {
        let newest = self.store.epoch().expect("the store's epoch").max(past);
        let claim = Claim {
            epoch: Epoch(newest.0.saturating_add(1 + u64::from(bump % 3))),
            trader: self.other(by),
            lease: Duration::ZERO,
        };
        // A broken store refuses; the calls that run next say so.
        let _ = self.store.open(claim, &Pricing::default());
    }

    /// Answers one call in flight, as `how` says.
    fn answer(&mut self, pick: u8, how: How) {
        if self.pending.is_empty() {
            return;
        }
        let (call, what) = self.pending.remove(usize::from(pick) % self.pending.len());
        let answer = match how {
            How::Run => what.run(&self.store),
            How::Lost { ran } => {
                if ran {
                    let _ = what.run(&self.store);
                }
                Err(lost())
            }
            How::Fenced { by, bump } => {
                self.usurp(what.epoch(), by, bump);
                what.run(&self.store)
            }
            How::Leased { holder, retry_ms } => match what {
                StoreCall::Open { .. } => Err(StoreError::Leased {
                    holder: self.other(holder),
                    retry_after: Duration::from_millis(u64::from(retry_ms)),
                }),
                _ => what.run(&self.store),
            },
        };
        if let Ok(stored) = &answer {
            self.learn(&what, stored);
        }
        self.answered.push(call);
        self.driver.handle_stored(self.now, call, answer);
    }

    /// Records what an answer `Ok` tells the driver is durable.
    fn learn(&mut self, call: &StoreCall, stored: &Stored) {
        match (call, stored) {
            (StoreCall::Commit { batch, .. }, _) => {
                for offer in &batch.deposits {
                    self.deposit(offer.id);
                }
                for (served, sales) in batch.requests() {
                    let answer = Answer {
                        served: *served,
                        sales: sales.to_vec(),
                    };
                    self.reply(answer.reply());
                    for sale in sales {
                        self.sales.insert((sale.request, sale.offer), *sale);
                        let notice = self
                            .notices
                            .entry((served.request, sale.seller()))
                            .or_insert(SaleNotice {
                                request: served.request,
                                product: sale.product,
                                quantity: 0,
                                credit: Money::ZERO,
                            });
                        notice.quantity += sale.quantity;
                        notice.credit += sale.credit;
                    }
                }
            }
            (_, Stored::Books(book)) => self.learn_books(book),
            (_, Stored::Done) => {}
        }
    }

    fn learn_books(&mut self, book: &Book) {
        for (&seller, &seq) in book.deposited() {
            self.deposit(OfferId { seller, seq });
        }
        for answer in book.answers().values() {
            self.reply(answer.reply());
        }
    }

    fn deposit(&mut self, offer: OfferId) {
        let last = self.deposits.entry(offer.seller).or_default();
        *last = (*last).max(offer.seq);
    }

    fn reply(&mut self, reply: BuyReply) {
        let known = self.replies.entry(reply.id).or_default();
        if !known.contains(&reply) {
            known.push(reply);
        }
    }

    /// An answer for a call not in flight.
    fn stale(&mut self, pick: u8, never: bool, answer: StaleAnswer) {
        let call = if never || self.answered.is_empty() {
            // Past every id asked so far (pending ones included).
            let next = self
                .answered
                .iter()
                .chain(self.pending.iter().map(|p| &p.0));
            CallId(next.map(|c| c.0 + 1).max().unwrap_or(0) + 1_000 + u64::from(pick))
        } else {
            self.answered[usize::from(pick) % self.answered.len()]
        };
        let answer = match answer {
            StaleAnswer::Done => Ok(Stored::Done),
            StaleAnswer::Books => {
                let book = match self.store.books() {
                    Ok(Some(book)) => book,
                    _ => Book::new(Pricing::default()).expect("default prices"),
                };
                Ok(Stored::Books(Box::new(book)))
            }
            StaleAnswer::Lost => Err(lost()),
        };
        // Invariant 6: an answer for a call not in flight changes nothing
        // (the driver's whole state, its digest, its calls) and makes no
        // output.
        let state = format!("{:?}", self.driver);
        let (digest, in_flight) = (self.driver.digest(), self.driver.in_flight());
        self.driver.handle_stored(self.now, call, answer);
        assert_eq!(self.driver.digest(), digest, "a stale answer did something");
        assert_eq!(self.driver.in_flight(), in_flight);
        assert!(
            format!("{:?}", self.driver) == state,
            "an answer to {call:?}, not in flight, changed the driver"
        );
        assert!(self.driver.poll_store().is_none(), "a stale answer asked");
        assert!(
            self.driver.poll_transmit(self.now).is_none(),
            "a stale answer sent"
        );
        assert!(self.driver.poll_event().is_none(), "a stale answer told");
    }

    /// Polls everything, in the contract's order, checking each output.
    fn poll(&mut self) {
        let in_flight = self.driver.in_flight();
        let unanswered = self.pending.len();
        let mut asked = 0;
        while let Some((call, what)) = self.driver.poll_store() {
            asked += 1;
            if let StoreCall::Commit { epoch, .. } = &what {
                self.one_commit(call, *epoch);
            }
            if let StoreCall::Open { claim, .. } = &what {
                assert_eq!(claim.trader, self.me, "a claim in another's name");
            }
            assert!(
                !self.answered.contains(&call) && self.pending.iter().all(|(c, _)| *c != call),
                "call id {call:?} handed out twice"
            );
            self.pending.push((call, what));
        }
        // A load of the books supersedes every earlier load still in
        // flight: the driver no longer counts them, and ignores their
        // answers, as it does any answer to a call not in flight.
        let newest_load = self
            .pending
            .iter()
            .rev()
            .find(|(_, what)| is_load(what))
            .map(|(call, _)| *call);
        let superseded: Vec<CallId> = self
            .pending
            .iter()
            .filter(|(call, what)| is_load(what) && Some(*call) != newest_load)
            .map(|(call, _)| *call)
            .collect();
        let polled_before = self.pending.len() - asked;
        let old_superseded = self.pending[..polled_before]
            .iter()
            .filter(|(call, _)| superseded.contains(call))
            .count();
        let new_superseded = superseded.len() - old_superseded;
        self.pending.retain(|(call, _)| !superseded.contains(call));
        self.answered.extend(superseded);
        // Invariant 4: `in_flight` is the calls polled and not yet
        // answered, plus the calls not yet polled, but for loads since
        // superseded.
        assert_eq!(
            in_flight,
            unanswered - old_superseded + asked - new_superseded,
            "in_flight is not the calls unanswered ({unanswered}) and unpolled ({asked}), \
             less the loads superseded ({old_superseded} and {new_superseded})"
        );
        assert_eq!(self.driver.in_flight(), self.pending.len());
        while let Some(transmit) = self.driver.poll_transmit(self.now) {
            self.transmitted(transmit);
        }
        while let Some(event) = self.driver.poll_event() {
            self.told(&event);
        }
    }

    /// Invariant 3: one commit in flight at a time, of those the store may
    /// still take. A commit is asked only while no other commit of its
    /// epoch is in flight, and while every commit still in flight is of an
    /// epoch older than the store's: opened since at a newer one (its books
    /// read for this commit's term), the store refuses it, or took it
    /// before those books were read. A trader that left office with a
    /// commit in flight and came back does not wait for the old term's
    /// answer (the node's peer rule
    /// `a_commit_outstanding_from_an_earlier_term_does_not_block_the_next`),
    /// so the strict form, one commit in flight whatever its epoch, does
    /// not hold across terms, by design.
    fn one_commit(&self, call: CallId, epoch: Epoch) {
        let store = self.store.epoch().expect("the store's epoch");
        for (other, was) in &self.pending {
            if let StoreCall::Commit { epoch: was, .. } = was {
                assert!(
                    *was != epoch,
                    "commit {call:?} asked while commit {other:?} of the same epoch {} is in flight",
                    epoch.0
                );
                assert!(
                    *was < store,
                    "commit {call:?} of epoch {} asked while commit {other:?} of epoch {}, \
                     which the store (at epoch {}) may still take, is in flight",
                    epoch.0,
                    was.0,
                    store.0
                );
            }
        }
    }

    /// Checks one destination's frames.
    fn transmitted(&mut self, transmit: Transmit) {
        let to = transmit.to;
        assert!(!transmit.frames.is_empty(), "an empty transmit to {to}");
        assert!(
            to != self.me && (1..=self.n).contains(&to.0),
            "a transmit to {to}, not another member"
        );
        for bytes in &transmit.frames {
            let envelope = decode(bytes).expect("the driver sent a frame that does not decode");
            assert_eq!(envelope.from, self.me, "sent in another's name");
            // Invariant 5: each destination's envelopes carry strictly
            // increasing Lamport times (once the clock has saturated at
            // u64::MAX, after a forged time, it stays there), none later
            // than the peer's time.
            let time = self.driver.peer().time();
            assert!(
                envelope.clock <= time,
                "sent at {} past the peer's time {time}",
                envelope.clock
            );
            if let Some(&last) = self.last_clock.get(&to) {
                assert!(
                    envelope.clock > last || last == u64::MAX,
                    "to {to}: sent at {} after {last}",
                    envelope.clock
                );
            }
            self.last_clock.insert(to, envelope.clock);
            // Invariant 2: persist, then send. A reply, a sale notice or a
            // receipt leaves only once the commit of its batch was answered
            // `Ok`, or the books the driver was handed hold it.
            match envelope.body {
                Body::BuyReply(reply) => {
                    assert_eq!(reply.id.buyer, to, "{reply:?} to another");
                    assert!(
                        self.replies
                            .get(&reply.id)
                            .is_some_and(|known| known.contains(&reply)),
                        "{reply:?} sent to {to}, never reported durable"
                    );
                }
                Body::Sale(notice) => assert!(
                    self.notices.get(&(notice.request, to)) == Some(&notice),
                    "{notice:?} sent to {to}, never reported durable (durable: {:?})",
                    self.notices.get(&(notice.request, to))
                ),
                Body::Deposited(deposited) => {
                    assert_eq!(deposited.offer.seller, to, "{deposited:?} to another");
                    assert!(
                        self.deposits
                            .get(&to)
                            .is_some_and(|&last| deposited.offer.seq <= last),
                        "{deposited:?} sent to {to}, never reported durable"
                    );
                }
                _ => {}
            }
        }
    }

    /// Checks one event: a sale is told only once durable.
    fn told(&self, event: &Event) {
        if let Event::Sold(entry) = event {
            assert!(
                self.sales.get(&(entry.request, entry.offer)) == Some(entry),
                "{entry:?} told sold, never reported durable"
            );
        }
    }

    /// The end of the story: the frames still held leave, and are checked
    /// too.
    fn finish(&mut self) {
        self.driver.release_held();
        while let Some(transmit) = self.driver.poll_transmit(self.now) {
            self.transmitted(transmit);
        }
    }
}

fuzz_target!(|case: Case| {
    // Invariant 1: no story makes the driver panic (libFuzzer reports a
    // panic as a crash); invariants 2 to 6 are checked as the story goes.
    let mut shell = Shell::new(&case);
    shell.start();
    for step in &case.steps {
        shell.step(step);
    }
    shell.finish();
});

/// Whether a call loads the books (a first load or a reload).
const fn is_load(what: &StoreCall) -> bool {
    matches!(what, StoreCall::Open { .. } | StoreCall::Reload { .. })
}
