//! One bidirectional TCP connection per pair of peers, owned by one task per
//! remote peer.
//!
//! # Who keeps which connection
//!
//! Either side dials when it has frames to send and no connection: the
//! dialler sends its hello and waits; the listener answers with its own
//! hello if it keeps the connection, or closes it if not. Nobody writes a
//! frame before the hellos are exchanged, so a connection that is refused
//! never carried a frame. The listener decides, with one rule: **it refuses
//! a dial from a higher id while it has a dial of its own in progress to
//! that peer or a connection it dialled itself; every other dial it
//! accepts, replacing whatever connection it had** (the dialler only dials
//! when it has none, so the old one is dead to it). When both dial at once
//! the lower id's connection wins on both sides: the higher id accepts it
//! and the lower id refuses the other. A dialler always adopts a connection
//! the listener answered, and ignores a refusal while it has a connection;
//! without one, a refusal means "retry after `backoff_min`", not
//! "unreachable". Only a failed dial (no TCP connection, no answer within
//! `connect_timeout`, an answer from the wrong peer) is an outage.
//!
//! # Hops
//!
//! `send` writes the frame to the socket itself (`try_write`, never waits)
//! when the connection is up, nothing is queued and the task is not in the
//! middle of a write; otherwise it queues the frame and wakes the task,
//! which coalesces everything queued into one write. The same task reads
//! the connection and hands frames to the inbox, so a frame costs one task
//! wake-up on the receiving side and none on the sending side.

use std::{
    collections::{BTreeMap, VecDeque},
    io::{self, IoSlice},
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bazaar_protocol::PeerId;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{Notify, mpsc},
    task::AbortHandle,
    time::Instant,
};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};
use tracing::{debug, warn};

use crate::{Event, TransportError, hello, shared::Shared, stats::Counters};

/// Most frames moved from the queue into one write.
const BATCH_MAX: usize = 256;

/// Bytes read from a socket at a time, at least.
const READ_CHUNK: usize = 16 * 1024;

/// Accepted connections waiting for their peer's task; more are closed
/// (their dialler retries).
const ACCEPTED_MAX: usize = 4;

/// A connection whose hello was read, handed to the task of the peer it
/// names.
pub(super) struct Accepted {
    /// The socket, with nothing read after the hello.
    pub(super) stream: TcpStream,
}

/// The links of one transport, one per other peer, each with its task.
pub(super) struct Links {
    shared: Arc<Shared>,
    open: AtomicBool,
    by_peer: BTreeMap<PeerId, Arc<Link>>,
    tasks: Vec<AbortHandle>,
}

impl Links {
    /// A link and an idle task for every peer of `peers` but the local one.
    /// Nothing is dialled before the first frame.
    pub(super) fn start(shared: Arc<Shared>, peers: &BTreeMap<PeerId, SocketAddr>) -> Self {
        let mut by_peer = BTreeMap::new();
        let mut tasks = Vec::new();
        for (&peer, &addr) in peers.iter().filter(|&(&id, _)| id != shared.local) {
            let (accepted_tx, accepted_rx) = mpsc::channel(ACCEPTED_MAX);
            let link = Arc::new(Link {
                peer,
                addr,
                out: Mutex::new(Out::default()),
                wake: Notify::new(),
                accepted: accepted_tx,
            });
            let task = Task::new(Arc::clone(&link), Arc::clone(&shared), accepted_rx);
            tasks.push(tokio::spawn(task.run()).abort_handle());
            by_peer.insert(peer, link);
        }
        Self {
            shared,
            open: AtomicBool::new(true),
            by_peer,
            tasks,
        }
    }

