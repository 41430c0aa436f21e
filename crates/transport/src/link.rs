//! The link machine: one transport's connection policy towards one peer,
//! with no I/O in it.
//!
//! A [`Link`] decides when to dial, which connection to keep, when to give
//! up on queued frames and when to tell the node that the peer cannot be
//! reached. It never touches a socket, a task or the clock: a driver (tcp
//! and quic share one) feeds it [`Input`]s with the current time, drains
//! the [`Action`]s it queued with [`Link::poll_action`] and performs them,
//! in order.
//!
//! # The policy
//!
//! - **Lazy dial.** Nothing is dialled before the first frame. A frame
//!   queued while there is no connection, no dial and no retry timer dials
//!   at once.
//! - **Queue.** Frames wait in a queue of at most `queue_len`; a frame
//!   beyond that is dropped ([`Dropped::QueueFull`]). While a connection is
//!   up, the queue is handed out in [`Action::Write`]s of at most
//!   [`WRITE_BATCH`] frames, one write at a time: frames queued while a
//!   write is in progress go out together in the next one. The frames of
//!   the write in progress stay at the head of the queue
//!   ([`Link::in_flight`]) until they are written or lost, so a send
//!   costs no allocation.
//! - **Refused dial.** The peer is alive but closed our dial without
//!   answering (it keeps another connection, see arbitration): not an
//!   outage. The queue is kept and the dial is retried after
//!   `backoff_min`.
//! - **Failed dial: an outage.** No connection, no answer within
//!   `connect_timeout`, or the wrong peer answered. Every queued frame is
//!   dropped ([`Dropped::Unreachable`]); the first failure of an outage
//!   reports the peer unreachable ([`Action::ReportUnreachable`]), later
//!   ones do not. The next dial waits for the retry timer, whose delay
//!   starts at `backoff_min` and doubles at each failure up to
//!   `backoff_max`. The outage ends, and the delay resets, when a
//!   connection to the peer is up again (ours or theirs).
//! - **Frames sent during an outage** are queued for the next dial: that
//!   dial delivers them if it reaches the peer and drops them if it fails.
//!   So frames are dropped only as a whole queue at a failed dial, or in
//!   flight on a connection that is lost or replaced: what the peer
//!   receives is always in order, without duplicates, and after an outage
//!   it receives every frame from some frame on.
//! - **Probe after a loss.** When the connection is lost, the link dials
//!   once at once, queue or no queue, so that a peer that died is reported
//!   in milliseconds rather than at the next frame. Frames in flight on the
//!   lost connection are dropped ([`Dropped::ConnectionLost`]): some may
//!   have arrived, and sending them again could deliver them twice.
//!
//! # A peer that dials for itself (quic)
//!
//! Over quic each side dials for its own frames, so the peer's connection
//! is never offered to the link; the driver tells it [`Input::PeerUp`]
//! instead: the peer dialled us, so it is up.
//!
//! - **Its dial proves it listens.** If we hold no connection, the outage
//!   (if any) ends and the backoff resets; a retry timer is cancelled and
//!   the queue dialled at once; and a dial of ours under way is abandoned
//!   for a new one if it was started before we knew the peer was up (its
//!   first packets may have been lost to a socket not bound yet, and are
//!   retried only after a timeout). A dial started after the peer was
//!   known up is left alone: so two peers' dials cannot keep abandoning
//!   each other.
//! - **A restart.** If the peer dialled while its previous connection to
//!   us was still open (or that connection was reset), it lost its state:
//!   it was restarted, and a connection we hold leads to its previous
//!   incarnation. The link closes it (frames in flight are dropped, as on a loss)
//!   and dials at once. A connection held when the peer did not restart is
//!   kept.
//!
//! # Arbitration: one connection per pair of peers
//!
//! A connection carries both directions. Either side dials when it has
//! something to send and no connection, so both may dial at once. The
//! listener decides, on [`Input::Accepted`]: **a lower id refuses a dial
//! from a higher id while it is dialling that peer itself, or holds a
//! connection it dialled itself; every other dial is accepted and replaces
//! the connection held.** So when both dial at once, the lower id's
//! connection wins on both sides. A dialler always adopts a connection the
//! listener answered, and ignores a refusal while it holds a connection.
//!
//! **Half-open connections.** A peer dials only when it holds no
//! connection, so a dial from a peer that was already refused once while
//! the lower id kept the same connection means that connection is dead to
//! the peer (its host vanished without closing its sockets, and came
//! back): the second dial is accepted and replaces it. A refusal during a
//! simultaneous dial does not count, so the race still settles on the
//! lower id's connection without a loss.
//!
//! # The driver's contract
//!
//! - Call [`Link::handle`] with each input as it happens and the current
//!   time, then take the actions with [`Link::poll_action`] until it
//!   returns `None` and perform them in order. Inputs that performing an
//!   action produces (a write that finished at once) may be handled while
//!   draining; their actions queue behind.
//! - Perform one [`Action::Dial`] at a time and report how it ended with
//!   [`Input::Dialled`], naming its [`ConnId`]. The link asks for a second
//!   while one is in progress only after [`Input::PeerUp`]: the new dial
//!   replaces the old one, which the driver abandons (a report about it
//!   is ignored).
//! - After [`Input::Accepted`] the actions answer the connection just
//!   offered once: [`Action::Refuse`] alone, or [`Action::Adopt`] (with
//!   `answer: true`), which the [`Action::Close`] of the connection it
//!   replaces, the [`Action::Drop`] of that one's write and an
//!   [`Action::CancelTimer`] may come before.
//! - Perform an [`Action::Write`] when it is polled: its frames are those
//!   of [`Link::in_flight`], which stay there until the link hears
//!   [`Input::Written`] (once every byte of them is on the wire) or
//!   [`Input::Lost`] (the current connection broke or the peer closed
//!   it). Reports about a connection that is no longer current are
//!   ignored, so a driver need not filter.
//! - Keep at most one timer per [`Timer`] kind: a later
//!   [`Action::SetTimer`] of the same kind replaces the earlier one;
//!   report it with [`Input::Timer`] when it fires.

