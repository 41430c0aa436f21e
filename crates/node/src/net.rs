//! Choosing and making transports: the one place that knows them all.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use bazaar_protocol::PeerId;
use bazaar_transport::{
    ClusterCa, Hub, PeerIdentity, QuicTransport, TcpTransport, Transport, TransportConfig,
    TransportError,
};

/// How peers reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// In-process channels.
    Mem,
    /// TCP, plaintext (the peers of one process, on loopback).
    Tcp,
    /// QUIC with mutual TLS.
    Quic,
    /// TCP under mutual TLS.
    TcpTls,
}

impl TransportKind {
    /// Every kind, in the order the help lists them.
    pub const ALL: [Self; 4] = [Self::Mem, Self::Tcp, Self::Quic, Self::TcpTls];

    /// What `--transport` names for a peer in a process of its own: mem
    /// joins only the peers of one process, and whether tcp runs under
    /// TLS follows the cluster's TLS material and `--insecure-plaintext`.
    pub const BETWEEN_PROCESSES: [Self; 2] = [Self::Tcp, Self::Quic];

    /// The flag's spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mem => "mem",
            Self::Tcp => "tcp",
            Self::Quic => "quic",
            Self::TcpTls => "tcp+tls",
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?}: expected mem, tcp, quic or tcp+tls")]
pub struct UnknownTransport(pub String);

impl std::str::FromStr for TransportKind {
    type Err = UnknownTransport;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTransport(s.to_owned()))
    }
}

/// Transports for the peers of one process, on loopback, that can also
/// crash a peer and bring it back at the same address.
pub enum LocalNet {
    /// One hub for everybody.
    Mem(Hub),
    /// TCP on the addresses picked at start.
    Tcp(BTreeMap<PeerId, SocketAddr>),
    /// QUIC on the addresses picked at start, with a cluster CA.
    Quic(BTreeMap<PeerId, SocketAddr>, Box<ClusterCa>),
    /// TCP under TLS on the addresses picked at start, with a cluster CA.
    TcpTls(BTreeMap<PeerId, SocketAddr>, Box<ClusterCa>),
}

/// How long a restarted peer keeps trying to re-bind its address while the
/// old socket drains (quic frees its port when its driver exits).
const REBIND_PATIENCE: Duration = Duration::from_secs(3);

/// `n` distinct free loopback addresses, found by binding port 0 (all at
/// once, so that they differ) and letting go: for a cluster file of peers
/// that bind them later. Linux tries ports of the other parity first for
/// `connect`, so the peers' outgoing connections do not take them before
/// the peers bind them.
///
/// # Errors
/// The error of a bind that failed.
pub fn free_loopback_addrs(n: usize) -> std::io::Result<Vec<SocketAddr>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(std::net::TcpListener::local_addr)
        .collect()
}

/// Shuts `transports` down together rather than one after another: a quic
/// transport may wait up to a second for its peers to hear the close, and
/// then they all close at once.
pub async fn shutdown_all<'t>(transports: impl IntoIterator<Item = &'t Arc<dyn Transport>>) {
    futures::future::join_all(transports.into_iter().map(|t| t.shutdown())).await;
}