    /// Sends `frame` to `to`; see [`crate::Transport::send`].
    pub(super) fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        let shared = &self.shared;
        let max = shared.config.max_frame_len;
        if frame.len() > max {
            return Err(TransportError::FrameTooLarge {
                to,
                len: frame.len(),
                max,
            });
        }
        if !self.open.load(Ordering::Acquire) {
            return Err(TransportError::Shutdown(shared.local));
        }
        let Some(link) = self.by_peer.get(&to) else {
            if to == shared.local {
                return self.send_to_self(frame);
            }
            return Err(TransportError::UnknownPeer(to));
        };
        link.send(frame, shared);
        Ok(())
    }

    /// A frame to ourselves goes straight to our inbox.
    fn send_to_self(&self, frame: Bytes) -> Result<(), TransportError> {
        let counters = &self.shared.counters;
        let event = Event::Frame {
            from: self.shared.local,
            frame,
        };
        match self.shared.events.try_send(event) {
            Ok(()) => {
                Counters::add(&counters.sent, 1);
                Counters::add(&counters.received, 1);
            }
            Err(mpsc::error::TrySendError::Full(_)) => Counters::add(&counters.dropped_full, 1),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(TransportError::Shutdown(self.shared.local));
            }
        }
        Ok(())
    }

    /// Hands a connection whose hello named `from` to `from`'s task.
    /// Returns `false` if `from` is not a peer we have a link to.
    pub(super) fn accepted(&self, from: PeerId, accepted: Accepted) -> bool {
        let Some(link) = self.by_peer.get(&from) else {
            return false;
        };
        if link.accepted.try_send(accepted).is_err() {
            debug!(peer = %self.shared.local, %from, "too many connections waiting; closing one");
        }
        true
    }

    /// Stops every task and closes every connection; queued frames are
    /// dropped.
    pub(super) fn close(&self) {
        self.open.store(false, Ordering::Release);
        for task in &self.tasks {
            task.abort();
        }
        for link in self.by_peer.values() {
            let mut out = link.lock();
            out.conn = None;
            out.queue.clear();
            out.partial = None;
        }
    }
}

/// What `send` and the task share about one peer.
struct Link {
    peer: PeerId,
    addr: SocketAddr,
    out: Mutex<Out>,
    /// Wakes the task: frames were queued.
    wake: Notify,
    accepted: mpsc::Sender<Accepted>,
}

/// The outgoing side of a link.
#[derive(Default)]
struct Out {
    /// The connection, once the hellos are exchanged.
    conn: Option<Arc<TcpStream>>,
    /// Frames not yet started.
    queue: VecDeque<Bytes>,
    /// The unwritten end of a frame `send` began writing itself; goes
    /// before the queue.
    partial: Option<Bytes>,
    /// The task owns the write side: it holds bytes not yet written.
    busy: bool,
    /// `send` wrote a frame itself since the task last ran: the next ones
    /// queue, so that a burst is coalesced by the task instead of costing
    /// a system call per frame.
    wrote_directly: bool,
}

