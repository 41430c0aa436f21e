//! The tokio shell of a [`Driver`]: it moves frames, time and store
//! answers, and nothing else. An `if` about elections, goods or store
//! results belongs in the driver or the peer.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_protocol::PeerId;
use bazaar_transport::{Event as TransportEvent, Transport};
use tokio::sync::{mpsc, watch};

use crate::{
    CallId, Driver, Event, Peer, StoreCall, Stored,
    store::{Store, StoreError},
};

/// Something a running peer reports to whoever watches the market.
#[derive(Debug, Clone)]
pub struct Report {
    /// The peer that reports.
    pub peer: PeerId,
    /// What happened.
    pub event: Event,
}

/// A store call's answer, back from the blocking pool.
type Answer = (CallId, Result<Stored, StoreError>);

/// Drives one [`Peer`] (through its [`Driver`]) over a transport and a
/// store until told to stop.
pub struct Runtime {
    driver: Driver,
    transport: Arc<dyn Transport>,
    store: Arc<dyn Store>,
    reports: mpsc::UnboundedSender<Report>,
    started: Instant,
    /// Answers of store calls that ran off the async workers.
    answers: (
        mpsc::UnboundedSender<Answer>,
        mpsc::UnboundedReceiver<Answer>,
    ),
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
            driver: Driver::new(peer),
            transport,
            store,
            reports,
            started,
            answers: mpsc::unbounded_channel(),
        }
    }

    /// Runs until `stop` turns true or the transport closes; returns the
    /// peer as it stands, for audits.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Peer {
        self.driver.handle_start(self.now());
        self.flush().await;
        while !*stop.borrow() {
            let now = self.now();
            let due = self.driver.poll_timeout();
            if due.is_some_and(|d| d <= now) {
                // Due already (a buyer's zero think time): fire now, since
                // tokio's timer wheel would round the wait up to its next
                // millisecond tick.
                while self.driver.handle_timeout(now).is_some() {}
                self.flush().await;
                continue;
            }
            let deadline = due.map(|d| self.started + d);
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                event = self.transport.recv() => {
                    let Some(event) = event else { break };
                    self.on_transport(event);
                    // Take in everything already queued, so that the trader
                    // serves it as one batch.
                    while let Some(event) = self.transport.try_recv() {
                        self.on_transport(event);
                    }
                }
                Some((call, answer)) = self.answers.1.recv() => {
                    self.driver.handle_stored(self.now(), call, answer);
                }
                () = sleep_until(deadline) => {
                    let now = self.now();
                    while self.driver.handle_timeout(now).is_some() {}
                }
            }
            self.flush().await;
        }
        // Whatever was held leaves now, while its peers may still hear it.
        self.driver.release_held();
        self.transmit().await;
        self.driver.into_peer()
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn on_transport(&mut self, event: TransportEvent) {
        let now = self.now();
        match event {
            TransportEvent::Frame { from, frame } => {
                self.driver.handle_frame(now, from, frame.into());
            }
            TransportEvent::Unreachable { peer } => self.driver.handle_unreachable(now, peer),
        }
    }

    /// The end of a burst: the trader serves its batch, then the store
    /// calls start, the frames leave, and the watchers hear (a reply does
    /// not wait while a watcher is woken). A store that answers at once
    /// (in memory) is answered here, and the burst goes on.
    async fn flush(&mut self) {
        loop {
            self.driver.drain(self.now());
            let mut answered = false;
            while let Some((call, store_call)) = self.driver.poll_store() {
                answered |= self.call_store(call, store_call);
            }
            if !answered {
                break;
            }
        }
        self.transmit().await;
        while let Some(event) = self.driver.poll_event() {
            // Nobody listening is fine: a node may run without a report.
            let _ = self.reports.send(Report {
                peer: self.driver.peer().id(),
                event,
            });
        }
    }

    /// Hands the frames due to the transport, one call per destination.
    async fn transmit(&mut self) {
        while let Some(transmit) = self.driver.poll_transmit(self.now()) {
            let to = transmit.to;
            let sent = match <[_; 1]>::try_from(transmit.frames) {
                Ok([frame]) => self.transport.send(to, frame).await,
                Err(frames) => self.transport.send_many(to, frames).await,
            };
            if let Err(e) = sent {
                tracing::debug!(
                    "peer {}: send to peer {to} failed: {e}",
                    self.driver.peer().id()
                );
            }
        }
    }

    /// Makes one store call. A store that waits on a disk runs on tokio's
    /// blocking pool while this peer goes on receiving: the trader's next
    /// batch gathers during the fsync (group commit), and no async worker
    /// stalls. Returns whether it was answered at once.
    fn call_store(&mut self, call: CallId, store_call: StoreCall) -> bool {
        if self.store.blocks() {
            let store = Arc::clone(&self.store);
            let answers = self.answers.0.clone();
            tokio::task::spawn_blocking(move || {
                let answer = store_call.run(store.as_ref());
                // The peer may have stopped meanwhile; its answer is moot.
                let _ = answers.send((call, answer));
            });
            false
        } else {
            let answer = store_call.run(self.store.as_ref());
            self.driver.handle_stored(self.now(), call, answer);
            true
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