use std::{
    collections::VecDeque,
    fmt,
    time::{Duration, Instant},
};

use bazaar_protocol::PeerId;
use bytes::Bytes;

use crate::TransportConfig;

#[cfg(test)]
mod tests;

/// Most frames handed out by one [`Action::Write`], so that a long queue is
/// written in batches and a reader is never starved by one writer.
pub const WRITE_BATCH: usize = 256;

/// Names one connection (dialled or accepted) of one link, so that reports
/// about an old connection are told apart from the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn {}", self.0)
    }
}

/// How a dial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialled {
    /// The peer answered our hello: the connection is up.
    Up,
    /// The peer is there but closed the connection without answering: it
    /// keeps another one. Not an outage.
    Refused,
    /// No connection, no answer in time, or the wrong peer answered: an
    /// outage.
    Failed,
}

/// The timers a link sets, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Dial again once it fires (after a refused or failed dial).
    Retry,
}

/// Why frames were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The queue was full.
    QueueFull,
    /// A dial failed: the peer is unreachable.
    Unreachable,
    /// They were in flight on a connection that was lost or replaced.
    ConnectionLost,
}

/// What happened, as told to [`Link::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `send` has a frame for the peer.
    Frame(Bytes),
    /// `send_many` has frames for the peer, in order: queued together, so
    /// that an idle connection writes them in one [`Action::Write`].
    Frames(Vec<Bytes>),
    /// The dial `conn` ended.
    Dialled {
        /// The dial, as named by its [`Action::Dial`].
        conn: ConnId,
        /// How it ended.
        outcome: Dialled,
    },
    /// The peer dialled us and its hello was good: keep the connection or
    /// refuse it (one [`Action::Adopt`] or [`Action::Refuse`] among the
    /// actions, see the driver's contract).
    Accepted,
    /// The peer dialled us for its own frames, on a connection the link is
    /// not offered (quic, where each side dials for itself): the peer is up.
    PeerUp {
        /// The peer dialled while its previous connection to us was still
        /// open, or that connection was reset: it was restarted, and a
        /// connection we hold leads to its previous incarnation.
        restarted: bool,
    },
    /// Every frame of the last [`Action::Write`] on `conn` is on the wire.
    Written {
        /// The connection written.
        conn: ConnId,
    },
    /// `conn` broke, or the peer closed it.
    Lost {
        /// The connection lost.
        conn: ConnId,
    },
    /// A timer fired.
    Timer(Timer),
}