impl Link {
    fn lock(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `frame` now if the connection is idle, else queues it (or
    /// drops it if the queue is full). Never waits.
    fn send(&self, frame: Bytes, shared: &Shared) {
        let counters = &shared.counters;
        let mut out = self.lock();
        if !out.busy
            && !out.wrote_directly
            && out.queue.is_empty()
            && let Some(conn) = &out.conn
        {
            let prefix = (frame.len() as u32).to_be_bytes();
            let total = prefix.len() + frame.len();
            match conn.try_write_vectored(&[IoSlice::new(&prefix), IoSlice::new(&frame)]) {
                Ok(n) if n == total => {
                    out.wrote_directly = true;
                    drop(out);
                    Counters::add(&counters.sent, 1);
                    return;
                }
                Ok(n) => {
                    let mut rest = BytesMut::with_capacity(total - n);
                    if n < prefix.len() {
                        rest.put_slice(&prefix[n..]);
                        rest.put_slice(&frame);
                    } else {
                        rest.put_slice(&frame[n - prefix.len()..]);
                    }
                    out.partial = Some(rest.freeze());
                    out.busy = true;
                    drop(out);
                    self.wake.notify_one();
                    return;
                }
                // Not writable now, or broken: the task finds out which.
                Err(_) => {}
            }
        }
        if out.queue.len() >= shared.config.queue_len.max(1) {
            drop(out);
            Counters::add(&counters.dropped_full, 1);
            return;
        }
        out.queue.push_back(frame);
        let idle = !out.busy;
        drop(out);
        if idle {
            self.wake.notify_one();
        }
    }
}

/// How a dial ended.
enum Dialled {
    /// The peer answered our hello: the connection is ours.
    Up(TcpStream, BytesMut),
    /// The peer is there but closed the connection without answering: it
    /// keeps another connection, or is busy. Not an outage.
    Refused(String),
    /// No connection, no answer in time, or the wrong peer answered.
    Failed(String),
}

/// The connection a task is serving.
struct Conn {
    stream: Arc<TcpStream>,
    /// We dialled it (rather than accepted it).
    dialled: bool,
    codec: LengthDelimitedCodec,
    /// Bytes read, not yet decoded.
    rbuf: BytesMut,
    /// Bytes taken from the queue, not yet written.
    wbuf: BytesMut,
    /// Frames (whole or in part) in `wbuf`.
    wframes: u64,
}

/// The task of one link: dials, accepts, reads and writes.
struct Task {
    link: Arc<Link>,
    shared: Arc<Shared>,
    accepted: mpsc::Receiver<Accepted>,
    conn: Option<Conn>,
    dial: Option<BoxFuture<'static, Dialled>>,
    /// No dial before this instant.
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Events waiting for room in the inbox, in order.
    pending: VecDeque<Event>,
    ever_connected: bool,
    reported: bool,
    /// A connection was lost: dial once even with nothing queued, so that a
    /// dead peer is reported at once rather than at the next send.
    probe: bool,
}

/// What woke the task.
enum Wake {
    Accepted(Option<Accepted>),
    Dialled(Dialled),
    Retry,
    Queued,
    Readable(io::Result<()>),
    Writable(io::Result<()>),
    Delivered(Result<mpsc::OwnedPermit<Event>, mpsc::error::SendError<()>>),
}

impl Task {
    fn new(link: Arc<Link>, shared: Arc<Shared>, accepted: mpsc::Receiver<Accepted>) -> Self {
        let backoff = shared.config.backoff_min;
        Self {
            link,
            shared,
            accepted,
            conn: None,
            dial: None,
            retry_at: None,
            backoff,
            pending: VecDeque::new(),
            ever_connected: false,
            reported: false,
            probe: false,
        }
    }

    /// Serves the link for as long as the transport lives (the task is
    /// aborted on shutdown).
    async fn run(mut self) {
        loop {
            self.maybe_dial();
            let wake = {
                let stream = self.conn.as_ref().map(|conn| Arc::clone(&conn.stream));
                let want_read = stream.is_some() && self.pending.is_empty();
                let want_write = self.conn.as_ref().is_some_and(|conn| !conn.wbuf.is_empty());
                let events = self.shared.events.clone();
                tokio::select! {
                    accepted = self.accepted.recv() => Wake::Accepted(accepted),
                    dialled = async { self.dial.as_mut().expect("guarded").await }, if self.dial.is_some() => {
                        Wake::Dialled(dialled)
                    }
                    () = async { tokio::time::sleep_until(self.retry_at.expect("guarded")).await },
                        if self.retry_at.is_some() => Wake::Retry,
                    () = self.link.wake.notified() => Wake::Queued,
                    ready = async { stream.as_ref().expect("guarded").readable().await }, if want_read => {
                        Wake::Readable(ready)
                    }
                    ready = async { stream.as_ref().expect("guarded").writable().await }, if want_write => {
                        Wake::Writable(ready)
                    }
                    permit = events.reserve_owned(), if !self.pending.is_empty() => Wake::Delivered(permit),
                }
            };
            self.link.lock().wrote_directly = false;
            match wake {
                // The transport is going away.
                Wake::Accepted(None) => return,
                Wake::Accepted(Some(accepted)) => self.on_accepted(accepted).await,
                Wake::Dialled(dialled) => {
                    self.dial = None;
                    self.on_dialled(dialled);
                }
                Wake::Retry => self.retry_at = None,
                Wake::Queued | Wake::Writable(Ok(())) => self.write(),
                Wake::Readable(Ok(())) => self.read(),
                Wake::Readable(Err(e)) | Wake::Writable(Err(e)) => self.lose(&e.to_string()),
                Wake::Delivered(Ok(permit)) => {
                    if let Some(event) = self.pending.pop_front() {
                        permit.send(event);
                    }
                    self.decode();
                }
                Wake::Delivered(Err(_)) => return,
            }
        }
    }

    /// Dials if frames wait (or a lost connection is to be probed), there
    /// is no connection and no dial, and the backoff is over.
    fn maybe_dial(&mut self) {
        if self.conn.is_some() || self.dial.is_some() || self.retry_at.is_some() {
            return;
        }
        {
            let out = self.link.lock();
            if out.queue.is_empty() && out.partial.is_none() && !self.probe {
                return;
            }
        }
        self.probe = false;
        let (local, peer, addr) = (self.shared.local, self.link.peer, self.link.addr);
        let timeout = self.shared.config.connect_timeout;
        self.dial = Some(Box::pin(dial(local, peer, addr, timeout)));
    }

    fn on_dialled(&mut self, dialled: Dialled) {
        let (local, peer, addr) = (self.shared.local, self.link.peer, self.link.addr);
        match dialled {
            Dialled::Up(stream, rest) => self.adopt(stream, rest, true),
            // We have a connection (the peer's dial won): nothing to do.
            Dialled::Refused(_) | Dialled::Failed(_) if self.conn.is_some() => {}
            Dialled::Refused(reason) => {
                debug!(peer = %local, to = %peer, %addr, "dial refused, retrying: {reason}");
                self.retry_at = Some(Instant::now() + self.shared.config.backoff_min);
            }
            Dialled::Failed(reason) => {
                let dropped = {
                    let mut out = self.link.lock();
                    let dropped = out.queue.len() + usize::from(out.partial.is_some());
                    out.queue.clear();
                    out.partial = None;
                    out.busy = false;
                    dropped
                };
                Counters::add(&self.shared.counters.dropped_unreachable, dropped as u64);
                if !self.reported {
                    warn!(peer = %local, to = %peer, %addr, "peer unreachable: {reason}");
                    self.reported = true;
                    // Full inbox: the report waits like a frame would.
                    self.pending_or_send(Event::Unreachable { peer });
                }
                self.retry_at = Some(Instant::now() + self.backoff);
                let max = self.shared.config.backoff_max;
                self.backoff = (self.backoff * 2).min(max).max(Duration::from_millis(1));
            }
        }
    }

    /// Decides about a connection the peer dialled (see the module docs).
    async fn on_accepted(&mut self, accepted: Accepted) {
        let (local, peer) = (self.shared.local, self.link.peer);
        let ours = self.dial.is_some() || self.conn.as_ref().is_some_and(|conn| conn.dialled);
        if local < peer && ours {
            debug!(peer = %local, from = %peer, "refusing a second connection: ours wins");
            return;
        }
        let Accepted { mut stream } = accepted;
        // A dialler waits for our answer before it writes frames: bytes
        // now are a peer breaking the rules (or not a peer at all).
        let mut early = BytesMut::with_capacity(64);
        match stream.try_read_buf(&mut early) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Ok(n) if n > 0 => {
                Counters::add(&self.shared.counters.rejected, 1);
                warn!(
                    peer = %local, from = %peer,
                    "closing tcp connection: {n} bytes after the hello, before it was answered"
                );
                return;
            }
            // Closed or broken already.
            _ => return,
        }
        let answer = tokio::time::timeout(
            self.shared.config.hello_timeout,
            stream.write_all(&hello::frame(local)),
        )
        .await;
        if !matches!(answer, Ok(Ok(()))) {
            debug!(peer = %local, from = %peer, "could not answer a hello");
            return;
        }
        self.adopt(stream, BytesMut::new(), false);
    }

    /// Makes `stream` the link's connection, replacing any other.
    fn adopt(&mut self, stream: TcpStream, rest: BytesMut, dialled: bool) {
        if self.conn.is_some() {
            self.lose("replaced by a newer connection");
        }
        let stream = Arc::new(stream);
        {
            let mut out = self.link.lock();
            out.conn = Some(Arc::clone(&stream));
            out.busy = false;
        }
        if self.ever_connected {
            Counters::add(&self.shared.counters.reconnects, 1);
        }
        self.ever_connected = true;
        self.reported = false;
        self.retry_at = None;
        self.backoff = self.shared.config.backoff_min;
        debug!(peer = %self.shared.local, to = %self.link.peer, dialled, "connected");
        self.conn = Some(Conn {
            stream,
            dialled,
            codec: hello::codec(self.shared.config.max_frame_len),
            rbuf: rest,
            wbuf: BytesMut::new(),
            wframes: 0,
        });
        self.decode();
        self.write();
    }

    /// Drops the connection; what it had not written is lost, what is
    /// queued waits for the next one.
    fn lose(&mut self, reason: &str) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let partial = {
            let mut out = self.link.lock();
            out.conn = None;
            out.busy = false;
            out.partial.take().is_some()
        };
        let lost = conn.wframes + u64::from(partial);
        Counters::add(&self.shared.counters.dropped_unreachable, lost);
        // A peer that died is refused at once on a dial: find out now, so
        // the node hears of it in milliseconds rather than after its own
        // timeouts. A live peer just answers and keeps the connection.
        self.probe = true;
        debug!(peer = %self.shared.local, to = %self.link.peer, "connection lost: {reason}");
    }

