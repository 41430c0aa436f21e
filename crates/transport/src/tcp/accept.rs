//! The accept side of tcp: the listener, then each incoming connection's
//! TLS handshake (if any) and hello, before it is handed to the task of the
//! peer it names, which answers or refuses it.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bazaar_protocol::PeerId;
use bytes::BytesMut;
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use tokio_util::codec::Decoder;
use tracing::{debug, warn};

use super::{
    socket::Socket,
    wire::{TcpWire, Tls},
};
use crate::{driver::Links, hello, stats::Counters, tls};

/// Accepts connections until the transport shuts down (the task is aborted,
/// which drops the listener and every handshake in progress with it).
pub(super) async fn accept_loop(listener: TcpListener, links: Arc<Links<TcpWire>>) {
    let local = links.shared().local;
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    handshakes.spawn(handshake(stream, remote, Arc::clone(&links)));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    warn!(peer = %local, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
        }
    }
}

/// Reads the hello of an incoming connection (under TLS, after the
/// handshake, and only if it names the peer of the certificate) and hands
/// the connection to the task of the peer it names, which answers or
/// refuses it.
async fn handshake(stream: TcpStream, remote: SocketAddr, links: Arc<Links<TcpWire>>) {
    let shared = links.shared();
    if let Err(e) = stream.set_nodelay(true) {
        debug!(peer = %shared.local, %remote, "TCP_NODELAY: {e}");
    }
    let timeout = shared.config.hello_timeout;
    let max_frame_len = shared.config.max_frame_len;
    // A refused connection is counted before it closes, so that whoever
    // sees it close also sees it counted: hold it (a duplicate of the
    // socket under TLS, whose handshake owns the stream) until then.
    let (read, _held) = match &links.wire().tls {
        None => {
            let mut stream = stream;
            let read = tokio::time::timeout(timeout, read_hello(&mut stream, max_frame_len))
                .await
                .map(|read| read.map(|from| (from, Socket::plain(stream))));
            (read, None)
        }
        Some(tls) => {
            let Some((stream, held)) = duplicate(stream) else {
                return;
            };
            let read = tokio::time::timeout(timeout, accept_tls(stream, tls, max_frame_len)).await;
            (read, Some(held))
        }
    };
    let mut refused = None;
    let rejected = match read {
        Err(_) => format!("no hello within {timeout:?}"),
        Ok(Err(None)) => return,
        Ok(Err(Some(reason))) => reason,
        Ok(Ok((from, stream))) => {
            if from != shared.local && links.knows(from) {
                links.offer(from, stream);
                return;
            }
            // Closed after it is counted, below.
            refused = Some(stream);
            format!("hello names peer {from}, who is not in the peer list")
        }
    };
    Counters::add(&shared.counters.rejected, 1);
    warn!(peer = %shared.local, %remote, "closing tcp connection: {rejected}");
    drop(refused);
}

/// The stream, and a duplicate of its socket that keeps the connection
/// open after the stream is dropped; `None` if the socket is broken.
fn duplicate(stream: TcpStream) -> Option<(TcpStream, std::net::TcpStream)> {
    let stream = stream.into_std().ok()?;
    let held = stream.try_clone().ok()?;
    Some((TcpStream::from_std(stream).ok()?, held))
}

/// The TLS handshake of an incoming connection, then its hello, which
/// must name the peer of the client certificate.
async fn accept_tls(
    stream: TcpStream,
    tls: &Tls,
    max_frame_len: usize,
) -> Result<(PeerId, Socket), Option<String>> {
    let mut stream = tls
        .acceptor
        .accept(stream)
        .await
        .map_err(|e| Some(format!("tls handshake refused: {e}")))?;
    let from = read_hello(&mut stream, max_frame_len).await?;
    let cert = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .cloned()
        .ok_or_else(|| Some("no client certificate".to_owned()))?;
    if !tls::cert_names(&cert, from) {
        return Err(Some(format!(
            "hello claims peer {from}, the certificate is not {}",
            tls::peer_name(from)
        )));
    }
    let (stream, connection) = stream.into_inner();
    let mut early = BytesMut::new();
    let socket = Socket::tls(stream, connection.into(), &mut early)
        .map_err(|e| Some(format!("tls: {e}")))?;
    if !early.is_empty() {
        return Err(Some(format!(
            "{} bytes after the hello of peer {from}, before it was answered",
            early.len()
        )));
    }
    Ok((from, socket))
}

/// The peer an incoming connection's hello names, once nothing was read
/// after the hello; `Err(None)` if it closed first, `Err(Some(why))` if it
/// sent something else.
async fn read_hello<S: AsyncRead + Unpin>(
    stream: &mut S,
    max_frame_len: usize,
) -> Result<PeerId, Option<String>> {
    let mut codec = hello::codec(max_frame_len);
    let mut rbuf = BytesMut::with_capacity(1024);
    loop {
        match codec.decode(&mut rbuf) {
            Ok(Some(frame)) => {
                let from = hello::decode(&frame).map_err(Some)?;
                // A dialler waits for our answer before it writes frames.
                if !rbuf.is_empty() {
                    return Err(Some(format!(
                        "{} bytes after the hello of peer {from}, before it was answered",
                        rbuf.len()
                    )));
                }
                return Ok(from);
            }
            Ok(None) => {}
            Err(e) => return Err(Some(format!("bad hello: {e}"))),
        }
        match stream.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => return Err(None),
            Ok(_) => {}
        }
    }
}
