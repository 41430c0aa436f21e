//! The peer list of a cluster: our own address in it, and a list for an
//! in-process cluster on free loopback ports.

use std::{
    collections::BTreeMap,
    future::Future,
    net::{Ipv4Addr, SocketAddr},
};

use bazaar_protocol::PeerId;

use crate::TransportError;

/// The address of `local` in `peers`.
///
/// # Errors
/// [`TransportError::UnknownPeer`] if `local` is not in `peers`.
pub(crate) fn own_addr(
    peers: &BTreeMap<PeerId, SocketAddr>,
    local: PeerId,
) -> Result<SocketAddr, TransportError> {
    peers
        .get(&local)
        .copied()
        .ok_or(TransportError::UnknownPeer(local))
}

/// Binds a socket for each of `ids` on a free 127.0.0.1 port with `bind`
/// (all first, so that every one knows the others' addresses when it
/// starts); returns them, and the peer list of their addresses (`addr`).
///
/// # Errors
/// The first that `bind` returns.
pub(crate) async fn bind_loopback<B, F>(
    ids: &[PeerId],
    mut bind: impl FnMut(PeerId, SocketAddr) -> F,
    addr: impl Fn(&B) -> SocketAddr,
) -> Result<(BTreeMap<PeerId, B>, BTreeMap<PeerId, SocketAddr>), TransportError>
where
    F: Future<Output = Result<B, TransportError>>,
{
    let mut bindings = BTreeMap::new();
    for &id in ids {
        let binding = bind(id, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        bindings.insert(id, binding);
    }
    let peers = bindings
        .iter()
        .map(|(&id, binding)| (id, addr(binding)))
        .collect();
    Ok((bindings, peers))
}
