//! The tokio driver of a [`Peer`]: receive, handle, perform. No protocol
//! logic lives here; an `if` about elections or goods belongs in the peer.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_protocol::{PeerId, encode};
use bazaar_transport::{Event as TransportEvent, Transport};
use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use crate::{
    Action, Event, Input, Peer, PeerTimer, TimerQueue,
    held::HeldFrames,
    store::{Claim, Store},
};

/// Something a running peer reports to whoever watches the market.
#[derive(Debug, Clone)]
pub struct Report {
    /// The peer that reports.
    pub peer: PeerId,
    /// What happened.
    pub event: Event,
}

/// Drives one [`Peer`] over a transport and a store until told to stop.
pub struct Runtime {
    peer: Peer,
    transport: Arc<dyn Transport>,
    store: Arc<dyn Store>,
    reports: mpsc::UnboundedSender<Report>,
    timers: TimerQueue<PeerTimer>,
    started: Instant,
    inputs: VecDeque<Input>,
    /// Answers of store calls that ran off the async workers.
    stored: (mpsc::UnboundedSender<Input>, mpsc::UnboundedReceiver<Input>),
    buf: Vec<u8>,
    /// The frames one step sends, by destination in the order sent: handed
    /// to the transport together at the end of the step, so that a batch's
    /// replies and sale notices to one peer leave in one write.
    outbox: Vec<(PeerId, Bytes)>,
    /// Frames that may wait a moment for others to the same peer (sale
    /// notices).
    held: HeldFrames,
    /// The step's reports, sent once its frames are on their way: a reply
    /// does not wait while a watcher is woken.
    reported: Vec<Event>,
}

impl Runtime {
    /// A driver for `peer`, sending what it reports to `reports`. Times are
    /// measured from `started`, shared by the peers of one process so their
    /// reports line up.
    pub fn new(
        peer: Peer,
        transport: Arc<dyn Transport>,
        store: Arc<dyn Store>,
        reports: mpsc::UnboundedSender<Report>,
        started: Instant,
    ) -> Self {
        Self {
            peer,
            transport,
            store,
            reports,
            timers: TimerQueue::new(),
            started,
            inputs: VecDeque::new(),
            stored: mpsc::unbounded_channel(),
            buf: Vec::with_capacity(256),
            outbox: Vec::new(),
            held: HeldFrames::default(),
            reported: Vec::new(),
        }
    }

