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
//! # Under TLS
//!
//! [`TcpBinding::start_tls`] runs every connection under mutual TLS 1.3
//! with the cluster's CA ([`crate::tls`]), as quic does: the dialler asks
//! for the certificate of the peer it means (`peer-<id>.bazaar`), the
//! listener requires a client certificate of the cluster, and the hellos
//! travel inside TLS; a hello naming another peer than the dialler's
//! certificate is refused. A connection with no certificate, a stranger's,
//! or another peer's is closed before any frame is read, counted in
//! [`Stats::rejected`](crate::Stats::rejected). Plaintext
//! ([`TcpBinding::start`]) authenticates nothing: anyone who reaches the
//! port can claim any peer id.
//!
//! For an in-process cluster on free loopback ports, bind every listener
//! first ([`TcpTransport::bind`] on port 0), gather the addresses into the
//! peer list, then [`TcpBinding::start`] each; [`TcpTransport::loopback_cluster`]
//! does exactly that.

mod accept;
mod remote;
mod socket;

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
};

use async_trait::async_trait;
use bazaar_protocol::PeerId;
use bytes::Bytes;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::{
    Event, PeerIdentity, Stats, Transport, TransportConfig, TransportError,
    inbox::Inbox,
    shared::{AcceptTask, Shared},
    stats::Counters,
};

use remote::Remotes;

/// Both halves of TLS for one transport: dialling and accepting.
struct Tls {
    connector: TlsConnector,
    acceptor: TlsAcceptor,
}

impl Tls {
    fn new(identity: &PeerIdentity) -> Result<Self, TransportError> {
        Ok(Self {
            connector: TlsConnector::from(Arc::new(identity.tcp_client_config()?)),
            acceptor: TlsAcceptor::from(Arc::new(identity.tcp_server_config()?)),
        })
    }
}

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
        self.serve(local, peers, config, None)
    }

    /// Starts serving as the identity's peer of a cluster whose addresses
    /// are `peers`, every connection under mutual TLS with the cluster's CA
    /// (see [the module docs](self#under-tls)). Must be called within a
    /// tokio runtime.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if the identity does not make a valid config.
    pub fn start_tls(
        self,
        identity: &PeerIdentity,
        peers: BTreeMap<PeerId, SocketAddr>,
        config: TransportConfig,
    ) -> Result<TcpTransport, TransportError> {
        let tls = Arc::new(Tls::new(identity)?);
        Ok(self.serve(identity.peer(), peers, config, Some(tls)))
    }

    fn serve(
        self,
        local: PeerId,
        peers: BTreeMap<PeerId, SocketAddr>,
        config: TransportConfig,
        tls: Option<Arc<Tls>>,
    ) -> TcpTransport {
        let inbox = Inbox::new(config.inbox_len);
        let shared = Arc::new(Shared {
            local,
            config,
            counters: Counters::default(),
            events: inbox.sender(),
        });
        let remotes = Arc::new(Remotes::start(Arc::clone(&shared), &peers, tls.as_ref()));
        let accept = tokio::spawn(accept::accept_loop(
            self.listener,
            Arc::clone(&shared),
            Arc::clone(&remotes),
            tls,
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

    /// Binds `peers[identity.peer()]` and starts serving as that peer,
    /// under mutual TLS.
    ///
    /// # Errors
    /// [`TransportError::UnknownPeer`] if the identity's peer is not in
    /// `peers`, [`TransportError::Bind`] if its address cannot be bound,
    /// [`TransportError::Tls`] if the identity does not make a valid config.
    pub async fn start_tls(
        identity: &PeerIdentity,
        peers: BTreeMap<PeerId, SocketAddr>,
        config: TransportConfig,
    ) -> Result<Self, TransportError> {
        let local = identity.peer();
        let addr = *peers
            .get(&local)
            .ok_or(TransportError::UnknownPeer(local))?;
        Self::bind(addr).await?.start_tls(identity, peers, config)
    }

    /// A cluster of `ids` on free 127.0.0.1 ports, all started under TLS
    /// with certificates that `ca` issues, in one process.
    ///
    /// # Errors
    /// [`TransportError::Bind`] if the loopback interface refuses,
    /// [`TransportError::Tls`] if a certificate cannot be issued.
    pub async fn loopback_cluster_tls(
        ca: &crate::ClusterCa,
        ids: &[PeerId],
        config: &TransportConfig,
    ) -> Result<BTreeMap<PeerId, Self>, TransportError> {
        let mut bindings = BTreeMap::new();
        for &id in ids {
            let binding = Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
            bindings.insert(id, (binding, ca.issue(id)?));
        }
        let peers: BTreeMap<PeerId, SocketAddr> = bindings
            .iter()
            .map(|(&id, (binding, _))| (id, binding.local_addr()))
            .collect();
        let mut cluster = BTreeMap::new();
        for (id, (binding, identity)) in bindings {
            cluster.insert(
                id,
                binding.start_tls(&identity, peers.clone(), config.clone())?,
            );
        }
        Ok(cluster)
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

    async fn send_many(&self, to: PeerId, frames: Vec<Bytes>) -> Result<(), TransportError> {
        self.remotes.send_many(to, frames)
    }

    async fn recv(&self) -> Option<Event> {
        self.inbox.recv().await
    }

    fn try_recv(&self) -> Option<Event> {
        self.inbox.try_recv()
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