    /// Reads what the socket has, then decodes it.
    fn read(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        conn.rbuf.reserve(READ_CHUNK);
        match conn.stream.try_read_buf(&mut conn.rbuf) {
            Ok(0) => self.lose("closed by the peer"),
            Ok(_) => self.decode(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => self.lose(&e.to_string()),
        }
    }

    /// Hands every complete frame read to the inbox, until it is full.
    fn decode(&mut self) {
        while self.pending.is_empty() {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            match conn.codec.decode(&mut conn.rbuf) {
                Ok(Some(frame)) => {
                    Counters::add(&self.shared.counters.received, 1);
                    let from = self.link.peer;
                    self.pending_or_send(Event::Frame {
                        from,
                        frame: frame.freeze(),
                    });
                }
                Ok(None) => return,
                Err(e) => {
                    let reason = format!("bad frame from peer {}: {e}", self.link.peer);
                    if e.kind() == io::ErrorKind::InvalidData {
                        Counters::add(&self.shared.counters.rejected, 1);
                        warn!(peer = %self.shared.local, "closing tcp connection: {reason}");
                    }
                    self.lose(&reason);
                    return;
                }
            }
        }
    }

    /// Puts `event` in the inbox, or keeps it until there is room.
    fn pending_or_send(&mut self, event: Event) {
        if !self.pending.is_empty() {
            self.pending.push_back(event);
        } else if let Err(mpsc::error::TrySendError::Full(event)) =
            self.shared.events.try_send(event)
        {
            self.pending.push_back(event);
        }
    }

    /// Writes what is queued, coalesced, until done or the socket is full.
    fn write(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        loop {
            if conn.wbuf.is_empty() {
                let mut out = self.link.lock();
                if let Some(partial) = out.partial.take() {
                    conn.wbuf.put_slice(&partial);
                    conn.wframes += 1;
                }
                while conn.wframes < BATCH_MAX as u64 {
                    let Some(frame) = out.queue.pop_front() else {
                        break;
                    };
                    conn.wbuf.put_u32(frame.len() as u32);
                    conn.wbuf.put_slice(&frame);
                    conn.wframes += 1;
                }
                out.busy = !conn.wbuf.is_empty();
                if !out.busy {
                    return;
                }
            }
            match conn.stream.try_write(&conn.wbuf) {
                Ok(n) => {
                    conn.wbuf.advance(n);
                    if conn.wbuf.is_empty() {
                        Counters::add(&self.shared.counters.sent, conn.wframes);
                        conn.wframes = 0;
                    }
                }
                // The writable branch waits for room.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    self.lose(&e.to_string());
                    return;
                }
            }
        }
    }
}

