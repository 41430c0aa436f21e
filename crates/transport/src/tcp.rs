//! Frames over TCP.
//!
//! Each side dials for its own outgoing frames (see the queue module): the
//! connection from A to B opens with A's hello and then carries A's frames
//! only, so there is one connection per ordered pair of peers. Frames are
//! length-delimited with a hard maximum; `TCP_NODELAY` is on, and frames
//! that queue up while a write is in flight go out in one write. An incoming
//! connection that sends garbage, an oversize length prefix or a hello
//! naming a peer outside the peer list is closed with a warning; the
//! transport keeps serving everyone else.
//!
//! For an in-process cluster on free loopback ports, bind every listener
//! first ([`TcpTransport::bind`] on port 0), gather the addresses into the
//! peer list, then [`TcpBinding::start`] each; [`TcpTransport::loopback_cluster`]
//! does exactly that.

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use bazaar_protocol::PeerId;
use bytes::Bytes;
use futures::FutureExt;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, tcp::OwnedWriteHalf},
    task::{JoinHandle, JoinSet},
};
use tracing::{debug, warn};

use crate::{
    Event, Stats, Transport, TransportConfig, TransportError, hello,
    inbox::Inbox,
    incoming::{Ended, Incoming},
    queue::{Dialer, Link, Outbox},
    shared::Shared,
    stats::Counters,
};

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
        let known: Arc<BTreeMap<PeerId, SocketAddr>> = Arc::new(peers.clone());
        let accept = tokio::spawn(accept_loop(self.listener, Arc::clone(&shared), known));
        let outbox = Outbox::new(TcpDialer { local }, Arc::clone(&shared), peers);
        TcpTransport {
            addr: self.addr,
            shared,
            inbox,
            outbox,
            accept: Mutex::new(Some(accept)),
        }
    }
}

/// A peer's TCP transport. See the [module docs](self).
pub struct TcpTransport {
    addr: SocketAddr,
    shared: Arc<Shared>,
    inbox: Inbox,
    outbox: Outbox<TcpDialer>,
    accept: Mutex<Option<JoinHandle<()>>>,
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
        self.outbox.close();
        let accept = self
            .accept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = &accept {
            task.abort();
        }
        accept
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
        self.outbox.send(to, frame)
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

/// Dials peers over TCP as peer `local`.
struct TcpDialer {
    local: PeerId,
}

#[async_trait]
impl Dialer for TcpDialer {
    type Writer = OwnedWriteHalf;

    async fn dial(
        &self,
        peer: PeerId,
        addr: SocketAddr,
    ) -> Result<Link<OwnedWriteHalf>, TransportError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| TransportError::Connect {
                peer,
                addr,
                reason: e.to_string(),
            })?;
        stream
            .set_nodelay(true)
            .map_err(|e| TransportError::Connect {
                peer,
                addr,
                reason: format!("TCP_NODELAY: {e}"),
            })?;
        let (mut reader, mut writer) = stream.into_split();
        writer
            .write_all(&hello::frame(self.local))
            .await
            .map_err(|e| TransportError::Connect {
                peer,
                addr,
                reason: format!("hello: {e}"),
            })?;
        // The peer never writes on this connection: any read result means
        // it closed the connection or the connection broke.
        let closed = async move {
            let mut byte = [0_u8; 1];
            let _ = reader.read(&mut byte).await;
        }
        .boxed();
        Ok(Link { writer, closed })
    }
}

/// Accepts connections until the transport shuts down (the task is aborted,
/// which drops the listener and every reader with it).
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    known: Arc<BTreeMap<PeerId, SocketAddr>>,
) {
    let mut readers = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    readers.spawn(serve(stream, remote, Arc::clone(&shared), Arc::clone(&known)));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    warn!(peer = %shared.local, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = readers.join_next(), if !readers.is_empty() => {}
        }
    }
}

/// Reads one incoming connection to its end.
async fn serve(
    stream: TcpStream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    known: Arc<BTreeMap<PeerId, SocketAddr>>,
) {
    if let Err(e) = stream.set_nodelay(true) {
        debug!(peer = %shared.local, %remote, "TCP_NODELAY: {e}");
    }
    let mut incoming = Incoming::new(stream, &shared);
    let ended = match incoming.hello(&shared).await {
        Ok(from) if known.contains_key(&from) => incoming.deliver(from, &shared).await,
        Ok(from) => Ended::Rejected(format!(
            "hello names peer {from}, who is not in the peer list"
        )),
        Err(ended) => ended,
    };
    if let Ended::Rejected(reason) = ended {
        Counters::add(&shared.counters.rejected, 1);
        warn!(peer = %shared.local, %remote, "closing tcp connection: {reason}");
    }
}
