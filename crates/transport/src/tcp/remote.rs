//! One bidirectional TCP connection per pair of peers, owned by one task per
//! remote peer, which drives that peer's [`Link`] machine.
//!
//! The link decides (when to dial, which connection to keep, when the peer
//! is unreachable; see [`crate::link`]); this module only performs its
//! actions on sockets. A dial connects, sends our hello and waits for the
//! peer's: an answer is [`Dialled::Up`], a clean close without one is
//! [`Dialled::Refused`], a reset (a listener that died as we dialled), no
//! connection or no answer in time is [`Dialled::Failed`]. An accepted connection whose hello was read is
//! offered to the link ([`Input::Accepted`]), which adopts it (we answer
//! with our own hello) or refuses it (we close it). Nobody writes a frame
//! before the hellos are exchanged, so a refused connection never carried
//! one.
//!
//! # Hops
//!
//! `send` feeds the frame to the link under the peer's lock; when the link
//! answers with a write (the connection is up and idle) `send` writes the
//! frame to the socket itself (`try_write`, never waits), at most once
//! between two runs of the task, so that a burst is queued in the link and
//! coalesced by the task into one write instead of one system call per
//! frame. Anything else (a dial, the rest of a short write) is handed to
//! the task. The same task reads the connection and hands frames to the
//! inbox, so a frame costs one task wake-up on the receiving side and none
//! on the sending side.

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
use futures::{FutureExt, future::BoxFuture};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
    sync::{Notify, mpsc},
    task::AbortHandle,
    time::Instant,
};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};
use tracing::{debug, warn};

use crate::{
    Event, TransportError, hello,
    link::{Action, ConnId, Dialled, Dropped, Input, Link, LinkConfig, Timer},
    shared::Shared,
    stats::Counters,
    tls,
};

use super::{Tls, socket::Socket};

/// Bytes read from a socket at a time, at least.
const READ_CHUNK: usize = 16 * 1024;

/// Accepted connections waiting for their peer's task; more are closed
/// (their dialler retries).
const ACCEPTED_MAX: usize = 4;

/// A connection whose hello was read, handed to the task of the peer it
/// names.
pub(super) struct Accepted {
    /// The socket, with nothing read after the hello.
    pub(super) stream: Socket,
}

/// What one transport keeps about every other peer, each with its task.
pub(super) struct Remotes {
    shared: Arc<Shared>,
    open: AtomicBool,
    by_peer: BTreeMap<PeerId, Arc<Remote>>,
    tasks: Vec<AbortHandle>,
}