/// Connects to `peer` at `addr`, sends our hello and waits for theirs.
async fn dial(local: PeerId, peer: PeerId, addr: SocketAddr, timeout: Duration) -> Dialled {
    let attempt = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Dialled::Failed(e.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| Dialled::Failed(format!("TCP_NODELAY: {e}")))?;
        stream
            .write_all(&hello::frame(local))
            .await
            .map_err(|e| Dialled::Refused(format!("hello: {e}")))?;
        let mut codec = hello::codec(hello::HELLO_LEN);
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        loop {
            match codec.decode(&mut rbuf) {
                Ok(Some(answer)) => {
                    return match hello::decode(&answer) {
                        Ok(from) if from == peer => Ok((stream, rbuf)),
                        Ok(from) => Err(Dialled::Failed(format!(
                            "peer {from} answered at the address of peer {peer}"
                        ))),
                        Err(e) => Err(Dialled::Failed(e)),
                    };
                }
                Ok(None) => {}
                Err(e) => return Err(Dialled::Failed(format!("bad answer to the hello: {e}"))),
            }
            match stream.read_buf(&mut rbuf).await {
                Ok(0) => return Err(Dialled::Refused("closed without answering".into())),
                Ok(_) => {}
                Err(e) => return Err(Dialled::Refused(e.to_string())),
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok((stream, rest))) => Dialled::Up(stream, rest),
        Ok(Err(dialled)) => dialled,
        Err(_) => Dialled::Failed(format!("no connection within {timeout:?}")),
    }
}
