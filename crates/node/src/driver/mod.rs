//! The `Driver`: a [`Peer`] with everything a shell would otherwise keep
//! beside it (its timers, the frames held back, the outbox, the store
//! calls in flight), sans-I/O, in quinn-proto's shape.
//!
//! The tokio [`Runtime`](crate::runtime::Runtime) and the
//! [simulator](crate::sim) are two shells of this one type: they move
//! bytes, time and store answers, and nothing else. What the simulator
//! checks is therefore what runs, store calls in flight included.

mod call;
mod digest;

use std::{
    collections::{BTreeMap, VecDeque},
    time::Duration,
};

use bazaar_protocol::{Body, Buy, Envelope, Epoch, PeerId, encode};
use bytes::Bytes;

pub use call::{CallId, StoreCall, Stored};
use digest::Digest;

use crate::{
    Action, CommitId, Event, Input, Peer, PeerTimer, StoreFailure, TimerQueue,
    held::HeldFrames,
    store::{Claim, StoreError},
};

/// One destination's frames, in the order sent: hand them to the
/// transport together (one write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The recipient.
    pub to: PeerId,
    /// Encoded envelopes, oldest first; never empty.
    pub frames: Vec<Bytes>,
}

/// One envelope a peer sent, in brief: what a checker of clocks and
/// request ids needs, without a copy of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The recipient.
    pub to: PeerId,
    /// The Lamport time it was sent at.
    pub clock: u64,
    /// The buy, if the message was one.
    pub buy: Option<Buy>,
}

/// A store call the driver waits on, and what its answer means to the
/// peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// A first load or a reload of the books of `epoch`.
    Books { epoch: Epoch },
    /// A renewal (or give-back) of the lease of `epoch`.
    Renewal { epoch: Epoch },
    /// The commit `commit` of `epoch`.
    Commit { epoch: Epoch, commit: CommitId },
}

impl Pending {
    const fn epoch(self) -> Epoch {
        match self {
            Self::Books { epoch } | Self::Renewal { epoch } | Self::Commit { epoch, .. } => epoch,
        }
    }
}

/// One peer, its timers, its held frames, its outbox and its store calls
/// in flight. Pure: time arrives as `now` (a `Duration` since the shell
/// started), and every effect waits to be polled.
///
/// # The shell's contract
///
/// Four kinds of method, as in quinn-proto's `Connection`:
///
/// - `handle_*`: an input arrived: a frame, an unreachable peer, a store
///   answer (by the [`CallId`] it was asked under), the operator's
///   resignation. [`Driver::handle_timeout`] fires the earliest timer due.
/// - [`Driver::drain`]: nothing more is queued right now (the end of a
///   burst of inputs): the trader serves what gathered since its last
///   batch. A shell drains after every burst, never less often.
/// - `poll_*`, after each burst, in this order: [`Driver::poll_store`]
///   (make each call, on any thread, in any order; answer each exactly once
///   with [`Driver::handle_stored`], however late), [`Driver::poll_transmit`]
///   (hand each to the transport), [`Driver::poll_event`] (tell whoever
///   watches).
/// - [`Driver::poll_timeout`]: when to call [`Driver::handle_timeout`]
///   next (a timer, or frames held back coming due).
///
/// Persist-then-send holds whatever the order in which store answers come
/// back: a batch's frames are not in the outbox until its commit's answer
/// has been handled.
#[derive(Debug)]
pub struct Driver {
    peer: Peer,
    timers: TimerQueue<PeerTimer>,
    /// Frames that may wait a moment for others to the same peer.
    held: HeldFrames,
    /// Frames of the steps since the last transmit, in the order sent.
    outbox: Vec<(PeerId, Bytes)>,
    /// Frames grouped by destination, ready to be polled.
    transmits: VecDeque<Transmit>,
    /// Store calls asked for and not yet answered.
    calls: BTreeMap<CallId, Pending>,
    /// Store calls not yet polled by the shell.
    asked: VecDeque<(CallId, StoreCall)>,
    next_call: u64,
    events: VecDeque<Event>,
    buf: Vec<u8>,
    digest: Digest,
    /// The peer's actions since the shell last took them, when it asked to
    /// see them (the simulator's checks and trace).
    recorded: Option<Vec<Action>>,
    /// Every envelope sent since the shell last took them, in brief, when
    /// it asked to see them.
    sent: Option<Vec<Sent>>,
    /// An empty vector for the peer's next actions, kept for its
    /// allocation.
    spare: Vec<Action>,
}

impl Driver {
    /// A driver of `peer`, which has not started yet.
    pub fn new(peer: Peer) -> Self {
        Self {
            peer,
            timers: TimerQueue::new(),
            held: HeldFrames::default(),
            outbox: Vec::new(),
            transmits: VecDeque::new(),
            calls: BTreeMap::new(),
            asked: VecDeque::new(),
            next_call: 0,
            events: VecDeque::new(),
            buf: Vec::with_capacity(256),
            digest: Digest::default(),
            recorded: None,
            sent: None,
            spare: Vec::new(),
        }
    }

