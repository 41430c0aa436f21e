//! Frames over QUIC (quinn), with mutual TLS from the cluster CA.
//!
//! Unlike tcp (one connection per pair, shared by both directions), each
//! side dials for its own outgoing frames: the dialler
//! opens one connection and on it one long-lived bidirectional stream,
//! writes its hello, and waits for the listener's one-byte acknowledgement;
//! frames then flow length-delimited on the stream's send half, coalesced
//! into one write when they queue up. The listener acknowledges only after
//! checking that the hello names the peer of the dialler's certificate, so a
//! refused dialler learns it at once and reports the peer unreachable.
//!
//! A connection the peer dialled proves that it is up: its hello is told
//! to our link to that peer ([`crate::link::Input::PeerUp`]), which dials
//! at once if it was waiting or dialling blind. If the peer dialled again
//! while its previous connection to us was still open (a live peer dials
//! only when it holds none), or that connection was reset, the peer was
//! restarted: the link drops the connection it holds to the previous incarnation
//! and dials the new one.
//!
//! Restarts: the endpoint's stateless-reset and connection-id keys are
//! derived from the peer's private key ([`PeerIdentity::quic_endpoint_config`]),
//! so a peer killed and started again resets, at their first packet, the
//! connections its peers still hold to its previous incarnation, which then redial
//! it; with random keys they would write into the dead connection until
//! its idle timeout.
//!
//! TLS: both sides present a certificate signed by the cluster CA (see
//! [`crate::tls`]); the dialler asks for the name `peer-<id>.bazaar` of
//! the peer it means, so nobody else can answer. A connection with a
//! foreign certificate, a hello naming another peer, garbage or an oversize
//! length prefix is closed with a warning; everyone else is served on.

mod accept;
mod conn;
mod incoming;
mod restarts;
mod wire;

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use bazaar_protocol::PeerId;
use quinn::Endpoint;

use crate::{
    PeerIdentity, TransportConfig, TransportError,
    driver::{Linked, linked_transport},
    peers, tls,
};

use wire::QuicWire;

/// Application close code for a connection closed for bad input.
pub(super) const REFUSED: u32 = 1;
/// Keep-alives keep idle links open and notice a silent peer.
const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// A link with no sign of life for this long is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// The round trip assumed before one is measured: a LAN's, not quinn's
/// default of 333 ms (the internet's). A lost handshake packet is sent again
/// after about three times this (then twice as long each time): a dial to a
/// peer whose socket is not bound yet (it is starting) is retried within
/// tens of milliseconds, not after a second.
const INITIAL_RTT: Duration = Duration::from_millis(10);
/// The shortest time between two stateless resets: none. A restarted peer
/// resets the connections of its previous incarnation as their packets arrive,
/// several peers' at once (quinn's default of 20 ms would drop all but one
/// and leave the others on a dead connection until their next packet); a
/// reset is always smaller than the packet that asked for it, so it
/// amplifies nothing.
const MIN_RESET_INTERVAL: Duration = Duration::ZERO;

/// A bound quic endpoint, not yet serving: learn its address, then start it.
pub struct QuicBinding {
    endpoint: Endpoint,
    addr: SocketAddr,
    identity: PeerIdentity,
}

impl std::fmt::Debug for QuicBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicBinding")
            .field("addr", &self.addr)
            .field("peer", &self.identity.peer())
            .finish()
    }
}

impl QuicBinding {
    /// The address the endpoint is bound to (with the real port if 0 was
    /// asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts serving as the identity's peer in a cluster whose addresses
    /// are `peers`. Must be called within a tokio runtime.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if the identity does not make a valid config.
    pub fn start(
        self,
        peers: BTreeMap<PeerId, SocketAddr>,
        config: TransportConfig,
    ) -> Result<QuicTransport, TransportError> {
        let local = self.identity.peer();
        let mut client = self.identity.quic_client_config()?;
        client.transport_config(transport_config());
        let wire = QuicWire {
            local,
            endpoint: self.endpoint.clone(),
            client,
            max_frame_len: config.max_frame_len,
        };
        let linked = Linked::start(local, config, wire, &peers);
        linked.accept(accept::accept_loop(self.endpoint.clone(), linked.links()));
        Ok(QuicTransport {
            addr: self.addr,
            linked,
        })
    }
}

/// A peer's quic transport. See the [module docs](self).
pub struct QuicTransport {
    addr: SocketAddr,
    linked: Linked<QuicWire>,
}

/// Transport parameters shared by both sides.
fn transport_config() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(KEEP_ALIVE));
    transport.max_idle_timeout(IDLE_TIMEOUT.try_into().ok());
    transport.initial_rtt(INITIAL_RTT);
    Arc::new(transport)
}

impl QuicTransport {
    /// Binds a UDP socket at `addr` (port 0 picks a free port) for the peer
    /// of `identity`.
    ///
    /// # Errors
    /// [`TransportError::Bind`] if the address is in use or not ours,
    /// [`TransportError::Tls`] if the identity does not make a valid config.
    pub async fn bind(
        addr: SocketAddr,
        identity: PeerIdentity,
    ) -> Result<QuicBinding, TransportError> {
        let mut server = identity.quic_server_config()?;
        server.transport_config(transport_config());
        let bind_error = |source| TransportError::Bind { addr, source };
        let socket = std::net::UdpSocket::bind(addr).map_err(bind_error)?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| bind_error(std::io::Error::other("no async runtime found")))?;
        let mut endpoint_config = identity.quic_endpoint_config();
        endpoint_config.min_reset_interval(MIN_RESET_INTERVAL);
        let endpoint =
            Endpoint::new(endpoint_config, Some(server), socket, runtime).map_err(bind_error)?;
        let addr = endpoint
            .local_addr()
            .map_err(|source| TransportError::Bind { addr, source })?;
        Ok(QuicBinding {
            endpoint,
            addr,
            identity,
        })
    }

    /// Binds `peers[identity.peer()]` and starts serving.
    ///
    /// # Errors
    /// [`TransportError::UnknownPeer`] if the identity's peer is not in
    /// `peers`, [`TransportError::Bind`] if its address cannot be bound,
    /// [`TransportError::Tls`] if the identity does not make a valid config.
    pub async fn start(
        identity: PeerIdentity,
        peers: BTreeMap<PeerId, SocketAddr>,
        config: TransportConfig,
    ) -> Result<Self, TransportError> {
        let addr = peers::own_addr(&peers, identity.peer())?;
        Self::bind(addr, identity).await?.start(peers, config)
    }

    /// A cluster of `ids` on free 127.0.0.1 ports, with identities issued by
    /// `ca`, all started, in one process.
    ///
    /// # Errors
    /// [`TransportError::Bind`] if the loopback interface refuses,
    /// [`TransportError::Tls`] if issuing a certificate fails.
    pub async fn loopback_cluster(
        ca: &tls::ClusterCa,
        ids: &[PeerId],
        config: &TransportConfig,
    ) -> Result<BTreeMap<PeerId, Self>, TransportError> {
        let bind = |id, addr| async move { Self::bind(addr, ca.issue(id)?).await };
        let (bindings, peers) = peers::bind_loopback(ids, bind, QuicBinding::local_addr).await?;
        bindings
            .into_iter()
            .map(|(id, binding)| Ok((id, binding.start(peers.clone(), config.clone())?)))
            .collect()
    }

    /// The address this transport listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

linked_transport!(QuicTransport);
