//! How quic dials for the frames of its links: the [`Wire`] the driver
//! runs quic with. Each side dials for its own frames, so a quic link is
//! never offered a connection the peer dialled.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use bazaar_protocol::PeerId;
use quinn::{Endpoint, VarInt};

use super::conn::QuicConn;
use crate::{
    driver::{Dial, Wire},
    hello,
    shared::Shared,
    tls,
};

/// The byte a listener sends once it accepted a dialler's hello.
pub(super) const ACK: u8 = 1;

/// Application close code for a transport shutting down.
const SHUTDOWN: u32 = 0;

/// How long a transport shutting down waits for its peers to hear it.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// How this transport dials: as which peer, from which endpoint, with
/// which TLS client config, for frames of at most which length.
pub(super) struct QuicWire {
    pub(super) local: PeerId,
    pub(super) endpoint: Endpoint,
    pub(super) client: quinn::ClientConfig,
    pub(super) max_frame_len: usize,
}

impl Wire for QuicWire {
    type Conn = QuicConn;
    type Offered = Infallible;

    // A frame to ourselves goes through our own listener.
    const LINK_TO_SELF: bool = true;

    fn dial(
        self: &Arc<Self>,
        peer: PeerId,
        addr: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = Dial<QuicConn>> + Send + 'static {
        let wire = Arc::clone(self);
        async move {
            match tokio::time::timeout(timeout, wire.open(peer, addr)).await {
                Ok(Ok(conn)) => Dial::Up(conn),
                Ok(Err(reason)) => Dial::Failed(reason),
                Err(_) => Dial::Failed(format!("no connection within {timeout:?}")),
            }
        }
    }

    fn screen(&self, _: &Shared, _: PeerId, offered: &Infallible) -> bool {
        match *offered {}
    }

    fn answer(&self, offered: Infallible) -> Option<QuicConn> {
        match offered {}
    }

    fn close(&self) {
        self.endpoint.close(VarInt::from_u32(SHUTDOWN), b"shutdown");
    }

    async fn closed(&self) {
        // Bounded: a gone peer never answers.
        let _ = tokio::time::timeout(CLOSE_WAIT, self.endpoint.wait_idle()).await;
    }
}

impl QuicWire {
    /// Opens a connection to `peer` at `addr` and on it the stream of our
    /// frames, sends the hello and waits for the acknowledgement.
    async fn open(&self, peer: PeerId, addr: SocketAddr) -> Result<QuicConn, String> {
        let connection = self
            .endpoint
            .connect_with(self.client.clone(), addr, &tls::peer_name(peer))
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(&hello::frame(self.local))
            .await
            .map_err(|e| format!("hello: {e}"))?;
        let mut ack = [0_u8; 1];
        recv.read_exact(&mut ack)
            .await
            .map_err(|e| format!("hello refused: {e}"))?;
        if ack[0] != ACK {
            return Err(format!(
                "hello answered with {:#04x}, not an acknowledgement",
                ack[0]
            ));
        }
        Ok(QuicConn::new(send, connection, self.max_frame_len))
    }
}