    /// The peer, as it stands.
    pub const fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The peer, for an audit once the shell has stopped.
    pub fn into_peer(self) -> Peer {
        self.peer
    }

    /// Keeps a copy of every action the peer asks for, for
    /// [`Driver::take_recorded`]: what a checker or a trace looks at.
    pub fn record_actions(&mut self) {
        self.recorded.get_or_insert_with(Vec::new);
    }

    /// Keeps every envelope sent, in brief, for [`Driver::take_sent`]: what
    /// a checker of clocks and request ids looks at, cheaper than a copy of
    /// every action.
    pub fn record_sends(&mut self) {
        self.sent.get_or_insert_with(Vec::new);
    }

    /// Moves the envelopes sent since the last call, in order, to `into`.
    pub fn take_sent(&mut self, into: &mut Vec<Sent>) {
        if let Some(sent) = self.sent.as_mut() {
            into.append(sent);
        }
    }

    /// The actions recorded since the last call, in order.
    pub fn take_recorded(&mut self) -> Vec<Action> {
        self.recorded
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// A digest of every action the peer has asked for, in order (each
    /// send by the bytes it became): equal for two runs that did the same.
    pub const fn digest(&self) -> u64 {
        self.digest.value()
    }

    /// How many store calls are asked for and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.calls.len()
    }

    // --- inputs -----------------------------------------------------------

    /// The peer starts (or restarts from nothing but its store).
    pub fn handle_start(&mut self, now: Duration) {
        self.step(now, Input::Start);
    }

    /// A frame arrived from `from`, as the transport authenticated it.
    pub fn handle_frame(&mut self, now: Duration, from: PeerId, bytes: Vec<u8>) {
        self.step(now, Input::Frame { from, bytes });
    }

    /// The transport cannot reach `peer`.
    pub fn handle_unreachable(&mut self, now: Duration, peer: PeerId) {
        self.step(now, Input::Unreachable(peer));
    }

    /// The operator tells the trader to resign.
    pub fn handle_resign(&mut self, now: Duration) {
        self.step(now, Input::Resign);
    }

    /// Fires the earliest timer due at `now`, if any, and says which.
    /// Call it until it returns `None`.
    pub fn handle_timeout(&mut self, now: Duration) -> Option<PeerTimer> {
        let timer = self.timers.pop_due(now)?;
        self.step(now, Input::Timer(timer));
        Some(timer)
    }

    /// The store answered the call `call`. An answer for a call not in
    /// flight (answered already, superseded by a newer load, or of an
    /// earlier incarnation) is ignored.
    ///
    /// Each answer becomes one input of the peer, here and only here: books
    /// loaded, a commit durable, or a failure with what the peer needs to
    /// know of it; the store's own words go to the log.
    pub fn handle_stored(
        &mut self,
        now: Duration,
        call: CallId,
        answer: Result<Stored, StoreError>,
    ) {
        let Some(pending) = self.calls.remove(&call) else {
            return;
        };
        let epoch = pending.epoch();
        let input = match (pending, answer) {
            (Pending::Books { .. }, Ok(Stored::Books(book))) => Input::BooksLoaded { epoch, book },
            (Pending::Renewal { .. }, Ok(_)) => return,
            (Pending::Commit { commit, .. }, Ok(_)) => Input::Committed(commit),
            (Pending::Books { .. }, Ok(Stored::Done)) => {
                tracing::error!(
                    "peer {}: the shell answered a load of the books without books",
                    self.peer.id()
                );
                Input::StoreFailed {
                    epoch,
                    failure: StoreFailure::Corrupt,
                }
            }
            (_, Err(e)) => {
                if !matches!(e, StoreError::Fenced { .. } | StoreError::Leased { .. }) {
                    tracing::warn!(
                        "peer {}: store failed for epoch {epoch}: {e}",
                        self.peer.id()
                    );
                }
                let failure = e.failure();
                match pending {
                    Pending::Commit { commit, .. } => Input::CommitFailed { commit, failure },
                    Pending::Books { .. } | Pending::Renewal { .. } => {
                        Input::StoreFailed { epoch, failure }
                    }
                }
            }
        };
        self.step(now, input);
    }

    /// Nothing more is queued: the trader serves its batch.
    pub fn drain(&mut self, now: Duration) {
        self.step(now, Input::Drained);
    }

    /// Releases every frame held back, due or not: the shell is stopping
    /// and its peers may still hear them.
    pub fn release_held(&mut self) {
        self.held.release_all_into(&mut self.outbox);
    }

    // --- outputs ----------------------------------------------------------

    /// The next store call to make, with the id to answer it under.
    pub fn poll_store(&mut self) -> Option<(CallId, StoreCall)> {
        self.asked.pop_front()
    }

