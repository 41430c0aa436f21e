//! The accept side of quic: each connection a peer dialled, its hello
//! checked against its certificate and acknowledged, then the peer's
//! frames to the inbox. A hello tells the peer's link that the peer is up
//! (perhaps restarted, see [`Restarts`]).

use std::sync::Arc;

use bazaar_protocol::PeerId;
use quinn::{Connection, Endpoint, Incoming as QuinnIncoming, VarInt};
use rustls::pki_types::CertificateDer;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::{
    REFUSED,
    incoming::{Ended, Incoming},
    restarts::Restarts,
    wire::{ACK, QuicWire},
};
use crate::{driver::Links, stats::Counters, tls};

/// What the accept side works with.
struct Accepting {
    restarts: Restarts,
    /// Told when a peer dialled us: it is up, perhaps restarted.
    links: Arc<Links<QuicWire>>,
}

/// Accepts connections until the transport shuts down (the task is aborted,
/// which drops every connection task with it).
pub(super) async fn accept_loop(endpoint: Endpoint, links: Arc<Links<QuicWire>>) {
    let accepting = Arc::new(Accepting {
        restarts: Restarts::default(),
        links,
    });
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => {
                    connections.spawn(serve(incoming, Arc::clone(&accepting)));
                }
                None => return,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves one incoming connection: its hello stream, then its frames.
async fn serve(incoming: QuinnIncoming, accepting: Arc<Accepting>) {
    let shared = accepting.links.shared();
    let remote = incoming.remote_address();
    let connection = match incoming.await {
        Ok(connection) => connection,
        Err(e) => {
            Counters::add(&shared.counters.rejected, 1);
            warn!(peer = %shared.local, %remote, "quic handshake refused: {e}");
            return;
        }
    };
    let mut from = None;
    if let Ended::Rejected(reason) = serve_streams(&connection, &accepting, &mut from).await {
        Counters::add(&shared.counters.rejected, 1);
        warn!(peer = %shared.local, %remote, "closing quic connection: {reason}");
        connection.close(VarInt::from_u32(REFUSED), reason.as_bytes());
    }
    if let Some(from) = from
        && accepting.restarts.ended(from, &connection)
    {
        debug!(peer = %shared.local, %from, "peer restarted: it reset its connection to us");
        accepting.links.peer_up(from, true);
    }
}

/// Reads the streams a dialler opens, one after the other; `from` is the
/// peer their hellos named.
async fn serve_streams(
    connection: &Connection,
    accepting: &Accepting,
    from: &mut Option<PeerId>,
) -> Ended {
    let shared = &**accepting.links.shared();
    let Some(cert) = peer_certificate(connection) else {
        return Ended::Rejected("no client certificate".into());
    };
    loop {
        let Ok((mut send, recv)) = connection.accept_bi().await else {
            return Ended::Closed;
        };
        let mut incoming = Incoming::new(recv, shared);
        let peer = match incoming.hello(shared).await {
            Ok(peer) => peer,
            Err(ended) => return ended,
        };
        if !accepting.links.knows(peer) {
            return Ended::Rejected(format!(
                "hello names peer {peer}, who is not in the peer list"
            ));
        }
        if !tls::cert_names(&cert, peer) {
            return Ended::Rejected(format!(
                "hello claims peer {peer}, the certificate is not {}",
                tls::peer_name(peer)
            ));
        }
        *from = Some(peer);
        if peer != shared.local {
            let restarted = accepting.restarts.dialled(peer, connection);
            if restarted {
                debug!(peer = %shared.local, from = %peer, "peer restarted: it dialled again while its connection to us was open");
            }
            accepting.links.peer_up(peer, restarted);
        }
        if send.write_all(&[ACK]).await.is_err() {
            return Ended::Closed;
        }
        match incoming.deliver(peer, shared).await {
            Ended::Closed => {}
            rejected => return rejected,
        }
    }
}

/// The end-entity certificate the dialler presented.
fn peer_certificate(connection: &Connection) -> Option<CertificateDer<'static>> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    chain.into_iter().next()
}
