//! How tcp dials, answers and screens the connections of its links: the
//! [`Wire`] the driver runs tcp with, in plaintext or under TLS.

use std::{future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use bazaar_protocol::PeerId;
use bytes::BytesMut;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::warn;

use super::{conn::TcpConn, dial, socket::Socket};
use crate::{
    PeerIdentity, TransportError,
    driver::{Dial, Wire},
    hello,
    shared::Shared,
    stats::Counters,
};

/// Both halves of TLS for one transport: dialling and accepting.
pub(super) struct Tls {
    pub(super) connector: TlsConnector,
    pub(super) acceptor: TlsAcceptor,
}

impl Tls {
    pub(super) fn new(identity: &PeerIdentity) -> Result<Self, TransportError> {
        Ok(Self {
            connector: TlsConnector::from(Arc::new(identity.tcp_client_config()?)),
            acceptor: TlsAcceptor::from(Arc::new(identity.tcp_server_config()?)),
        })
    }
}

/// Who dials and answers, with which frame limit, under TLS or not.
pub(super) struct TcpWire {
    /// The peer our hellos name.
    pub(super) local: PeerId,
    /// Largest frame read on a connection.
    pub(super) max_frame_len: usize,
    /// TLS for every connection, if the transport runs under TLS.
    pub(super) tls: Option<Arc<Tls>>,
}

impl Wire for TcpWire {
    type Conn = TcpConn;
    type Offered = Socket;

    // A frame to ourselves goes straight to our inbox.
    const LINK_TO_SELF: bool = false;

    fn dial(
        self: &Arc<Self>,
        peer: PeerId,
        addr: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = Dial<TcpConn>> + Send + 'static {
        dial::dial(Arc::clone(self), peer, addr, timeout)
    }

    fn screen(&self, shared: &Shared, peer: PeerId, offered: &Socket) -> bool {
        // A dialler waits for our answer before it writes frames: bytes
        // now are a peer breaking the rules (or not a peer at all).
        let mut early = BytesMut::with_capacity(64);
        match offered.try_read_buf(&mut early) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Ok(n) if n > 0 => {
                Counters::add(&shared.counters.rejected, 1);
                warn!(
                    peer = %shared.local, from = %peer,
                    "closing tcp connection: {n} bytes after the hello, before it was answered"
                );
                false
            }
            // Closed or broken already.
            _ => false,
        }
    }

    fn answer(&self, offered: Socket) -> Option<TcpConn> {
        let hello = hello::frame(self.local);
        matches!(offered.try_write(&hello), Ok(n) if n == hello.len())
            .then(|| TcpConn::new(offered, BytesMut::new(), self.max_frame_len))
    }
}
