//! The task of one remote peer: performs its link's actions, waits on the
//! dial, the connection, the retry timer and the inbox, and tells the link
//! how each ended.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures::{FutureExt, future::BoxFuture};
use tokio::{sync::mpsc, time::Instant};
use tracing::{debug, warn};

use super::{
    Conn, Dial, Progress, Wire,
    pending::{Deliver, Pending},
    remote::{Out, Remote, count_dropped},
};
use crate::{
    Event,
    link::{Action, ConnId, Input, Timer},
    shared::Shared,
    stats::Counters,
};

/// The task of one remote peer. See the [module docs](self).
pub(super) struct Task<W: Wire> {
    remote: Arc<Remote<W>>,
    shared: Arc<Shared>,
    wire: Arc<W>,
    /// Connections the peer dialled, from the accept side.
    offers: mpsc::Receiver<W::Offered>,
    /// The connection the link adopted.
    conn: Option<(ConnId, W::Conn)>,
    dial: Option<BoxFuture<'static, (ConnId, Dial<W::Conn>)>>,
    /// When the link's retry timer fires.
    retry_at: Option<Instant>,
    /// The connection an answered dial made, until the link adopts it.
    answered: Option<(ConnId, W::Conn)>,
    /// The connection the peer dialled, offered to the link, until it
    /// answers.
    offered: Option<W::Offered>,
    /// Why the last dial failed, for the unreachable warning.
    failure: String,
    /// Events waiting for room in the inbox.
    pending: Pending,
    ever_connected: bool,
}

/// What woke the task.
enum Wake<W: Wire> {
    Offered(Option<W::Offered>),
    Dialled(ConnId, Dial<W::Conn>),
    Retry,
    Queued,
    Conn(Result<(), String>),
    Delivered(Result<mpsc::OwnedPermit<Event>, mpsc::error::SendError<()>>),
}

impl<W: Wire> Task<W> {
    pub(super) fn new(
        remote: Arc<Remote<W>>,
        shared: Arc<Shared>,
        wire: Arc<W>,
        offers: mpsc::Receiver<W::Offered>,
    ) -> Self {
        Self {
            remote,
            shared,
            wire,
            offers,
            conn: None,
            dial: None,
            retry_at: None,
            answered: None,
            offered: None,
            failure: String::new(),
            pending: Pending::default(),
            ever_connected: false,
        }
    }

    /// Serves the peer for as long as the transport lives (the task is
    /// aborted on shutdown).
    pub(super) async fn run(mut self) {
        loop {
            let wake = self.wait().await;
            // `send` may write directly once more.
            self.remote.wrote_directly.store(false, Ordering::Relaxed);
            match wake {
                // The transport is going away.
                Wake::Offered(None) | Wake::Delivered(Err(_)) => return,
                Wake::Offered(Some(offered)) => self.offer(offered),
                Wake::Dialled(conn, dial) => {
                    self.dial = None;
                    self.dialled(conn, dial);
                }
                Wake::Retry => {
                    self.retry_at = None;
                    self.feed(Some(Input::Timer(Timer::Retry)));
                }
                Wake::Queued => self.feed(None),
                Wake::Conn(Ok(())) => {}
                Wake::Conn(Err(reason)) => self.lose(&reason),
                Wake::Delivered(Ok(permit)) => self.pending.deliver(permit),
            }
            self.progress();
        }
    }

    /// Waits for the next thing to do.
    async fn wait(&mut self) -> Wake<W> {
        let read = self.pending.is_empty();
        // Only an event waiting for room needs a handle on the inbox
        // (cloning one costs atomics shared with every task).
        let events = (!read).then(|| self.shared.events.clone());
        tokio::select! {
            offered = self.offers.recv() => Wake::Offered(offered),
            (conn, dial) = async { self.dial.as_mut().expect("guarded").await },
                if self.dial.is_some() => Wake::Dialled(conn, dial),
            () = async { tokio::time::sleep_until(self.retry_at.expect("guarded")).await },
                if self.retry_at.is_some() => Wake::Retry,
            () = self.remote.wake.notified() => Wake::Queued,
            ready = async { self.conn.as_mut().expect("guarded").1.ready(read).await },
                if self.conn.is_some() => Wake::Conn(ready),
            permit = async { events.expect("guarded").reserve_owned().await },
                if events.is_some() => Wake::Delivered(permit),
        }
    }

    /// Feeds `input` (after what `send` deferred) to the link and performs
    /// the actions, under the remote's lock; a follow-up (an answer that
    /// could not be written is a lost connection) is fed in turn.
    fn feed(&mut self, input: Option<Input>) {
        let remote = Arc::clone(&self.remote);
        let mut out = remote.lock();
        let now = Instant::now().into_std();
        for action in std::mem::take(&mut out.deferred) {
            if let Some(input) = self.perform(&mut out, action) {
                out.link.handle(now, input);
            }
        }
        if let Some(input) = input {
            out.link.handle(now, input);
        }
        while let Some(action) = out.link.poll_action() {
            if let Some(input) = self.perform(&mut out, action) {
                out.link.handle(now, input);
            }
        }
    }