    /// The next frames to hand the transport at `now`: one destination's
    /// each, in the order sent, with any held frames that are due or bound
    /// for a peer written to anyway (in their place in that order).
    pub fn poll_transmit(&mut self, now: Duration) -> Option<Transmit> {
        if self.transmits.is_empty() {
            self.held.release_into(&mut self.outbox, now);
            if self.outbox.len() > 1 {
                // Stable: a destination's frames keep their order.
                self.outbox.sort_by_key(|(to, _)| *to);
            }
            for (to, frame) in self.outbox.drain(..) {
                match self.transmits.back_mut() {
                    Some(last) if last.to == to => last.frames.push(frame),
                    _ => self.transmits.push_back(Transmit {
                        to,
                        frames: vec![frame],
                    }),
                }
            }
        }
        self.transmits.pop_front()
    }

    /// The next thing that happened, for whoever watches.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Driver::handle_timeout`] is next due (a timer, or held
    /// frames coming due), if ever.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let timer = self.timers.next_deadline();
        let held = self.held.deadline();
        timer.into_iter().chain(held).min()
    }

    // --- the one step -----------------------------------------------------

    fn step(&mut self, now: Duration, input: Input) {
        let mut actions = self
            .peer
            .handle_into(now, input, std::mem::take(&mut self.spare));
        for action in actions.drain(..) {
            self.perform(now, action);
        }
        self.spare = actions;
    }

    fn perform(&mut self, now: Duration, action: Action) {
        let frame = match &action {
            Action::Send { to, envelope } => self.send(now, *to, envelope),
            Action::SetTimer { timer, after } => {
                self.timers.set(*timer, now + *after);
                None
            }
            Action::CancelTimer(timer) => {
                self.timers.cancel(timer);
                None
            }
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
                let call = StoreCall::Open {
                    claim,
                    pricing: *pricing,
                };
                self.ask(Pending::Books { epoch: *epoch }, call);
                None
            }
            Action::ReloadBooks { epoch } => {
                let epoch = *epoch;
                self.ask(Pending::Books { epoch }, StoreCall::Reload { epoch });
                None
            }
            Action::RenewLease { epoch, lease } => {
                let (epoch, lease) = (*epoch, *lease);
                self.ask(
                    Pending::Renewal { epoch },
                    StoreCall::Renew { epoch, lease },
                );
                None
            }
            Action::Commit { .. } | Action::Event(_) => None,
        };
        self.digest.action(&action, frame.as_deref());
        let kept = self.hand_over(action);
        if let (Some(recorded), Some(action)) = (self.recorded.as_mut(), kept) {
            recorded.push(action);
        }
    }

    /// Encodes an envelope for `to` and holds it back or puts it in the
    /// outbox; returns the frame, unless it could not be encoded.
    fn send(&mut self, now: Duration, to: PeerId, envelope: &Envelope) -> Option<Bytes> {
        let mut frame = None;
        self.buf.clear();
        if let Err(e) = encode(envelope, &mut self.buf) {
            tracing::warn!(
                "peer {}: cannot encode a message for peer {to}: {e}",
                self.peer.id()
            );
        } else {
            let bytes = Bytes::copy_from_slice(&self.buf);
            if envelope.body.may_wait() {
                self.held.hold(to, bytes.clone(), now);
            } else {
                // Frames held for `to` were sent before this one.
                self.held.release_before(to, &mut self.outbox);
                self.outbox.push((to, bytes.clone()));
            }
            frame = Some(bytes);
        }
        if let Some(sent) = self.sent.as_mut() {
            let buy = match &envelope.body {
                Body::Buy(buy) => Some(*buy),
                _ => None,
            };
            sent.push(Sent {
                to,
                clock: envelope.clock,
                buy,
            });
        }
        frame
    }

    /// Hands what a store call or the watcher takes over to it (a commit
    /// to the store, an event to the watcher), moved; returns the action
    /// for the record, a copy only when the shell asked for one.
    fn hand_over(&mut self, action: Action) -> Option<Action> {
        let recording = self.recorded.is_some();
        match action {
            Action::Commit {
                commit,
                epoch,
                batch,
            } => {
                let kept = recording.then(|| Action::Commit {
                    commit,
                    epoch,
                    batch: batch.clone(),
                });
                self.ask(
                    Pending::Commit { epoch, commit },
                    StoreCall::Commit { epoch, batch },
                );
                kept
            }
            Action::Event(event) => {
                let kept = recording.then(|| Action::Event(event.clone()));
                self.events.push_back(event);
                kept
            }
            action => recording.then_some(action),
        }
    }

    /// Asks the shell for a store call. A load of the books supersedes
    /// any earlier load still in flight: the books it reads may be older
    /// than what the trader committed after the earlier one answered, so
    /// only the newest load's answer reaches the peer.
    fn ask(&mut self, pending: Pending, call: StoreCall) {
        if matches!(pending, Pending::Books { .. }) {
            self.calls
                .retain(|_, earlier| !matches!(earlier, Pending::Books { .. }));
        }
        let id = CallId(self.next_call);
        self.next_call += 1;
        self.calls.insert(id, pending);
        self.asked.push_back((id, call));
    }
}