impl Remotes {
    /// A link and an idle task for every peer of `peers` but the local one.
    /// Nothing is dialled before the first frame.
    pub(super) fn start(
        shared: Arc<Shared>,
        peers: &BTreeMap<PeerId, SocketAddr>,
        tls: Option<&Arc<Tls>>,
    ) -> Self {
        let mut by_peer = BTreeMap::new();
        let mut tasks = Vec::new();
        for (&peer, &addr) in peers.iter().filter(|&(&id, _)| id != shared.local) {
            let (accepted_tx, accepted_rx) = mpsc::channel(ACCEPTED_MAX);
            let link = Link::new(shared.local, peer, LinkConfig::from(&shared.config));
            let remote = Arc::new(Remote {
                peer,
                addr,
                out: Mutex::new(Out {
                    link,
                    conn: None,
                    handoff: None,
                    deferred: Vec::new(),
                }),
                wrote_directly: AtomicBool::new(false),
                wake: Notify::new(),
                accepted: accepted_tx,
            });
            let task = Task::new(
                Arc::clone(&remote),
                Arc::clone(&shared),
                tls.cloned(),
                accepted_rx,
            );
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

    /// Sends `frame` to `to`; see [`crate::Transport::send`].
    pub(super) fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        self.shared.config.check_frame_len(to, frame.len())?;
        match self.route(to)? {
            Some(remote) => remote.send(Input::Frame(frame), &self.shared.counters),
            None => self.send_to_self(frame)?,
        }
        Ok(())
    }

    /// Sends `frames` to `to` in order, in one write if the connection is
    /// idle; see [`crate::Transport::send_many`].
    pub(super) fn send_many(&self, to: PeerId, frames: Vec<Bytes>) -> Result<(), TransportError> {
        for frame in &frames {
            self.shared.config.check_frame_len(to, frame.len())?;
        }
        match self.route(to)? {
            Some(remote) => remote.send(Input::Frames(frames), &self.shared.counters),
            None => {
                for frame in frames {
                    self.send_to_self(frame)?;
                }
            }
        }
        Ok(())
    }

    /// Where frames for `to` go: its remote, or `None` for ourselves.
    /// Refused once shut down, and for a peer we do not know.
    fn route(&self, to: PeerId) -> Result<Option<&Remote>, TransportError> {
        let local = self.shared.local;
        if !self.open.load(Ordering::Acquire) {
            return Err(TransportError::Shutdown(local));
        }
        match self.by_peer.get(&to) {
            Some(remote) => Ok(Some(remote)),
            None if to == local => Ok(None),
            None => Err(TransportError::UnknownPeer(to)),
        }
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

    /// Whether `from` is a peer we have a link to.
    pub(super) fn knows(&self, from: PeerId) -> bool {
        self.by_peer.contains_key(&from)
    }

    /// Hands a connection whose hello named `from`, a peer we know, to
    /// `from`'s task.
    pub(super) fn accepted(&self, from: PeerId, accepted: Accepted) {
        let Some(remote) = self.by_peer.get(&from) else {
            return;
        };
        if remote.accepted.try_send(accepted).is_err() {
            debug!(peer = %self.shared.local, %from, "too many connections waiting; closing one");
        }
    }

    /// Stops every task and closes every connection; queued frames are
    /// dropped.
    pub(super) fn close(&self) {
        self.open.store(false, Ordering::Release);
        for task in &self.tasks {
            task.abort();
        }
        for remote in self.by_peer.values() {
            let mut out = remote.lock();
            out.conn = None;
            out.handoff = None;
        }
    }
}

/// What `send` and the task share about one remote peer.
struct Remote {
    peer: PeerId,
    addr: SocketAddr,
    out: Mutex<Out>,
    /// `send` wrote a frame itself since the task last ran: the next
    /// write is the task's, so that a burst is coalesced. Only a hint,
    /// hence an atomic beside the lock rather than under it: the task
    /// clears it at every wake without taking the lock.
    wrote_directly: AtomicBool,
    /// Wakes the task: `send` left it something to do.
    wake: Notify,
    accepted: mpsc::Sender<Accepted>,
}

/// The link and what `send` needs to write on its connection; behind the
/// remote's lock.
struct Out {
    link: Link,
    /// The link's connection, as the task adopted it.
    conn: Option<(ConnId, Arc<Socket>)>,
    /// A write `send` began (or could not begin) itself, for the task to
    /// finish.
    handoff: Option<Handoff>,
    /// Actions from `send` that only the task can perform (a dial), in
    /// order.
    deferred: Vec<Action>,
}

/// The unwritten bytes of one [`Action::Write`].
struct Handoff {
    conn: ConnId,
    bytes: BytesMut,
    frames: u64,
}

impl Remote {
    fn lock(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Feeds a frame or frames (`input`) to the link and performs what the
    /// link answers: a write now if the connection is idle, a count if the
    /// queue is full, anything else for the task. Never waits.
    fn send(&self, input: Input, counters: &Counters) {
        let now = Instant::now().into_std();
        let mut out = self.lock();
        let mut wake = false;
        out.link.handle(now, input);
        while let Some(action) = out.link.poll_action() {
            match action {
                Action::Write { conn, frames } => {
                    if out.write_directly(conn, &self.wrote_directly) {
                        Counters::add(&counters.sent, frames as u64);
                        out.link.handle(now, Input::Written { conn });
                    } else {
                        wake = true;
                    }
                }
                Action::Drop { frames, reason } => count_dropped(counters, frames, reason),
                other => {
                    out.deferred.push(other);
                    wake = true;
                }
            }
        }
        // TLS bytes the socket did not take are the task's to flush.
        wake |= out
            .conn
            .as_ref()
            .is_some_and(|(_, stream)| stream.wants_flush());
        drop(out);
        if wake {
            self.wake.notify_one();
        }
    }
}

impl Out {
    /// Writes the link's frames in flight on `conn` now if it is ours and
    /// `send` may: returns
    /// whether all of it went out; whatever did not is handed to the task.
    fn write_directly(&mut self, conn: ConnId, wrote_directly: &AtomicBool) -> bool {
        let mut written = 0;
        let frames = self.link.in_flight();
        let mut bytes = None;
        if let Some((current, stream)) = &self.conn
            && *current == conn
            && !wrote_directly.swap(true, Ordering::Relaxed)
        {
            // Not writable now, or broken: the task finds out which.
            if let (1, Some(frame)) = (frames.len(), frames.clone().next()) {
                // One frame: its length and itself, with no copy.
                let prefix = (frame.len() as u32).to_be_bytes();
                written = stream
                    .try_write_vectored(&[IoSlice::new(&prefix), IoSlice::new(frame)])
                    .unwrap_or(0);
                if written == prefix.len() + frame.len() {
                    return true;
                }
            } else {
                // Several (a step's frames to one peer): one buffer, one
                // system call.
                let all = encode(frames);
                written = stream.try_write(&all).unwrap_or(0);
                if written == all.len() {
                    return true;
                }
                bytes = Some(all);
            }
        }
        let mut bytes = bytes.unwrap_or_else(|| encode(self.link.in_flight()));
        bytes.advance(written);
        self.handoff = Some(Handoff {
            conn,
            bytes,
            frames: self.link.in_flight().len() as u64,
        });
        false
    }
}

/// Frames as they go on the wire, each after its length.
fn encode<'a>(frames: impl Iterator<Item = &'a Bytes> + Clone) -> BytesMut {
    let len = frames.clone().map(|frame| 4 + frame.len()).sum();
    let mut bytes = BytesMut::with_capacity(len);
    for frame in frames {
        bytes.put_u32(frame.len() as u32);
        bytes.put_slice(frame);
    }
    bytes
}

/// Counts frames the link dropped.
fn count_dropped(counters: &Counters, frames: u64, reason: Dropped) {
    let counter = match reason {
        Dropped::QueueFull => &counters.dropped_full,
        Dropped::Unreachable | Dropped::ConnectionLost => &counters.dropped_unreachable,
    };
    Counters::add(counter, frames);
}

/// How a dial ended, with the connection if it is up.
enum Dial {
    /// The peer answered our hello; what it sent after its hello.
    Up(Socket, BytesMut),
    /// The peer closed the connection without answering, cleanly: a live
    /// peer keeping another connection.
    Refused(String),
    /// No connection, no answer in time, the wrong peer answered, or the
    /// connection was reset before an answer: a listener that died as we
    /// dialled (its queued connections are reset), not a live refusal.
    Failed(String),
}

/// The connection the task serves.
struct Conn {
    id: ConnId,
    stream: Arc<Socket>,
    codec: LengthDelimitedCodec,
    /// Bytes read, not yet decoded.
    rbuf: BytesMut,
}

/// The task of one remote peer: dials, accepts, reads and writes.
struct Task {
    remote: Arc<Remote>,
    shared: Arc<Shared>,
    /// TLS for every dial, if the transport runs under TLS.
    tls: Option<Arc<Tls>>,
    accepted: mpsc::Receiver<Accepted>,
    conn: Option<Conn>,
    dial: Option<BoxFuture<'static, (ConnId, Dial)>>,
    /// When the link's retry timer fires.
    retry_at: Option<Instant>,
    /// The connection an answered dial made, until the link adopts it.
    answered: Option<(ConnId, Socket, BytesMut)>,
    /// The accepted connection offered to the link, until it answers.
    offered: Option<Socket>,
    /// Why the last dial failed, for the unreachable warning.
    failure: String,
    /// Bytes of the link's write in progress, not yet on the wire.
    wbuf: BytesMut,
    /// Frames (whole or in part) in `wbuf`.
    wframes: u64,
    /// The socket refused more bytes: wait until it is writable.
    blocked: bool,
    /// Events waiting for room in the inbox, in order.
    pending: VecDeque<Event>,
    ever_connected: bool,
}

/// What woke the task.
enum Wake {
    Accepted(Option<Accepted>),
    Dialled(ConnId, Dial),
    Retry,
    Queued,
    Readable(io::Result<()>),
    Writable(io::Result<()>),
    Delivered(Result<mpsc::OwnedPermit<Event>, mpsc::error::SendError<()>>),
}

impl Task {
    fn new(
        remote: Arc<Remote>,
        shared: Arc<Shared>,
        tls: Option<Arc<Tls>>,
        accepted: mpsc::Receiver<Accepted>,
    ) -> Self {
        Self {
            remote,
            shared,
            tls,
            accepted,
            conn: None,
            dial: None,
            retry_at: None,
            answered: None,
            offered: None,
            failure: String::new(),
            wbuf: BytesMut::new(),
            wframes: 0,
            blocked: false,
            pending: VecDeque::new(),
            ever_connected: false,
        }
    }

    /// Serves the peer for as long as the transport lives (the task is
    /// aborted on shutdown).
    async fn run(mut self) {
        loop {
            let wake = {
                let stream = self.conn.as_ref().map(|conn| &*conn.stream);
                let want_read = stream.is_some() && self.pending.is_empty();
                let want_write = stream.is_some_and(|stream| self.blocked || stream.wants_flush());
                // Only an event waiting for room needs a handle on the
                // inbox (cloning one costs atomics shared with every task).
                let events = (!self.pending.is_empty()).then(|| self.shared.events.clone());
                tokio::select! {
                    accepted = self.accepted.recv() => Wake::Accepted(accepted),
                    (conn, dial) = async { self.dial.as_mut().expect("guarded").await }, if self.dial.is_some() => {
                        Wake::Dialled(conn, dial)
                    }
                    () = async { tokio::time::sleep_until(self.retry_at.expect("guarded")).await },
                        if self.retry_at.is_some() => Wake::Retry,
                    () = self.remote.wake.notified() => Wake::Queued,
                    ready = async { stream.as_ref().expect("guarded").readable().await }, if want_read => {
                        Wake::Readable(ready)
                    }
                    ready = async { stream.as_ref().expect("guarded").writable().await }, if want_write => {
                        Wake::Writable(ready)
                    }
                    permit = async { events.expect("guarded").reserve_owned().await }, if events.is_some() => {
                        Wake::Delivered(permit)
                    }
                }
            };
            // `send` may write directly once more.
            self.remote.wrote_directly.store(false, Ordering::Relaxed);
            match wake {
                // The transport is going away.
                Wake::Accepted(None) => return,
                Wake::Accepted(Some(accepted)) => self.offer(accepted),
                Wake::Dialled(conn, dial) => {
                    self.dial = None;
                    self.dialled(conn, dial);
                }
                Wake::Retry => {
                    self.retry_at = None;
                    self.feed(Some(Input::Timer(Timer::Retry)));
                }
                Wake::Queued => self.feed(None),
                Wake::Writable(Ok(())) => self.blocked = false,
                Wake::Readable(Ok(())) => self.read(),
                Wake::Readable(Err(e)) | Wake::Writable(Err(e)) => self.lose(&e.to_string()),
                Wake::Delivered(Ok(permit)) => {
                    if let Some(event) = self.pending.pop_front() {
                        permit.send(event);
                    }
                }
                Wake::Delivered(Err(_)) => return,
            }
            self.decode();
            self.write();
        }
    }

    /// Feeds `input` (after what `send` deferred) to the link and performs
    /// the actions, under the remote's lock; a follow-up (an answer that
    /// could not be written is a lost connection) is fed in turn.
    fn feed(&mut self, input: Option<Input>) {
        let remote = Arc::clone(&self.remote);
        let mut out = remote.lock();
        if let Some(handoff) = out.handoff.take()
            && self
                .conn
                .as_ref()
                .is_some_and(|conn| conn.id == handoff.conn)
        {
            self.wbuf = handoff.bytes;
            self.wframes = handoff.frames;
        }
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
    fn perform(&mut self, out: &mut Out, action: Action) -> Option<Input> {
        let (local, peer) = (self.shared.local, self.remote.peer);
        match action {
            Action::Dial { conn, timeout } => {
                let addr = self.remote.addr;
                let tls = self.tls.clone();
                self.dial = Some(
                    dial(local, peer, addr, tls, timeout)
                        .map(move |d| (conn, d))
                        .boxed(),
                );
            }
            Action::Adopt { conn, answer } => {
                let (stream, rest) = if answer {
                    let stream = self.offered.take()?;
                    let hello = hello::frame(local);
                    if !matches!(stream.try_write(&hello), Ok(n) if n == hello.len()) {
                        debug!(peer = %local, from = %peer, "could not answer a hello");
                        return Some(Input::Lost { conn });
                    }
                    (stream, BytesMut::new())
                } else {
                    match self.answered.take() {
                        Some((id, stream, rest)) if id == conn => (stream, rest),
                        _ => return None,
                    }
                };
                debug!(peer = %local, to = %peer, %conn, answer, "connected");
                self.install(out, conn, stream, rest);
            }
            Action::Refuse => {
                debug!(peer = %local, from = %peer, "refusing a second connection: ours wins");
                self.offered = None;
            }
            Action::Close { conn } => {
                debug!(peer = %local, to = %peer, %conn, "replaced by a newer connection");
                self.forget(out, conn);
            }
            Action::Write { conn, frames } => {
                if self.conn.as_ref().is_some_and(|current| current.id == conn) {
                    self.wbuf = encode(out.link.in_flight());
                    self.wframes = frames as u64;
                }
            }
            Action::ReportUnreachable => {
                let addr = self.remote.addr;
                warn!(peer = %local, to = %peer, %addr, "peer unreachable: {}", self.failure);
                // Full inbox: the report waits like a frame would.
                self.pending_or_send(Event::Unreachable { peer });
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

    /// Makes `stream` the connection `conn`, for the task and for `send`.
    fn install(&mut self, out: &mut Out, conn: ConnId, stream: Socket, rest: BytesMut) {
        let stream = Arc::new(stream);
        out.conn = Some((conn, Arc::clone(&stream)));
        out.handoff = None;
        if self.ever_connected {
            Counters::add(&self.shared.counters.reconnects, 1);
        }
        self.ever_connected = true;
        self.wbuf.clear();
        self.wframes = 0;
        self.blocked = false;
        self.conn = Some(Conn {
            id: conn,
            stream,
            codec: hello::codec(self.shared.config.max_frame_len),
            rbuf: rest,
        });
    }

    /// Closes the connection `conn` if it is the one served; what it had
    /// not written is lost.
    fn forget(&mut self, out: &mut Out, conn: ConnId) {
        if self.conn.as_ref().is_some_and(|current| current.id == conn) {
            self.conn = None;
            self.wbuf.clear();
            self.wframes = 0;
            self.blocked = false;
        }
        if out
            .conn
            .as_ref()
            .is_some_and(|(current, _)| *current == conn)
        {
            out.conn = None;
            out.handoff = None;
        }
    }

    /// Offers a connection the peer dialled to the link, unless the peer
    /// broke the rules.
    fn offer(&mut self, accepted: Accepted) {
        let Accepted { stream } = accepted;
        // A dialler waits for our answer before it writes frames: bytes
        // now are a peer breaking the rules (or not a peer at all).
        let mut early = BytesMut::with_capacity(64);
        match stream.try_read_buf(&mut early) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Ok(n) if n > 0 => {
                Counters::add(&self.shared.counters.rejected, 1);
                warn!(
                    peer = %self.shared.local, from = %self.remote.peer,
                    "closing tcp connection: {n} bytes after the hello, before it was answered"
                );
                return;
            }
            // Closed or broken already.
            _ => return,
        }
        self.offered = Some(stream);
        self.feed(Some(Input::Accepted));
        self.offered = None;
    }

    /// Tells the link how a dial ended.
    fn dialled(&mut self, conn: ConnId, dial: Dial) {
        let (local, peer, addr) = (self.shared.local, self.remote.peer, self.remote.addr);
        let outcome = match dial {
            Dial::Up(stream, rest) => {
                self.answered = Some((conn, stream, rest));
                Dialled::Up
            }
            Dial::Refused(reason) => {
                debug!(peer = %local, to = %peer, %addr, "dial refused: {reason}");
                Dialled::Refused
            }
            Dial::Failed(reason) => {
                debug!(peer = %local, to = %peer, %addr, "dial failed: {reason}");
                self.failure = reason;
                Dialled::Failed
            }
        };
        self.feed(Some(Input::Dialled { conn, outcome }));
        self.answered = None;
    }

    /// Drops the connection and tells the link.
    fn lose(&mut self, reason: &str) {
        let Some(conn) = self.conn.as_ref().map(|conn| conn.id) else {
            return;
        };
        debug!(peer = %self.shared.local, to = %self.remote.peer, %conn, "connection lost: {reason}");
        {
            let remote = Arc::clone(&self.remote);
            self.forget(&mut remote.lock(), conn);
        }
        self.feed(Some(Input::Lost { conn }));
    }

    /// Reads what the socket has (decoding follows).
    fn read(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        conn.rbuf.reserve(READ_CHUNK);
        match conn.stream.try_read_buf(&mut conn.rbuf) {
            Ok(0) => self.lose("closed by the peer"),
            Ok(_) => {}
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
                    let from = self.remote.peer;
                    self.pending_or_send(Event::Frame {
                        from,
                        frame: frame.freeze(),
                    });
                }
                Ok(None) => return,
                Err(e) => {
                    let reason = format!("bad frame from peer {}: {e}", self.remote.peer);
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

    /// Writes the link's write in progress until done or the socket is
    /// full; each finished write is reported to the link, which may hand
    /// out the next.
    fn write(&mut self) {
        if !self.blocked
            && let Some(conn) = self.conn.as_ref()
            && conn.stream.wants_flush()
        {
            match conn.stream.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.blocked = true,
                Err(e) => return self.lose(&e.to_string()),
            }
        }
        while !self.blocked && !self.wbuf.is_empty() {
            let Some(conn) = self.conn.as_ref() else {
                return;
            };
            match conn.stream.try_write(&self.wbuf) {
                Ok(n) => {
                    self.wbuf.advance(n);
                    if self.wbuf.is_empty() {
                        Counters::add(&self.shared.counters.sent, self.wframes);
                        self.wframes = 0;
                        let conn = conn.id;
                        self.feed(Some(Input::Written { conn }));
                    }
                }
                // The writable branch waits for room.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.blocked = true,
                Err(e) => self.lose(&e.to_string()),
            }
        }
    }
}

/// Connects to `peer` at `addr` (under TLS, asking for `peer`'s
/// certificate), sends our hello and waits for theirs.
async fn dial(
    local: PeerId,
    peer: PeerId,
    addr: SocketAddr,
    tls: Option<Arc<Tls>>,
    timeout: Duration,
) -> Dial {
    let attempt = async {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Dial::Failed(e.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| Dial::Failed(format!("TCP_NODELAY: {e}")))?;
        let Some(tls) = tls else {
            let mut stream = stream;
            let rest = exchange_hellos(&mut stream, local, peer).await?;
            return Ok((Socket::plain(stream), rest));
        };
        let name = rustls::pki_types::ServerName::try_from(tls::peer_name(peer))
            .map_err(|e| Dial::Failed(format!("the name of peer {peer}: {e}")))?;
        let mut stream = tls
            .connector
            .connect(name, stream)
            .await
            .map_err(|e| Dial::Failed(format!("tls handshake: {e}")))?;
        let mut rest = exchange_hellos(&mut stream, local, peer).await?;
        let (stream, connection) = stream.into_inner();
        let socket = Socket::tls(stream, connection.into(), &mut rest)
            .map_err(|e| Dial::Failed(format!("tls: {e}")))?;
        Ok((socket, rest))
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok((stream, rest))) => Dial::Up(stream, rest),
        Ok(Err(dial)) => dial,
        Err(_) => Dial::Failed(format!("no connection within {timeout:?}")),
    }
}

/// Sends our hello on a fresh connection and reads the answer, which must
/// name `peer`; returns what came after it.
async fn exchange_hellos<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    local: PeerId,
    peer: PeerId,
) -> Result<BytesMut, Dial> {
    stream
        .write_all(&hello::frame(local))
        .await
        .map_err(unanswered)?;
    stream.flush().await.map_err(unanswered)?;
    let mut codec = hello::codec(hello::HELLO_LEN);
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        match codec.decode(&mut rbuf) {
            Ok(Some(answer)) => {
                return match hello::decode(&answer) {
                    Ok(from) if from == peer => Ok(rbuf),
                    Ok(from) => Err(Dial::Failed(format!(
                        "peer {from} answered at the address of peer {peer}"
                    ))),
                    Err(e) => Err(Dial::Failed(e)),
                };
            }
            Ok(None) => {}
            Err(e) => return Err(Dial::Failed(format!("bad answer to the hello: {e}"))),
        }
        match stream.read_buf(&mut rbuf).await {
            Ok(0) => return Err(Dial::Refused("closed without answering".into())),
            Ok(_) => {}
            // Under TLS 1.3 the listener checks our certificate after our
            // handshake ends: its refusal is an alert, here. Not a peer
            // keeping another connection: we cannot get in.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(Dial::Failed(format!("tls: {e}")));
            }
            Err(e) => return Err(unanswered(e)),
        }
    }
}

/// How a dial ended whose hello met `e`. A live peer that refuses closes
/// the connection after reading our hello: an end of file (under TLS, one
/// without `close_notify`). A reset means the listener died as we dialled
/// (the kernel resets the connections it had queued for it): the peer is
/// gone, not keeping another connection.
fn unanswered(e: io::Error) -> Dial {
    if e.kind() == io::ErrorKind::ConnectionReset {
        Dial::Failed(format!("no answer to the hello: {e}"))
    } else {
        Dial::Refused(format!("hello: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::{
        io::AsyncReadExt,
        net::{TcpListener, TcpStream},
    };

    use super::*;

    /// Dials a listener that reads our hello, then closes as `close` does;
    /// returns how the dial ended.
    async fn dial_then(close: impl FnOnce(TcpStream)) -> Dial {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (mut server, _) = listener.accept().await.expect("accept");
        let dial = tokio::spawn(async move {
            match exchange_hellos(&mut client, PeerId(1), PeerId(2)).await {
                Ok(_) => Dial::Failed("answered".into()),
                Err(dial) => dial,
            }
        });
        let mut hello = vec![0; hello::frame(PeerId(1)).len()];
        server.read_exact(&mut hello).await.expect("our hello");
        close(server);
        dial.await.expect("the dial")
    }

    #[tokio::test]
    async fn a_clean_close_without_an_answer_is_a_refusal() {
        let dial = dial_then(drop).await;
        assert!(matches!(dial, Dial::Refused(_)));
    }

    #[tokio::test]
    async fn a_reset_before_the_answer_is_a_failure_not_a_live_refusal() {
        // What a dying listener's queued connections get. A zero linger
        // resets at once; it is the waiting linger that blocks a drop.
        #[allow(deprecated)]
        let reset = |server: TcpStream| {
            server.set_linger(Some(Duration::ZERO)).expect("linger");
            drop(server);
        };
        match dial_then(reset).await {
            Dial::Failed(why) => assert!(why.contains("reset"), "{why}"),
            Dial::Refused(why) => panic!("taken for a live refusal: {why}"),
            Dial::Up(..) => panic!("up"),
        }
    }
}