    /// Runs until `stop` turns true or the transport closes; returns the
    /// peer as it stands, for audits.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Peer {
        self.step(Input::Start).await;
        while !*stop.borrow() {
            let now = self.now();
            if self.timers.next_deadline().is_some_and(|d| d <= now) {
                // Due already (a buyer's zero think time): fire now, since
                // tokio's timer wheel would round the wait up to its next
                // millisecond tick.
                self.fire_due(now).await;
                self.step(Input::Drained).await;
                continue;
            }
            let timer = self.timers.next_deadline().map(|d| self.started + d);
            let release = self.held.deadline().map(|d| self.started + d);
            let deadline = timer.into_iter().chain(release).min();
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                event = self.transport.recv() => {
                    let Some(event) = event else { break };
                    self.on_transport(event).await;
                    // Take in everything already queued, so that the trader
                    // serves it as one batch.
                    while let Some(event) = self.transport.try_recv() {
                        self.on_transport(event).await;
                    }
                }
                Some(answer) = self.stored.1.recv() => self.step(answer).await,
                () = sleep_until(deadline) => {
                    let now = self.now();
                    self.fire_due(now).await;
                }
            }
            self.step(Input::Drained).await;
        }
        // Whatever was held leaves now, while its peers may still hear it.
        self.held.release_all_into(&mut self.outbox);
        self.flush().await;
        self.peer
    }

    async fn fire_due(&mut self, now: Duration) {
        while let Some(timer) = self.timers.pop_due(now) {
            self.step(Input::Timer(timer)).await;
        }
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    async fn on_transport(&mut self, event: TransportEvent) {
        let input = match event {
            TransportEvent::Frame { from, frame } => Input::Frame {
                from,
                bytes: frame.into(),
            },
            TransportEvent::Unreachable { peer } => Input::Unreachable(peer),
        };
        self.step(input).await;
    }

    /// Hands one input to the peer and performs what it asks, including the
    /// store's answers, which come back as further inputs.
    async fn step(&mut self, input: Input) {
        self.inputs.push_back(input);
        while let Some(input) = self.inputs.pop_front() {
            let actions = self.peer.handle(self.now(), input);
            for action in actions {
                self.perform(action);
            }
        }
        self.flush().await;
        for event in self.reported.drain(..) {
            // Nobody listening is fine: a node may run without a report.
            let _ = self.reports.send(Report {
                peer: self.peer.id(),
                event,
            });
        }
    }

    /// Hands the step's frames to the transport, one call per destination,
    /// each destination's frames in the order they were sent, with the held
    /// frames that are due or go to a peer this step writes to anyway.
    async fn flush(&mut self) {
        let now = self.now();
        self.held.release_into(&mut self.outbox, now);
        if self.outbox.len() > 1 {
            // Stable: a destination's frames keep their order.
            self.outbox.sort_by_key(|(to, _)| *to);
        }
        let mut outbox = std::mem::take(&mut self.outbox);
        let mut frames = outbox.drain(..).peekable();
        while let Some((to, frame)) = frames.next() {
            let sent = if frames.peek().is_some_and(|(next, _)| *next == to) {
                let mut many = vec![frame];
                while let Some((_, frame)) = frames.next_if(|(next, _)| *next == to) {
                    many.push(frame);
                }
                self.transport.send_many(to, many).await
            } else {
                self.transport.send(to, frame).await
            };
            if let Err(e) = sent {
                tracing::debug!("peer {}: send to peer {to} failed: {e}", self.peer.id());
            }
        }
        drop(frames);
        // Keep the allocation for the next step.
        self.outbox = outbox;
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Send { to, envelope } => {
                self.buf.clear();
                if let Err(e) = encode(&envelope, &mut self.buf) {
                    tracing::warn!(
                        "peer {}: cannot encode a message for peer {to}: {e}",
                        self.peer.id()
                    );
                    return;
                }
                let frame = Bytes::copy_from_slice(&self.buf);
                if envelope.body.may_wait() {
                    let now = self.now();
                    self.held.hold(to, frame, now);
                } else {
                    self.outbox.push((to, frame));
                }
            }
            Action::SetTimer { timer, after } => self.timers.set(timer, self.now() + after),
            Action::CancelTimer(timer) => self.timers.cancel(&timer),
            Action::LoadBooks {
                epoch,
                trader,
                lease,
                pricing,
            } => {
                let claim = Claim {
                    epoch,
                    trader,
                    lease,
                };
                self.call_store(move |store| {
                    Some(match store.open(claim, &pricing) {
                        Ok(book) => Input::BooksLoaded {
                            epoch,
                            book: Box::new(book),
                        },
                        Err(e) => e.into_input(trader, epoch),
                    })
                });
            }
            Action::ReloadBooks { epoch } => {
                let id = self.peer.id();
                self.call_store(move |store| {
                    Some(match store.reload(epoch) {
                        Ok(book) => Input::BooksLoaded {
                            epoch,
                            book: Box::new(book),
                        },
                        Err(e) => e.into_input(id, epoch),
                    })
                });
            }
            Action::RenewLease { epoch, lease } => {
                let id = self.peer.id();
                self.call_store(move |store| {
                    store
                        .renew(epoch, lease)
                        .err()
                        .map(|e| e.into_input(id, epoch))
                });
            }
            Action::Commit {
                commit,
                epoch,
                batch,
            } => {
                let id = self.peer.id();
                self.call_store(move |store| {
                    Some(match store.commit(epoch, &batch) {
                        Ok(()) => Input::Committed(commit),
                        Err(e) => e.into_input(id, epoch),
                    })
                });
            }
            Action::Event(event) => self.reported.push(event),
        }
    }
}

impl Runtime {
    /// Runs a store call and hands its answer back as an input. A store
    /// that waits on a disk runs on tokio's blocking pool while this peer
    /// goes on receiving: the trader's next batch gathers during the fsync
    /// (group commit), and no async worker stalls.
    fn call_store(&mut self, call: impl FnOnce(&dyn Store) -> Option<Input> + Send + 'static) {
        if self.store.blocks() {
            let store = Arc::clone(&self.store);
            let answers = self.stored.0.clone();
            tokio::task::spawn_blocking(move || {
                if let Some(answer) = call(store.as_ref()) {
                    // The peer may have stopped meanwhile; its answer is moot.
                    let _ = answers.send(answer);
                }
            });
        } else if let Some(answer) = call(self.store.as_ref()) {
            self.inputs.push_back(answer);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