    /// Performs one action of the link; returns an input for the link if
    /// performing it failed.
    fn perform(&mut self, out: &mut Out<W>, action: Action) -> Option<Input> {
        let (local, peer) = (self.shared.local, self.remote.peer);
        match action {
            Action::Dial { conn, timeout } => self.dial(conn, timeout),
            Action::Adopt { conn, answer } => return self.adopt(out, conn, answer),
            Action::Refuse => {
                debug!(peer = %local, from = %peer, "refusing a second connection: ours wins");
                self.offered = None;
            }
            Action::Close { conn } => {
                debug!(peer = %local, to = %peer, %conn, "replaced by a newer connection");
                self.forget(out, conn);
            }
            Action::Write { conn, .. } => self.write(out, conn),
            Action::ReportUnreachable => {
                let addr = self.remote.addr;
                warn!(peer = %local, to = %peer, %addr, "peer unreachable: {}", self.failure);
                // Full inbox: the report waits like a frame would, without
                // holding up this task.
                let unreachable = Event::Unreachable { peer };
                self.pending.push(&self.shared.events, unreachable);
            }
            Action::Drop { frames, reason } => {
                count_dropped(&self.shared.counters, frames, reason);
            }
            Action::SetTimer {
                timer: Timer::Retry,
                at,
            } => self.retry_at = Some(Instant::from_std(at)),
            Action::CancelTimer(Timer::Retry) => self.retry_at = None,
        }
        None
    }

    /// Starts the dial `conn`, replacing any in progress.
    fn dial(&mut self, conn: ConnId, timeout: Duration) {
        let (peer, addr) = (self.remote.peer, self.remote.addr);
        if self.dial.is_some() {
            debug!(peer = %self.shared.local, to = %peer, %conn, "dialling again: the peer is up");
        }
        let dial = W::dial(&self.wire, peer, addr, timeout);
        self.dial = Some(async move { (conn, dial.await) }.boxed());
    }

    /// Makes `conn` the connection served, for the task and for `send`:
    /// the answered dial, or the offered connection answered now.
    fn adopt(&mut self, out: &mut Out<W>, conn: ConnId, answer: bool) -> Option<Input> {
        let (local, peer) = (self.shared.local, self.remote.peer);
        let adopted = if answer {
            let Some(answered) = self.wire.answer(self.offered.take()?) else {
                debug!(peer = %local, from = %peer, "could not answer a hello");
                return Some(Input::Lost { conn });
            };
            answered
        } else {
            match self.answered.take() {
                Some((id, answered)) if id == conn => answered,
                _ => return None,
            }
        };
        let addr = self.remote.addr;
        debug!(peer = %local, to = %peer, %addr, %conn, answer, "connected");
        if self.ever_connected {
            Counters::add(&self.shared.counters.reconnects, 1);
        }
        self.ever_connected = true;
        out.direct = Some((conn, adopted.direct()));
        self.conn = Some((conn, adopted));
        None
    }

    /// Starts writing the link's frames in flight on `conn`, if it is the
    /// connection served.
    fn write(&mut self, out: &mut Out<W>, conn: ConnId) {
        let Some((_, current)) = self.conn.as_mut().filter(|(id, _)| *id == conn) else {
            return;
        };
        let direct = out
            .direct
            .as_mut()
            .filter(|(id, _)| *id == conn)
            .map(|(_, direct)| direct);
        current.write(out.link.in_flight(), direct);
    }

    /// Closes the connection `conn` if it is the one served; what it had
    /// not written is lost.
    fn forget(&mut self, out: &mut Out<W>, conn: ConnId) {
        if self.conn.as_ref().is_some_and(|(id, _)| *id == conn) {
            self.conn = None;
        }
        if out.direct.as_ref().is_some_and(|(id, _)| *id == conn) {
            out.direct = None;
        }
    }

    /// Offers a connection the peer dialled to the link, unless the peer
    /// broke the rules since its hello.
    fn offer(&mut self, offered: W::Offered) {
        if !self.wire.screen(&self.shared, self.remote.peer, &offered) {
            return;
        }
        self.offered = Some(offered);
        self.feed(Some(Input::Accepted));
        self.offered = None;
    }

    /// Tells the link how a dial ended.
    fn dialled(&mut self, conn: ConnId, dial: Dial<W::Conn>) {
        let (local, peer, addr) = (self.shared.local, self.remote.peer, self.remote.addr);
        let outcome = dial.outcome();
        match dial {
            Dial::Up(answered) => self.answered = Some((conn, answered)),
            Dial::Refused(reason) => {
                debug!(peer = %local, to = %peer, %addr, "dial refused: {reason}");
            }
            Dial::Failed(reason) => {
                debug!(peer = %local, to = %peer, %addr, "dial failed: {reason}");
                self.failure = reason;
            }
        }
        self.feed(Some(Input::Dialled { conn, outcome }));
        self.answered = None;
    }

    /// Drops the connection and tells the link.
    fn lose(&mut self, reason: &str) {
        let Some(conn) = self.conn.as_ref().map(|(id, _)| *id) else {
            return;
        };
        debug!(peer = %self.shared.local, to = %self.remote.peer, %conn, "connection lost: {reason}");
        {
            let remote = Arc::clone(&self.remote);
            self.forget(&mut remote.lock(), conn);
        }
        self.feed(Some(Input::Lost { conn }));
    }

    /// Moves the connection along (reads, delivers, writes) until it has
    /// to wait; each write finished is reported to the link, which may
    /// hand out the next.
    fn progress(&mut self) {
        while let Some((conn, current)) = self.conn.as_mut() {
            let conn = *conn;
            let mut deliver = Deliver::new(&self.shared, self.remote.peer, &mut self.pending);
            match current.advance(&mut deliver) {
                Progress::Idle => return,
                Progress::Written { frames } => {
                    Counters::add(&self.shared.counters.sent, frames);
                    self.feed(Some(Input::Written { conn }));
                }
                Progress::Lost(reason) => self.lose(&reason),
            }
        }
    }
}
