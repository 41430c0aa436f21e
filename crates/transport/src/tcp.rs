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
mod conn;
mod dial;
mod socket;
mod wire;

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use bazaar_protocol::PeerId;
use tokio::net::TcpListener;

use crate::{
    PeerIdentity, TransportConfig, TransportError,
    driver::{Linked, linked_transport},
    peers,
};

use wire::{TcpWire, Tls};

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
        let wire = TcpWire {
            local,
            max_frame_len: config.max_frame_len,
            tls: None,
        };
        self.serve(&peers, wire, config)
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
        let wire = TcpWire {
            local: identity.peer(),
            max_frame_len: config.max_frame_len,
            tls: Some(Arc::new(Tls::new(identity)?)),
        };
        Ok(self.serve(&peers, wire, config))
    }

    fn serve(
        self,
        peers: &BTreeMap<PeerId, SocketAddr>,
        wire: TcpWire,
        config: TransportConfig,
    ) -> TcpTransport {
        let linked = Linked::start(wire.local, config, wire, peers);
        linked.accept(accept::accept_loop(self.listener, linked.links()));
        TcpTransport {
            addr: self.addr,
            linked,
        }
    }
}

/// A peer's TCP transport. See the [module docs](self).
pub struct TcpTransport {
    addr: SocketAddr,
    linked: Linked<TcpWire>,
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
        let binding = Self::bind(peers::own_addr(&peers, local)?).await?;
        Ok(binding.start(local, peers, config))
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
        let binding = Self::bind(peers::own_addr(&peers, identity.peer())?).await?;
        binding.start_tls(identity, peers, config)
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
        let (bindings, peers) =
            peers::bind_loopback(ids, |_, addr| Self::bind(addr), TcpBinding::local_addr).await?;
        bindings
            .into_iter()
            .map(|(id, binding)| {
                let identity = ca.issue(id)?;
                Ok((
                    id,
                    binding.start_tls(&identity, peers.clone(), config.clone())?,
                ))
            })
            .collect()
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
        let (bindings, peers) =
            peers::bind_loopback(ids, |_, addr| Self::bind(addr), TcpBinding::local_addr).await?;
        Ok(bindings
            .into_iter()
            .map(|(id, binding)| (id, binding.start(id, peers.clone(), config.clone())))
            .collect())
    }

    /// The address this transport listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

linked_transport!(TcpTransport);
