//! Outgoing frames over quic: one task per destination peer, which drives
//! that peer's [`Link`] machine.
//!
//! The link decides (when to dial, when to give up on queued frames, when
//! the peer is unreachable; see [`crate::link`]); this module performs its
//! actions with quinn. Each side dials for its own outgoing frames, so a
//! quic link is never offered a connection the peer dialled and the
//! simultaneous-dial arbitration does not arise: the peer's frames arrive
//! on the connection it dialled, served by the accept side. The accept side
//! tells the link when such a connection says hello ([`Input::PeerUp`]:
//! the peer is up, perhaps restarted), so that a dial lost to a peer not
//! yet listening, a retry timer or a connection to the peer's previous
//! life does not hold up our frames.

use std::{
    collections::BTreeMap,
    io,
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bazaar_protocol::PeerId;
use bytes::Bytes;
use futures::{FutureExt, SinkExt, future::BoxFuture};
use quinn::{Connection, Endpoint, SendStream};
use tokio::{sync::Notify, task::AbortHandle, time::Instant};
use tokio_util::codec::{FramedWrite, LengthDelimitedCodec};
use tracing::{debug, warn};

use crate::{
    Event, TransportError, hello,
    link::{Action, ConnId, Dialled, Dropped, Input, Link, LinkConfig, Timer},
    shared::Shared,
    stats::Counters,
    tls,
};

/// The byte a listener sends once it accepted a dialler's hello.
pub(super) const ACK: u8 = 1;

/// How this transport dials: as which peer, from which endpoint, with
/// which TLS client config.
pub(super) struct Dialer {
    pub(super) local: PeerId,
    pub(super) endpoint: Endpoint,
    pub(super) client: quinn::ClientConfig,
}

/// The outgoing side of one transport: a link and a task per destination.
pub(super) struct Outgoing {
    shared: Arc<Shared>,
    open: AtomicBool,
    by_peer: BTreeMap<PeerId, Arc<Remote>>,
    tasks: Vec<AbortHandle>,
}

impl Outgoing {
    /// A link and an idle task for every peer of `peers` (ourselves
    /// included: a frame to ourselves goes through our own listener).
    /// Nothing is dialled before the first frame.
    pub(super) fn start(
        dialer: Dialer,
        shared: Arc<Shared>,
        peers: &BTreeMap<PeerId, SocketAddr>,
    ) -> Self {
        let dialer = Arc::new(dialer);
        let mut by_peer = BTreeMap::new();
        let mut tasks = Vec::new();
        for (&peer, &addr) in peers {
            let link = Link::new(shared.local, peer, LinkConfig::from(&shared.config));
            let remote = Arc::new(Remote {
                peer,
                addr,
                out: Mutex::new(Out {
                    link,
                    deferred: Vec::new(),
                }),
                wake: Notify::new(),
            });
            let task = Task {
                remote: Arc::clone(&remote),
                shared: Arc::clone(&shared),
                dialer: Arc::clone(&dialer),
                dial: None,
                answered: None,
                conn: None,
                write: None,
                retry_at: None,
                failure: String::new(),
                ever_connected: false,
            };
            tasks.push(tokio::spawn(task.run()).abort_handle());
            by_peer.insert(peer, remote);
        }
        Self {
            shared,
            open: AtomicBool::new(true),
            by_peer,
            tasks,
        }
    }

    /// Queues `frame` for `to`; see [`crate::Transport::send`].
    pub(super) fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        self.shared.config.check_frame_len(to, frame.len())?;
        if !self.open.load(Ordering::Acquire) {
            return Err(TransportError::Shutdown(self.shared.local));
        }
        let remote = self
            .by_peer
            .get(&to)
            .ok_or(TransportError::UnknownPeer(to))?;
        remote.handle(Input::Frame(frame), &self.shared.counters);
        Ok(())
    }

    /// Tells `peer`'s link that the peer dialled us, so it is up (see
    /// [`Input::PeerUp`]).
    pub(super) fn peer_up(&self, peer: PeerId, restarted: bool) {
        if !self.open.load(Ordering::Acquire) {
            return;
        }
        if let Some(remote) = self.by_peer.get(&peer) {
            remote.handle(Input::PeerUp { restarted }, &self.shared.counters);
        }
    }

    /// Stops every task; queued frames are dropped.
    pub(super) fn close(&self) {
        self.open.store(false, Ordering::Release);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What `send` and the task share about one destination.
struct Remote {
    peer: PeerId,
    addr: SocketAddr,
    out: Mutex<Out>,
    /// Wakes the task: `send` left it something to do.
    wake: Notify,
}

/// The link, and what `send` left for the task.
struct Out {
    link: Link,
    /// Actions from `send` for the task, in order.
    deferred: Vec<Action>,
}

impl Remote {
    fn lock(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Feeds `input` (a frame from `send`, or news from the accept side) to
    /// the link; drops are counted here, anything else is for the task.
    /// Never waits.
    fn handle(&self, input: Input, counters: &Counters) {
        let now = Instant::now().into_std();
        let mut out = self.lock();
        let mut wake = false;
        out.link.handle(now, input);
        while let Some(action) = out.link.poll_action() {
            match action {
                Action::Drop { frames, reason } => count_dropped(counters, frames, reason),
                other => {
                    out.deferred.push(other);
                    wake = true;
                }
            }
        }
        drop(out);
        if wake {
            self.wake.notify_one();
        }
    }
}

/// Counts frames the link dropped.
fn count_dropped(counters: &Counters, frames: u64, reason: Dropped) {
    let counter = match reason {
        Dropped::QueueFull => &counters.dropped_full,
        Dropped::Unreachable | Dropped::ConnectionLost => &counters.dropped_unreachable,
    };
    Counters::add(counter, frames);
}

/// Frames written on a stream, length-delimited.
type Sink = FramedWrite<SendStream, LengthDelimitedCodec>;

/// An open outgoing connection and its stream.
struct Conn {
    id: ConnId,
    /// The stream's writer; `None` while a write owns it.
    sink: Option<Sink>,
    /// Resolves when the peer closed the connection or it broke.
    closed: BoxFuture<'static, ()>,
}

/// A write in progress: the connection, its writer back, how it ended,
/// and how many frames it carried.
type Writing = BoxFuture<'static, (ConnId, Sink, io::Result<()>, u64)>;

/// The task of one destination: dials and writes.
struct Task {
    remote: Arc<Remote>,
    shared: Arc<Shared>,
    dialer: Arc<Dialer>,
    dial: Option<BoxFuture<'static, (ConnId, Result<Opened, String>)>>,
    /// The connection an answered dial made, until the link adopts it.
    answered: Option<(ConnId, Opened)>,
    conn: Option<Conn>,
    write: Option<Writing>,
    /// When the link's retry timer fires.
    retry_at: Option<Instant>,
    /// Why the last dial failed, for the unreachable warning.
    failure: String,
    ever_connected: bool,
}

/// What woke the task.
enum Wake {
    Dialled(ConnId, Result<Opened, String>),
    Written(ConnId, Sink, io::Result<()>, u64),
    Closed,
    Retry,
    Queued,
}

impl Task {
    /// Serves the destination for as long as the transport lives (the task
    /// is aborted on shutdown).
    async fn run(mut self) {
        loop {
            let wake = tokio::select! {
                (conn, opened) = async { self.dial.as_mut().expect("guarded").await }, if self.dial.is_some() => {
                    Wake::Dialled(conn, opened)
                }
                (conn, sink, result, frames) = async { self.write.as_mut().expect("guarded").await },
                    if self.write.is_some() => Wake::Written(conn, sink, result, frames),
                () = async { self.conn.as_mut().expect("guarded").closed.as_mut().await },
                    if self.conn.is_some() => Wake::Closed,
                () = async { tokio::time::sleep_until(self.retry_at.expect("guarded")).await },
                    if self.retry_at.is_some() => Wake::Retry,
                () = self.remote.wake.notified() => Wake::Queued,
            };
            match wake {
                Wake::Dialled(conn, opened) => {
                    self.dial = None;
                    self.dialled(conn, opened);
                }
                Wake::Written(conn, sink, result, frames) => {
                    self.write = None;
                    self.written(conn, sink, result, frames);
                }
                Wake::Closed => self.lose("closed by the peer"),
                Wake::Retry => {
                    self.retry_at = None;
                    self.feed(Some(Input::Timer(Timer::Retry)));
                }
                Wake::Queued => self.feed(None),
            }
        }
    }

    /// Feeds `input` (after what `send` deferred) to the link and performs
    /// the actions.
    fn feed(&mut self, input: Option<Input>) {
        let remote = Arc::clone(&self.remote);
        let mut out = remote.lock();
        let now = Instant::now().into_std();
        for action in std::mem::take(&mut out.deferred) {
            self.perform(&out, action);
        }
        if let Some(input) = input {
            out.link.handle(now, input);
        }
        while let Some(action) = out.link.poll_action() {
            self.perform(&out, action);
        }
    }

    /// Performs one action of the link (whose frames in flight a write
    /// takes).
    fn perform(&mut self, out: &Out, action: Action) {
        let (local, peer, addr) = (self.shared.local, self.remote.peer, self.remote.addr);
        match action {
            Action::Dial { conn, timeout } => {
                if self.dial.is_some() {
                    debug!(peer = %local, to = %peer, %conn, "dialling again: the peer is up");
                }
                let dialer = Arc::clone(&self.dialer);
                let dial = async move { (conn, dialer.open(peer, addr, timeout).await) };
                self.dial = Some(dial.boxed());
            }
            Action::Adopt { conn, .. } => {
                let Some((id, opened)) = self.answered.take() else {
                    return;
                };
                if id != conn {
                    return;
                }
                if self.ever_connected {
                    Counters::add(&self.shared.counters.reconnects, 1);
                }
                self.ever_connected = true;
                self.write = None;
                debug!(peer = %local, to = %peer, %addr, %conn, "connected");
                let Opened { send, connection } = opened;
                self.conn = Some(Conn {
                    id: conn,
                    sink: Some(FramedWrite::new(
                        send,
                        hello::codec(self.shared.config.max_frame_len),
                    )),
                    closed: async move { connection.closed().await }.map(drop).boxed(),
                });
            }
            // A quic link is never offered a connection: nothing to refuse.
            Action::Refuse => {}
            Action::Close { conn } => {
                if self.conn.as_ref().is_some_and(|current| current.id == conn) {
                    self.conn = None;
                    self.write = None;
                }
            }
            Action::Write { conn, .. } => {
                let Some(current) = self.conn.as_mut().filter(|current| current.id == conn) else {
                    return;
                };
                let Some(mut sink) = current.sink.take() else {
                    return;
                };
                let frames: Vec<Bytes> = out.link.in_flight().cloned().collect();
                let write = async move {
                    let count = frames.len() as u64;
                    let mut result = Ok(());
                    for frame in frames {
                        result = sink.feed(frame).await;
                        if result.is_err() {
                            break;
                        }
                    }
                    if result.is_ok() {
                        result = SinkExt::<Bytes>::flush(&mut sink).await;
                    }
                    (conn, sink, result, count)
                };
                self.write = Some(write.boxed());
            }
            Action::ReportUnreachable => {
                warn!(peer = %local, to = %peer, %addr, "peer unreachable: {}", self.failure);
                let events = self.shared.events.clone();
                // Full inbox: the report waits like a frame would, without
                // holding up this task.
                if let Err(tokio::sync::mpsc::error::TrySendError::Full(event)) =
                    events.try_send(Event::Unreachable { peer })
                {
                    tokio::spawn(async move { events.send(event).await });
                }
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
    }

    /// Tells the link how a dial ended.
    fn dialled(&mut self, conn: ConnId, opened: Result<Opened, String>) {
        let outcome = match opened {
            Ok(opened) => {
                self.answered = Some((conn, opened));
                Dialled::Up
            }
            Err(reason) => {
                debug!(peer = %self.shared.local, to = %self.remote.peer, "dial failed: {reason}");
                self.failure = reason;
                Dialled::Failed
            }
        };
        self.feed(Some(Input::Dialled { conn, outcome }));
        self.answered = None;
    }

    /// Tells the link how a write ended.
    fn written(&mut self, conn: ConnId, sink: Sink, result: io::Result<()>, frames: u64) {
        let Some(current) = self.conn.as_mut().filter(|current| current.id == conn) else {
            return;
        };
        match result {
            Ok(()) => {
                current.sink = Some(sink);
                Counters::add(&self.shared.counters.sent, frames);
                self.feed(Some(Input::Written { conn }));
            }
            Err(e) => self.lose(&e.to_string()),
        }
    }

    /// Drops the connection and tells the link.
    fn lose(&mut self, reason: &str) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        self.write = None;
        debug!(peer = %self.shared.local, to = %self.remote.peer, conn = %conn.id, "connection lost: {reason}");
        self.feed(Some(Input::Lost { conn: conn.id }));
    }
}

/// An outgoing connection whose hello was acknowledged.
struct Opened {
    send: SendStream,
    connection: Connection,
}

impl Dialer {
    /// Opens a connection to `peer` at `addr` and on it the stream of our
    /// frames, sends the hello and waits for the acknowledgement, for at
    /// most `timeout`.
    async fn open(
        &self,
        peer: PeerId,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Opened, String> {
        tokio::time::timeout(timeout, self.open_now(peer, addr))
            .await
            .unwrap_or_else(|_| Err(format!("no connection within {timeout:?}")))
    }

    async fn open_now(&self, peer: PeerId, addr: SocketAddr) -> Result<Opened, String> {
        let connection = self
            .endpoint
            .connect_with(self.client.clone(), addr, &tls::peer_name(peer))
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(&hello::frame(self.local))
            .await
            .map_err(|e| format!("hello: {e}"))?;
        let mut ack = [0_u8; 1];
        recv.read_exact(&mut ack)
            .await
            .map_err(|e| format!("hello refused: {e}"))?;
        if ack[0] != ACK {
            return Err(format!(
                "hello answered with {:#04x}, not an acknowledgement",
                ack[0]
            ));
        }
        Ok(Opened { send, connection })
    }
}
