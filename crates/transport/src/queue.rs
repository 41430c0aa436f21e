//! Outgoing frames: a bounded queue per destination peer, drained by one
//! task that dials lazily, redials with backoff and coalesces queued frames
//! into one write.
//!
//! Each side dials for its own outgoing frames: the connection from A to B
//! carries only A's frames, B's frames to A travel on the connection B
//! dialled. So there is exactly one connection per ordered pair, no race
//! over who dials, and a reader never has to write.

use std::{
    collections::{BTreeMap, btree_map::Entry},
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use bazaar_protocol::PeerId;
use bytes::Bytes;
use futures::{SinkExt, future::BoxFuture};
use tokio::{
    io::AsyncWrite,
    sync::mpsc::{self, error::TrySendError},
    task::AbortHandle,
};
use tokio_util::codec::FramedWrite;
use tracing::{debug, warn};

use crate::{Event, TransportError, hello, shared::Shared, stats::Counters};

/// Most frames written before a flush, so one busy peer cannot starve the
/// check for a closed link forever.
const BATCH_MAX: usize = 256;

/// An open outgoing connection.
pub(crate) struct Link<W> {
    /// Where frames are written.
    pub(crate) writer: W,
    /// Resolves when the peer closed the connection or it broke.
    pub(crate) closed: BoxFuture<'static, ()>,
}

/// How a transport opens an outgoing connection.
#[async_trait]
pub(crate) trait Dialer: Send + Sync + 'static {
    /// The byte sink of a connection.
    type Writer: AsyncWrite + Unpin + Send + 'static;

    /// Opens a connection to `peer` at `addr` and sends the hello
    /// ([`hello::frame`]) on it.
    async fn dial(
        &self,
        peer: PeerId,
        addr: SocketAddr,
    ) -> Result<Link<Self::Writer>, TransportError>;
}

/// The queues of one transport, one per destination, made on first send.
pub(crate) struct Outbox<D> {
    dialer: Arc<D>,
    shared: Arc<Shared>,
    peers: BTreeMap<PeerId, SocketAddr>,
    queues: Mutex<Queues>,
}

struct Queues {
    open: bool,
    by_peer: BTreeMap<PeerId, (mpsc::Sender<Bytes>, AbortHandle)>,
}

impl<D: Dialer> Outbox<D> {
    /// An outbox that dials `peers` with `dialer`.
    pub(crate) fn new(dialer: D, shared: Arc<Shared>, peers: BTreeMap<PeerId, SocketAddr>) -> Self {
        Self {
            dialer: Arc::new(dialer),
            shared,
            peers,
            queues: Mutex::new(Queues {
                open: true,
                by_peer: BTreeMap::new(),
            }),
        }
    }

    /// Queues `frame` for `to`; see [`crate::Transport::send`].
    pub(crate) fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        let config = &self.shared.config;
        if frame.len() > config.max_frame_len {
            return Err(TransportError::FrameTooLarge {
                to,
                len: frame.len(),
                max: config.max_frame_len,
            });
        }
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        if !queues.open {
            return Err(TransportError::Shutdown(self.shared.local));
        }
        let (tx, _) = match queues.by_peer.entry(to) {
            Entry::Occupied(queue) => queue.into_mut(),
            Entry::Vacant(slot) => {
                let addr = *self.peers.get(&to).ok_or(TransportError::UnknownPeer(to))?;
                let (tx, rx) = mpsc::channel(config.queue_len.max(1));
                let dialer = Arc::clone(&self.dialer);
                let task = tokio::spawn(drain(to, addr, dialer, rx, Arc::clone(&self.shared)));
                slot.insert((tx, task.abort_handle()))
            }
        };
        match tx.try_send(frame) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                Counters::add(&self.shared.counters.dropped_full, 1);
                Ok(())
            }
            Err(TrySendError::Closed(_)) => Err(TransportError::Shutdown(self.shared.local)),
        }
    }

    /// Stops every queue task; queued frames are dropped.
    pub(crate) fn close(&self) {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        queues.open = false;
        for (_, (_, task)) in std::mem::take(&mut queues.by_peer) {
            task.abort();
        }
    }
}

/// Drains one destination's queue for as long as the transport lives.
async fn drain<D: Dialer>(
    to: PeerId,
    addr: SocketAddr,
    dialer: Arc<D>,
    mut queue: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
) {
    let config = &shared.config;
    let counters = &shared.counters;
    let mut backoff = config.backoff_min;
    let mut ever_connected = false;
    let mut reported = false;
    loop {
        // Lazy: dial only once there is something to send.
        let Some(first) = queue.recv().await else {
            return;
        };
        let dialled = tokio::time::timeout(config.connect_timeout, dialer.dial(to, addr)).await;
        let link = match dialled {
            Ok(Ok(link)) => link,
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no connection within {:?}", config.connect_timeout),
                };
                let dropped = 1 + drop_queued(&mut queue);
                Counters::add(&counters.dropped_unreachable, dropped);
                if !reported {
                    warn!(peer = %shared.local, %to, %addr, "peer unreachable: {reason}");
                    reported = true;
                    if shared
                        .events
                        .send(Event::Unreachable { peer: to })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2)
                    .min(config.backoff_max)
                    .max(Duration::from_millis(1));
                continue;
            }
        };
        if ever_connected {
            Counters::add(&counters.reconnects, 1);
        }
        ever_connected = true;
        reported = false;
        backoff = config.backoff_min;
        debug!(peer = %shared.local, %to, %addr, "connected");
        if let Err(reason) = pump(&shared, link, first, &mut queue).await {
            debug!(peer = %shared.local, %to, %addr, "connection lost: {reason}");
        }
    }
}

/// Writes frames on one connection until it breaks or the queue closes.
async fn pump<W: AsyncWrite + Unpin>(
    shared: &Shared,
    link: Link<W>,
    first: Bytes,
    queue: &mut mpsc::Receiver<Bytes>,
) -> Result<(), String> {
    let Link { writer, mut closed } = link;
    let mut sink = FramedWrite::new(writer, hello::codec(shared.config.max_frame_len));
    let mut next = Some(first);
    loop {
        if let Some(frame) = next.take() {
            let mut batch = 1;
            let mut written = sink.feed(frame).await;
            while written.is_ok() && batch < BATCH_MAX {
                let Ok(frame) = queue.try_recv() else { break };
                batch += 1;
                written = sink.feed(frame).await;
            }
            if let Err(e) = written.and(SinkExt::<Bytes>::flush(&mut sink).await) {
                Counters::add(&shared.counters.dropped_unreachable, batch as u64);
                return Err(e.to_string());
            }
            Counters::add(&shared.counters.sent, batch as u64);
        }
        tokio::select! {
            frame = queue.recv() => match frame {
                Some(frame) => next = Some(frame),
                None => return Ok(()),
            },
            () = &mut closed => return Err("closed by the peer".into()),
        }
    }
}

/// Empties a queue, returning how many frames it held.
fn drop_queued(queue: &mut mpsc::Receiver<Bytes>) -> u64 {
    let mut dropped = 0;
    while queue.try_recv().is_ok() {
        dropped += 1;
    }
    dropped
}
