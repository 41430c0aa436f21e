//! A tcp dial: connect, under TLS or not, send our hello and wait for the
//! peer's.
//!
//! An answer is [`Dial::Up`]; a clean close without one is
//! [`Dial::Refused`] (a live peer keeping another connection); a reset (a
//! listener that died as we dialled), no connection, a TLS refusal, the
//! wrong peer or no answer in time is [`Dial::Failed`]. Nobody writes a
//! frame before the hellos are exchanged, so a refused connection never
//! carried one.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use bazaar_protocol::PeerId;
use bytes::BytesMut;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use tokio_util::codec::Decoder;

use super::{
    conn::{READ_CHUNK, TcpConn},
    socket::Socket,
    wire::TcpWire,
};
use crate::{driver::Dial, hello, tls};

/// Connects to `peer` at `addr` (under TLS, asking for `peer`'s
/// certificate), sends our hello and waits for theirs, for at most
/// `timeout`.
pub(super) async fn dial(
    wire: Arc<TcpWire>,
    peer: PeerId,
    addr: SocketAddr,
    timeout: Duration,
) -> Dial<TcpConn> {
    match tokio::time::timeout(timeout, connect(&wire, peer, addr)).await {
        Ok(Ok((stream, rest))) => Dial::Up(TcpConn::new(stream, rest, wire.max_frame_len)),
        Ok(Err(dial)) => dial,
        Err(_) => Dial::Failed(format!("no connection within {timeout:?}")),
    }
}

/// The dial, without its time limit: the socket and what came after the
/// peer's hello.
async fn connect(
    wire: &TcpWire,
    peer: PeerId,
    addr: SocketAddr,
) -> Result<(Socket, BytesMut), Dial<TcpConn>> {
    let local = wire.local;
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| Dial::Failed(e.to_string()))?;
    stream
        .set_nodelay(true)
        .map_err(|e| Dial::Failed(format!("TCP_NODELAY: {e}")))?;
    let Some(tls) = &wire.tls else {
        let mut stream = stream;
        let rest = exchange_hellos(&mut stream, local, peer).await?;
        return Ok((Socket::plain(stream), rest));
    };
    let name = rustls::pki_types::ServerName::try_from(tls::peer_name(peer))
        .map_err(|e| Dial::Failed(format!("the name of peer {peer}: {e}")))?;
    let mut stream = tls
        .connector
        .connect(name, stream)
        .await
        .map_err(|e| Dial::Failed(format!("tls handshake: {e}")))?;
    let mut rest = exchange_hellos(&mut stream, local, peer).await?;
    let (stream, connection) = stream.into_inner();
    let socket = Socket::tls(stream, connection.into(), &mut rest)
        .map_err(|e| Dial::Failed(format!("tls: {e}")))?;
    Ok((socket, rest))
}

/// Sends our hello on a fresh connection and reads the answer, which must
/// name `peer`; returns what came after it.
async fn exchange_hellos<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    local: PeerId,
    peer: PeerId,
) -> Result<BytesMut, Dial<TcpConn>> {
    stream
        .write_all(&hello::frame(local))
        .await
        .map_err(unanswered)?;
    stream.flush().await.map_err(unanswered)?;
    let mut codec = hello::codec(hello::HELLO_LEN);
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        match codec.decode(&mut rbuf) {
            Ok(Some(answer)) => {
                return match hello::decode(&answer) {
                    Ok(from) if from == peer => Ok(rbuf),
                    Ok(from) => Err(Dial::Failed(format!(
                        "peer {from} answered at the address of peer {peer}"
                    ))),
                    Err(e) => Err(Dial::Failed(e)),
                };
            }
            Ok(None) => {}
            Err(e) => return Err(Dial::Failed(format!("bad answer to the hello: {e}"))),
        }
        match stream.read_buf(&mut rbuf).await {
            Ok(0) => return Err(Dial::Refused("closed without answering".into())),
            Ok(_) => {}
            // Under TLS 1.3 the listener checks our certificate after our
            // handshake ends: its refusal is an alert, here. Not a peer
            // keeping another connection: we cannot get in.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(Dial::Failed(format!("tls: {e}")));
            }
            Err(e) => return Err(unanswered(e)),
        }
    }
}

/// How a dial ended whose hello met `e`. A live peer that refuses closes
/// the connection after reading our hello: an end of file (under TLS, one
/// without `close_notify`). A reset means the listener died as we dialled
/// (the kernel resets the connections it had queued for it): the peer is
/// gone, not keeping another connection.
fn unanswered(e: io::Error) -> Dial<TcpConn> {
    if e.kind() == io::ErrorKind::ConnectionReset {
        Dial::Failed(format!("no answer to the hello: {e}"))
    } else {
        Dial::Refused(format!("hello: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::{
        io::AsyncReadExt,
        net::{TcpListener, TcpStream},
    };

    use super::*;

    /// Dials a listener that reads our hello, then closes as `close` does;
    /// returns how the dial ended.
    async fn dial_then(close: impl FnOnce(TcpStream)) -> Dial<TcpConn> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (mut server, _) = listener.accept().await.expect("accept");
        let dial = tokio::spawn(async move {
            match exchange_hellos(&mut client, PeerId(1), PeerId(2)).await {
                Ok(_) => Dial::Failed("answered".into()),
                Err(dial) => dial,
            }
        });
        let mut hello = vec![0; hello::frame(PeerId(1)).len()];
        server.read_exact(&mut hello).await.expect("our hello");
        close(server);
        dial.await.expect("the dial")
    }

    #[tokio::test]
    async fn a_clean_close_without_an_answer_is_a_refusal() {
        let dial = dial_then(drop).await;
        assert!(matches!(dial, Dial::Refused(_)));
    }

    #[tokio::test]
    async fn a_reset_before_the_answer_is_a_failure_not_a_live_refusal() {
        // What a dying listener's queued connections get. A zero linger
        // resets at once; it is the waiting linger that blocks a drop.
        #[allow(deprecated)]
        let reset = |server: TcpStream| {
            server.set_linger(Some(Duration::ZERO)).expect("linger");
            drop(server);
        };
        match dial_then(reset).await {
            Dial::Failed(why) => assert!(why.contains("reset"), "{why}"),
            Dial::Refused(why) => panic!("taken for a live refusal: {why}"),
            Dial::Up(..) => panic!("up"),
        }
    }
}