/// What a link asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a connection to the peer, send our hello and wait for the
    /// peer's answer, for at most `timeout`; then report
    /// [`Input::Dialled`] with `conn`. A dial still in progress (possible
    /// only after [`Input::PeerUp`]) is abandoned: this one replaces it.
    Dial {
        /// The name of the new connection.
        conn: ConnId,
        /// The longest the dial may take before it counts as failed.
        timeout: Duration,
    },
    /// Make `conn` the connection to the peer: read its frames and write
    /// ours on it. `answer`: the peer dialled it (the connection just
    /// offered by [`Input::Accepted`]), so answer its hello first.
    Adopt {
        /// The connection.
        conn: ConnId,
        /// Whether to answer the peer's hello first.
        answer: bool,
    },
    /// Close the connection just offered by [`Input::Accepted`] without
    /// answering it.
    Refuse,
    /// Close `conn`: it was replaced by another connection.
    Close {
        /// The connection to close.
        conn: ConnId,
    },
    /// Write the frames of [`Link::in_flight`] on `conn`, in order;
    /// report [`Input::Written`] when they are all on the wire.
    Write {
        /// The connection.
        conn: ConnId,
        /// How many frames: all of [`Link::in_flight`].
        frames: usize,
    },
    /// Tell the node that the peer cannot be reached (once per outage).
    ReportUnreachable,
    /// These frames will never be sent; count them.
    Drop {
        /// How many.
        frames: u64,
        /// Why.
        reason: Dropped,
    },
    /// Fire `timer` at `at`, replacing any earlier one of its kind.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// When it fires.
        at: Instant,
    },
    /// Forget `timer`: it must not fire.
    CancelTimer(Timer),
}

/// The limits and timings a link follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// Frames that may wait for a connection; more are dropped.
    pub queue_len: usize,
    /// How long a dial may take.
    pub connect_timeout: Duration,
    /// First wait before dialling again after a failed dial, and the wait
    /// after a refused one.
    pub backoff_min: Duration,
    /// Longest wait between dials; the wait doubles up to this.
    pub backoff_max: Duration,
}

impl From<&TransportConfig> for LinkConfig {
    fn from(config: &TransportConfig) -> Self {
        Self {
            queue_len: config.queue_len,
            connect_timeout: config.connect_timeout,
            backoff_min: config.backoff_min,
            backoff_max: config.backoff_max,
        }
    }
}

/// The connection in use.
#[derive(Debug, Clone, Copy)]
struct Current {
    conn: ConnId,
    /// We dialled it (rather than accepted it).
    dialled: bool,
    /// Frames of the [`Action::Write`] not yet reported written, at the
    /// head of the queue; 0 when no write is in progress.
    in_flight: usize,
    /// We refused a dial from the (higher) peer while holding this
    /// connection: a second one means it is dead to the peer.
    refused_once: bool,
}

/// One transport's connection policy towards one peer. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Link {
    local: PeerId,
    peer: PeerId,
    config: LinkConfig,
    /// The frames of the write in progress (see [`Current::in_flight`]),
    /// then the frames waiting.
    queue: VecDeque<Bytes>,
    current: Option<Current>,
    /// The dial in progress.
    dialling: Option<ConnId>,
    /// The dial in progress was started after the peer proved it is up
    /// ([`Input::PeerUp`]): it is not abandoned for another.
    dialling_informed: bool,
    /// The retry timer is set: no dial before it fires.
    waiting: bool,
    /// The wait after the next failed dial.
    backoff: Duration,
    /// The peer was reported unreachable and not reached since.
    outage: bool,
    next_conn: u64,
    actions: VecDeque<Action>,
}