impl LocalNet {
    /// Starts a transport for each of `ids`: tcp and quic on free loopback
    /// ports they pick themselves.
    ///
    /// # Errors
    /// A [`TransportError`] if binding or TLS set-up fails.
    pub async fn start(
        kind: TransportKind,
        ids: &[PeerId],
        seed: u64,
    ) -> Result<(Self, BTreeMap<PeerId, Arc<dyn Transport>>), TransportError> {
        let config = TransportConfig::default();
        Ok(match kind {
            TransportKind::Mem => {
                let hub = Hub::with_config(seed, config);
                let transports = ids.iter().map(|&id| (id, arc(hub.endpoint(id)))).collect();
                (Self::Mem(hub), transports)
            }
            TransportKind::Tcp => {
                let cluster = TcpTransport::loopback_cluster(ids, &config).await?;
                let addrs = cluster
                    .iter()
                    .map(|(&id, t)| (id, t.local_addr()))
                    .collect();
                (
                    Self::Tcp(addrs),
                    cluster.into_iter().map(|(id, t)| (id, arc(t))).collect(),
                )
            }
            TransportKind::Quic => {
                let ca = ClusterCa::generate()?;
                let cluster = QuicTransport::loopback_cluster(&ca, ids, &config).await?;
                let addrs = cluster
                    .iter()
                    .map(|(&id, t)| (id, t.local_addr()))
                    .collect();
                let transports = cluster.into_iter().map(|(id, t)| (id, arc(t))).collect();
                (Self::Quic(addrs, Box::new(ca)), transports)
            }
            TransportKind::TcpTls => {
                let ca = ClusterCa::generate()?;
                let cluster = TcpTransport::loopback_cluster_tls(&ca, ids, &config).await?;
                let addrs = cluster
                    .iter()
                    .map(|(&id, t)| (id, t.local_addr()))
                    .collect();
                let transports = cluster.into_iter().map(|(id, t)| (id, arc(t))).collect();
                (Self::TcpTls(addrs, Box::new(ca)), transports)
            }
        })
    }

    /// The hub, on mem: its fault knobs (partitions, loss, delay).
    pub const fn hub(&self) -> Option<&Hub> {
        match self {
            Self::Mem(hub) => Some(hub),
            Self::Tcp(_) | Self::Quic(..) | Self::TcpTls(..) => None,
        }
    }

    /// Crashes `id`'s transport: no goodbye, its frames stop.
    pub async fn crash(&self, id: PeerId, transport: &Arc<dyn Transport>) {
        match self {
            Self::Mem(hub) => hub.crash(id),
            Self::Tcp(_) | Self::Quic(..) | Self::TcpTls(..) => transport.shutdown().await,
        }
    }

    /// A fresh transport for `id` at its old address.
    ///
    /// # Errors
    /// A [`TransportError`] if the address cannot be bound again in time.
    pub async fn restart(&self, id: PeerId) -> Result<Arc<dyn Transport>, TransportError> {
        let config = TransportConfig::default();
        let started = tokio::time::Instant::now();
        loop {
            let attempt = match self {
                Self::Mem(hub) => return Ok(arc(hub.restart(id))),
                Self::Tcp(addrs) => TcpTransport::start(id, addrs.clone(), config.clone())
                    .await
                    .map(arc),
                Self::Quic(addrs, ca) => {
                    QuicTransport::start(ca.issue(id)?, addrs.clone(), config.clone())
                        .await
                        .map(arc)
                }
                Self::TcpTls(addrs, ca) => {
                    TcpTransport::start_tls(&ca.issue(id)?, addrs.clone(), config.clone())
                        .await
                        .map(arc)
                }
            };
            match attempt {
                Err(TransportError::Bind { .. }) if started.elapsed() < REBIND_PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }
}

/// Starts the transport of one peer of a cluster file, of `kind`: tcp in
/// plaintext, tcp under mutual TLS, or quic (always under TLS), the TLS
/// material in `tls_dir`. Mem joins only the peers of one process: a peer
/// started alone on it reaches no other.
///
/// # Errors
/// A [`TransportError`] naming what failed: the address, the TLS files.
pub async fn start_peer(
    kind: TransportKind,
    id: PeerId,
    addrs: BTreeMap<PeerId, SocketAddr>,
    tls_dir: &std::path::Path,
) -> Result<Arc<dyn Transport>, TransportError> {
    let config = TransportConfig::default();
    match kind {
        TransportKind::Mem => Ok(arc(Hub::with_config(u64::from(id.0), config).endpoint(id))),
        TransportKind::Tcp => Ok(arc(TcpTransport::start(id, addrs, config).await?)),
        TransportKind::TcpTls => {
            let identity = PeerIdentity::load_from_dir(tls_dir, id)?;
            Ok(arc(TcpTransport::start_tls(&identity, addrs, config).await?))
        }
        TransportKind::Quic => {
            let identity = PeerIdentity::load_from_dir(tls_dir, id)?;
            Ok(arc(QuicTransport::start(identity, addrs, config).await?))
        }
    }
}

fn arc(t: impl Transport) -> Arc<dyn Transport> {
    Arc::new(t)
}
