//! The floor: a 32-byte frame there and back over each transport through
//! the `Transport` trait, and over raw tokio TCP sockets, on the runtime
//! the markets run on. Hot (the next frame leaves as soon as the last one
//! is back) or paced (a pause between round trips, slept on the same
//! runtime as a buyer's think time), so that a buyer's response time can
//! be set beside an echo that wakes as the buyer does.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_protocol::PeerId;
use bazaar_transport::{Event, Transport, TransportError};
use bytes::Bytes;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use bazaar_node::net::{LocalNet, TransportKind};

use crate::stats::Latencies;

/// The frame's size.
pub const FRAME: usize = 32;

/// Round trips before the measured ones: connections up, caches warm.
const WARMUP: u32 = 200;

/// How many round trips an echo times, after its warm-up, and the pause
/// after each reply (zero: hot, back to back).
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    /// Round trips timed.
    pub count: u32,
    /// The pause after each reply, as a buyer thinks between requests.
    pub think: Duration,
}

/// Why a floor could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum EchoError {
    /// The transport failed to start or to carry the frames.
    #[error("{kind} echo: {source}")]
    Transport {
        /// Which transport.
        kind: TransportKind,
        /// What it said.
        source: TransportError,
    },
    /// The transport closed before the echo was done.
    #[error("{0} echo: the transport closed mid-run")]
    Closed(TransportKind),
    /// The raw sockets failed.
    #[error("raw tcp echo: {0}")]
    Io(#[from] std::io::Error),
}

/// The `rounds` of echo between peers 1 and 2 over `kind`.
///
/// # Errors
/// An [`EchoError`] if the transport fails.
pub async fn transport(
    kind: TransportKind,
    rounds: Rounds,
    seed: u64,
) -> Result<Latencies, EchoError> {
    let wrap = |source| EchoError::Transport { kind, source };
    let (one, two) = (PeerId(1), PeerId(2));
    let (_net, mut transports) = LocalNet::start(kind, &[one, two], seed)
        .await
        .map_err(wrap)?;
    let (Some(a), Some(b)) = (transports.remove(&one), transports.remove(&two)) else {
        unreachable!("LocalNet starts a transport for every id it is given");
    };
    let echo = tokio::spawn(reflect(Arc::clone(&b)));
    let latencies = paced_round_trips(kind, a.as_ref(), two, rounds).await?;
    a.shutdown().await;
    b.shutdown().await;
    let _ = echo.await;
    Ok(latencies)
}

/// The `rounds` of echo from `from` to peer `to` (which must reflect
/// them) over `kind`, after a warm-up.
///
/// # Errors
/// An [`EchoError`] if the transport fails or closes.
pub(in crate::bench::experiments) async fn paced_round_trips(
    kind: TransportKind,
    from: &dyn Transport,
    to: PeerId,
    rounds: Rounds,
) -> Result<Latencies, EchoError> {
    let frame = Bytes::from_static(&[0x5a; FRAME]);
    let mut latencies = Latencies::default();
    for i in 0..WARMUP + rounds.count {
        let sent = Instant::now();
        let echoed = round_trip(from, to, frame.clone())
            .await
            .map_err(|source| EchoError::Transport { kind, source })?;
        if !echoed {
            return Err(EchoError::Closed(kind));
        }
        if i >= WARMUP {
            latencies.record(sent.elapsed());
        }
        if !rounds.think.is_zero() {
            tokio::time::sleep(rounds.think).await;
        }
    }
    Ok(latencies)
}

/// Sends `frame` to `to` and waits for a frame back, passing over reports
/// of unreachable peers; `false` if the transport closed first.
pub(in crate::bench::experiments) async fn round_trip(
    from: &dyn Transport,
    to: PeerId,
    frame: Bytes,
) -> Result<bool, TransportError> {
    from.send(to, frame).await?;
    loop {
        match from.recv().await {
            Some(Event::Frame { .. }) => return Ok(true),
            Some(Event::Unreachable { .. }) => {}
            None => return Ok(false),
        }
    }
}

/// Sends every frame back to its sender until the transport closes.
pub(in crate::bench::experiments) async fn reflect(t: Arc<dyn Transport>) {
    while let Some(event) = t.recv().await {
        if let Event::Frame { from, frame } = event
            && t.send(from, frame).await.is_err()
        {
            return;
        }
    }
}

/// `round_trips` echoes over one raw tokio TCP connection on loopback,
/// `TCP_NODELAY` on: what any tcp transport pays at least.
///
/// # Errors
/// An [`EchoError::Io`] if the sockets fail.
pub async fn raw_tcp(round_trips: u32) -> Result<Latencies, EchoError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await?;
        echo_socket(socket).await
    });
    let mut client = TcpStream::connect(addr).await?;
    client.set_nodelay(true)?;
    let frame = [0x5a; FRAME];
    let mut buf = [0u8; FRAME];
    let mut latencies = Latencies::default();
    for i in 0..WARMUP + round_trips {
        let sent = Instant::now();
        client.write_all(&frame).await?;
        client.read_exact(&mut buf).await?;
        if i >= WARMUP {
            latencies.record(sent.elapsed());
        }
    }
    drop(client);
    server
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(latencies)
}

/// Sends every frame of `socket` back until its client hangs up.
pub(in crate::bench::experiments) async fn echo_socket(
    mut socket: TcpStream,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let mut buf = [0u8; FRAME];
    loop {
        match socket.read_exact(&mut buf).await {
            Ok(_) => socket.write_all(&buf).await?,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