impl Link {
    /// The link of peer `local` to peer `peer`: idle, nothing dialled.
    pub fn new(local: PeerId, peer: PeerId, config: LinkConfig) -> Self {
        let backoff = config.backoff_min;
        Self {
            local,
            peer,
            config,
            queue: VecDeque::new(),
            current: None,
            dialling: None,
            dialling_informed: false,
            waiting: false,
            backoff,
            outage: false,
            next_conn: 1,
            actions: VecDeque::new(),
        }
    }

    /// The peer this link leads to.
    pub const fn peer(&self) -> PeerId {
        self.peer
    }

    /// The connection in use, if one is up.
    pub fn connection(&self) -> Option<ConnId> {
        self.current.map(|current| current.conn)
    }

    /// Whether the peer was reported unreachable and not reached since.
    pub const fn in_outage(&self) -> bool {
        self.outage
    }

    /// Frames waiting for a connection or for the write in progress.
    pub fn queued(&self) -> usize {
        self.queue.len() - self.in_flight_len()
    }

    /// The frames of the write in progress, oldest first: what the last
    /// [`Action::Write`] asked for, until it is reported written or lost.
    pub fn in_flight(&self) -> impl ExactSizeIterator<Item = &Bytes> + Clone {
        self.queue.range(..self.in_flight_len())
    }

    fn in_flight_len(&self) -> usize {
        self.current.map_or(0, |current| current.in_flight)
    }

