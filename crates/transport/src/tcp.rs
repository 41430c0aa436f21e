//! Frames over TCP.
//!
//! One bidirectional connection per pair of peers: whoever has frames to
//! send first dials, the dialler's hello names it and the listener answers
//! with its own hello; when both dial at once the lower id's connection is
//! kept (see [`crate::link`] for the rule). Frames are length-delimited with
//! a hard maximum; `TCP_NODELAY` is on; `send` writes an idle connection
//! itself and otherwise queues, and frames that queue up go out in one
//! write. A connection that sends garbage, an oversize length prefix or a
//! hello naming a peer outside the peer list is closed with a warning; the
//! transport keeps serving everyone else.
//!
//! For an in-process cluster on free loopback ports, bind every listener
//! first ([`TcpTransport::bind`] on port 0), gather the addresses into the
//! peer list, then [`TcpBinding::start`] each; [`TcpTransport::loopback_cluster`]
//! does exactly that.

mod remote;

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use bazaar_protocol::PeerId;
use bytes::{Bytes, BytesMut};
use tokio::{
    io::AsyncReadExt,
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};
use tokio_util::codec::Decoder;
use tracing::{debug, warn};

use crate::{
    Event, Stats, Transport, TransportConfig, TransportError, hello,
    inbox::Inbox,
    shared::{AcceptTask, Shared},
    stats::Counters,
};

use remote::{Accepted, Remotes};

/// A bound TCP listener, not yet serving: learn its address, then start it.
#[derive(Debug)]
pub struct TcpBinding {
    listener: TcpListener,
    addr: SocketAddr,
}

impl TcpBinding {
    /// The address the listener is bound to (with the real port if 0 was
    /// asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts serving as peer `local` of a cluster whose addresses are
    /// `peers`. Must be called within a tokio runtime.
    pub fn start(
        self,
        local: PeerId,
        peers: BTreeMap<PeerId, SocketAddr>,
        config: TransportConfig,
    ) -> TcpTransport {
        let inbox = Inbox::new(config.inbox_len);
        let shared = Arc::new(Shared {
            local,
            config,
            counters: Counters::default(),
            events: inbox.sender(),
        });
        let remotes = Arc::new(Remotes::start(Arc::clone(&shared), &peers));
        let accept = tokio::spawn(accept_loop(
            self.listener,
            Arc::clone(&shared),
            Arc::clone(&remotes),
        ));
        TcpTransport {
            addr: self.addr,
            shared,
            inbox,
            remotes,
            accept: AcceptTask::new(accept),
        }
    }
}

/// A peer's TCP transport. See the [module docs](self).
pub struct TcpTransport {
    addr: SocketAddr,
    shared: Arc<Shared>,
    inbox: Inbox,
    remotes: Arc<Remotes>,
    accept: AcceptTask,
}

impl TcpTransport {
    /// Binds a listener at `addr` (port 0 picks a free port).
    ///
    /// # Errors
    /// [`TransportError::Bind`] if the address is in use or not ours.
    pub async fn bind(addr: SocketAddr) -> Result<TcpBinding, TransportError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| TransportError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| TransportError::Bind { addr, source })?;
        Ok(TcpBinding { listener, addr })
    }

    /// Binds `peers[local]` and starts serving as peer `local`.
    ///
    /// # Errors
    /// [`TransportError::UnknownPeer`] if `local` is not in `peers`,
    /// [`TransportError::Bind`] if its address cannot be bound.
    pub async fn start(
        local: PeerId,
        peers: BTreeMap<PeerId, SocketAddr>,
        config: TransportConfig,
    ) -> Result<Self, TransportError> {
        let addr = *peers
            .get(&local)
            .ok_or(TransportError::UnknownPeer(local))?;
        Ok(Self::bind(addr).await?.start(local, peers, config))
    }

    /// A cluster of `ids` on free 127.0.0.1 ports, all started, in one
    /// process.
    ///
    /// # Errors
    /// [`TransportError::Bind`] if the loopback interface refuses.
    pub async fn loopback_cluster(
        ids: &[PeerId],
        config: &TransportConfig,
    ) -> Result<BTreeMap<PeerId, Self>, TransportError> {
        let mut bindings = BTreeMap::new();
        for &id in ids {
            bindings.insert(
                id,
                Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?,
            );
        }
        let peers: BTreeMap<PeerId, SocketAddr> = bindings
            .iter()
            .map(|(&id, binding)| (id, binding.local_addr()))
            .collect();
        Ok(bindings
            .into_iter()
            .map(|(id, binding)| (id, binding.start(id, peers.clone(), config.clone())))
            .collect())
    }

    /// The address this transport listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop_tasks(&self) -> Option<JoinHandle<()>> {
        self.inbox.close();
        self.remotes.close();
        self.accept.stop()
    }
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