    /// Takes one input at `now`; what to do is queued for
    /// [`Link::poll_action`].
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Frame(frame) => self.on_frames(std::iter::once(frame)),
            Input::Frames(frames) => self.on_frames(frames.into_iter()),
            Input::Dialled { conn, outcome } => self.on_dialled(now, conn, outcome),
            Input::Accepted => self.on_accepted(),
            Input::PeerUp { restarted } => self.on_peer_up(restarted),
            Input::Written { conn } => self.on_written(conn),
            Input::Lost { conn } => self.on_lost(conn),
            Input::Timer(Timer::Retry) => self.on_retry(),
        }
    }

    /// The next thing to do, oldest first; `None` once everything queued
    /// was taken.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn on_frames(&mut self, frames: impl Iterator<Item = Bytes>) {
        let mut full = 0u64;
        for frame in frames {
            if self.queued() >= self.config.queue_len.max(1) {
                full += 1;
            } else {
                self.queue.push_back(frame);
            }
        }
        if full > 0 {
            self.drop_frames(full, Dropped::QueueFull);
        }
        self.pump();
    }

    fn on_dialled(&mut self, now: Instant, conn: ConnId, outcome: Dialled) {
        if self.dialling != Some(conn) {
            return;
        }
        self.dialling = None;
        match outcome {
            Dialled::Up => self.adopt(conn, true),
            // We hold a connection (the peer's dial won): nothing to do.
            Dialled::Refused | Dialled::Failed if self.current.is_some() => {}
            Dialled::Refused => self.wait(now, self.config.backoff_min),
            Dialled::Failed => {
                let dropped = self.queue.len() as u64;
                self.queue.clear();
                self.drop_frames(dropped, Dropped::Unreachable);
                if !self.outage {
                    self.outage = true;
                    self.actions.push_back(Action::ReportUnreachable);
                }
                self.wait(now, self.backoff);
                self.backoff = (self.backoff * 2)
                    .min(self.config.backoff_max)
                    .max(Duration::from_millis(1));
            }
        }
    }

    /// Decides about a connection the peer dialled (see the module docs).
    fn on_accepted(&mut self) {
        if self.local < self.peer {
            if self.dialling.is_some() {
                self.actions.push_back(Action::Refuse);
                return;
            }
            if let Some(current) = self.current.as_mut()
                && current.dialled
                && !current.refused_once
            {
                current.refused_once = true;
                self.actions.push_back(Action::Refuse);
                return;
            }
        }
        let conn = self.new_conn();
        self.adopt(conn, false);
    }

    /// The peer dialled us on a connection we are not offered (see the
    /// module docs).
    fn on_peer_up(&mut self, restarted: bool) {
        let mut probe = false;
        if restarted {
            if let Some(old) = self.current.take() {
                self.actions.push_back(Action::Close { conn: old.conn });
                self.drop_in_flight(old);
                probe = true;
            }
        } else if self.current.is_some() {
            return;
        }
        self.outage = false;
        self.backoff = self.config.backoff_min;
        if self.waiting {
            self.waiting = false;
            self.actions.push_back(Action::CancelTimer(Timer::Retry));
        }
        let dial = match self.dialling {
            Some(_) => !self.dialling_informed,
            None => probe || !self.queue.is_empty(),
        };
        if dial {
            self.dial();
            self.dialling_informed = true;
        }
    }

    fn on_written(&mut self, conn: ConnId) {
        if let Some(current) = self.current.as_mut()
            && current.conn == conn
        {
            self.queue.drain(..current.in_flight);
            current.in_flight = 0;
            self.pump();
        }
    }

    fn on_lost(&mut self, conn: ConnId) {
        let Some(current) = self.current.take_if(|current| current.conn == conn) else {
            return;
        };
        self.drop_in_flight(current);
        // Probe at once: a peer that died refuses the dial and is reported
        // now; a live one answers and the link goes on.
        if self.dialling.is_none() {
            self.dial();
        }
    }

    fn on_retry(&mut self) {
        if self.waiting {
            self.waiting = false;
            self.pump();
        }
    }

    /// Makes `conn` the connection in use, replacing any other.
    fn adopt(&mut self, conn: ConnId, dialled: bool) {
        if let Some(old) = self.current.take() {
            self.actions.push_back(Action::Close { conn: old.conn });
            self.drop_in_flight(old);
        }
        if self.waiting {
            self.waiting = false;
            self.actions.push_back(Action::CancelTimer(Timer::Retry));
        }
        self.outage = false;
        self.backoff = self.config.backoff_min;
        self.actions.push_back(Action::Adopt {
            conn,
            answer: !dialled,
        });
        self.current = Some(Current {
            conn,
            dialled,
            in_flight: 0,
            refused_once: false,
        });
        self.pump();
    }

    /// Moves the queue along: writes it if a connection is up and idle,
    /// dials if there is nothing else under way.
    fn pump(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        match self.current.as_mut() {
            Some(current) if current.in_flight == 0 => {
                let frames = self.queue.len().min(WRITE_BATCH);
                current.in_flight = frames;
                self.actions.push_back(Action::Write {
                    conn: current.conn,
                    frames,
                });
            }
            Some(_) => {}
            None if self.dialling.is_none() && !self.waiting => self.dial(),
            None => {}
        }
    }

    fn dial(&mut self) {
        let conn = self.new_conn();
        self.dialling = Some(conn);
        self.dialling_informed = false;
        self.actions.push_back(Action::Dial {
            conn,
            timeout: self.config.connect_timeout,
        });
    }

    fn wait(&mut self, now: Instant, delay: Duration) {
        self.waiting = true;
        self.actions.push_back(Action::SetTimer {
            timer: Timer::Retry,
            at: now + delay,
        });
    }

    /// Drops the frames in flight on `lost`, which is no longer current:
    /// some may have arrived, and sending them again could deliver them
    /// twice.
    fn drop_in_flight(&mut self, lost: Current) {
        self.queue.drain(..lost.in_flight);
        self.drop_frames(lost.in_flight as u64, Dropped::ConnectionLost);
    }

    fn drop_frames(&mut self, frames: u64, reason: Dropped) {
        if frames > 0 {
            self.actions.push_back(Action::Drop { frames, reason });
        }
    }

    fn new_conn(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        conn
    }
}