#[async_trait]
impl Transport for TcpTransport {
    fn local_id(&self) -> PeerId {
        self.shared.local
    }

    async fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        self.remotes.send(to, frame)
    }

    async fn recv(&self) -> Option<Event> {
        self.inbox.recv().await
    }

    async fn shutdown(&self) {
        if let Some(accept) = self.stop_tasks() {
            // Wait for the listener to be dropped so the port is free again.
            let _ = accept.await;
        }
    }

    fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
}

/// Accepts connections until the transport shuts down (the task is aborted,
/// which drops the listener and every handshake in progress with it).
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, remotes: Arc<Remotes>) {
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    handshakes.spawn(handshake(stream, remote, Arc::clone(&shared), Arc::clone(&remotes)));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    warn!(peer = %shared.local, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
        }
    }
}

/// Reads the hello of an incoming connection and hands the connection to
/// the task of the peer it names, which answers or refuses it.
async fn handshake(
    mut stream: TcpStream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    remotes: Arc<Remotes>,
) {
    if let Err(e) = stream.set_nodelay(true) {
        debug!(peer = %shared.local, %remote, "TCP_NODELAY: {e}");
    }
    let timeout = shared.config.hello_timeout;
    let read = tokio::time::timeout(
        timeout,
        read_hello(&mut stream, shared.config.max_frame_len),
    );
    let rejected = match read.await {
        Err(_) => format!("no hello within {timeout:?}"),
        Ok(Err(None)) => return,
        Ok(Err(Some(reason))) => reason,
        Ok(Ok(from)) => {
            if from != shared.local {
                match remotes.accepted(from, Accepted { stream }) {
                    Ok(()) => return,
                    Err(Accepted { stream: back }) => stream = back,
                }
            }
            format!("hello names peer {from}, who is not in the peer list")
        }
    };
    // Counted before the connection closes, so that whoever sees it close
    // also sees it counted.
    Counters::add(&shared.counters.rejected, 1);
    warn!(peer = %shared.local, %remote, "closing tcp connection: {rejected}");
    drop(stream);
}

/// The peer an incoming connection's hello names, once nothing was read
/// after the hello; `Err(None)` if it closed first, `Err(Some(why))` if it
/// sent something else.
async fn read_hello(
    stream: &mut TcpStream,
    max_frame_len: usize,
) -> Result<PeerId, Option<String>> {
    let mut codec = hello::codec(max_frame_len);
    let mut rbuf = BytesMut::with_capacity(1024);
    loop {
        match codec.decode(&mut rbuf) {
            Ok(Some(frame)) => {
                let from = hello::decode(&frame).map_err(Some)?;
                // A dialler waits for our answer before it writes frames.
                if !rbuf.is_empty() {
                    return Err(Some(format!(
                        "{} bytes after the hello of peer {from}, before it was answered",
                        rbuf.len()
                    )));
                }
                return Ok(from);
            }
            Ok(None) => {}
            Err(e) => return Err(Some(format!("bad hello: {e}"))),
        }
        match stream.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => return Err(None),
            Ok(_) => {}
        }
    }
}
