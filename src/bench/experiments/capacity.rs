//! The request/reply capacity floor of the load curve: `connections`
//! clients, each with one 32-byte frame out at a time (closed loop, no
//! pause), against one echo; round trips per second over a window, after a
//! warm-up. Through the `Transport` trait the echo is one peer serving
//! every client from one task, as a trader serves its buyers; over raw
//! tokio sockets it is one echo task per connection: what the machine's
//! loopback carries with nothing of ours in the way.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bazaar_protocol::PeerId;
use bytes::Bytes;
use serde::Serialize;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
    time::Instant,
};

use bazaar_node::net::{self, LocalNet, TransportKind};

use super::{
    ExperimentError, Setup,
    floors::{
        RAW_TCP,
        echo::{EchoError, FRAME, echo_socket, reflect, round_trip},
    },
};
use crate::workers::on_workers;

/// How long the clients run before round trips are counted.
const WARMUP: Duration = Duration::from_millis(200);

/// One point of the load curve's floor: what a transport's connections
/// carry as plain request/reply with nothing of the market on them.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityResult {
    /// `mem`, `tcp`, `quic`, `tcp+tls`, or [`RAW_TCP`] for tokio sockets
    /// with one echo task per connection.
    pub transport: String,
    /// Closed-loop clients, each on its own connection.
    pub connections: u32,
    /// Round trips per second, all clients together.
    pub round_trips_per_s: f64,
}

/// The load curve's floors: each transport's request/reply capacity with
/// as many connections as each step has buyers, then raw tokio tcp's.
///
/// # Errors
/// An [`ExperimentError`] if a transport fails.
pub async fn run(setup: &Setup<'_>) -> Result<Vec<CapacityResult>, ExperimentError> {
    let (plan, bar) = (setup.plan, setup.bar);
    let window = plan.capacity_window;
    let mut floors = Vec::new();
    let mut last = None;
    for (kind, connections) in plan.capacity_floors() {
        if last.replace(kind).is_some_and(|k| k != kind) {
            bar.inc(1);
        }
        bar.set_message(format!(
            "capacity floor over {kind}, {connections} connections"
        ));
        let rate = on_workers(transport(kind, connections, window, setup.seed)).await?;
        floors.push(CapacityResult {
            transport: kind.name().into(),
            connections,
            round_trips_per_s: rate,
        });
    }
    if last.is_some() {
        bar.inc(1);
    }
    let raw = plan.raw_capacity_floors();
    for &connections in &raw {
        bar.set_message(format!(
            "capacity floor over raw tcp, {connections} connections"
        ));
        floors.push(CapacityResult {
            transport: RAW_TCP.into(),
            connections,
            round_trips_per_s: on_workers(raw_tcp(connections, window)).await?,
        });
    }
    if !raw.is_empty() {
        bar.inc(1);
    }
    Ok(floors)
}

/// Round trips per second of `connections` closed-loop clients against one
/// echo peer over `kind`, counted for `window`.
///
/// # Errors
/// An [`EchoError`] if the transport fails.
pub async fn transport(
    kind: TransportKind,
    connections: u32,
    window: Duration,
    seed: u64,
) -> Result<f64, EchoError> {
    let wrap = |source| EchoError::Transport { kind, source };
    let echo_id = PeerId(connections + 1);
    let ids: Vec<PeerId> = (1..=connections + 1).map(PeerId).collect();
    let (_net, transports) = LocalNet::start(kind, &ids, seed).await.map_err(wrap)?;
    let echo = Arc::clone(&transports[&echo_id]);
    let reflecting = tokio::spawn(reflect(Arc::clone(&echo)));
    let count = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + WARMUP + window;
    let mut clients = JoinSet::new();
    for id in ids.iter().filter(|&&id| id != echo_id) {
        let (t, count) = (Arc::clone(&transports[id]), Arc::clone(&count));
        clients.spawn(async move {
            let frame = Bytes::from_static(&[0x5a; FRAME]);
            while Instant::now() < stop_at {
                if !round_trip(t.as_ref(), echo_id, frame.clone()).await? {
                    return Ok(());
                }
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        });
    }
    let rate = count_window(&count, window).await;
    let mut failed = None;
    while let Some(joined) = clients.join_next().await {
        if let Ok(Err(e)) = joined {
            failed.get_or_insert(e);
        }
    }
    net::shutdown_all(transports.values()).await;
    let _ = reflecting.await;
    match failed {
        Some(e) => Err(wrap(e)),
        None => Ok(rate),
    }
}

/// Round trips per second of `connections` closed-loop clients, each on its
/// own raw tokio TCP connection (`TCP_NODELAY`) on loopback to an echo task
/// of its own, counted for `window`.
///
/// # Errors
/// An [`EchoError::Io`] if the sockets fail.
pub async fn raw_tcp(connections: u32, window: Duration) -> Result<f64, EchoError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let mut echoes = JoinSet::new();
        for _ in 0..connections {
            let (socket, _) = listener.accept().await?;
            echoes.spawn(echo_socket(socket));
        }
        echoes
            .join_all()
            .await
            .into_iter()
            .collect::<std::io::Result<()>>()
    });
    let count = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + WARMUP + window;
    let mut clients = JoinSet::new();
    for _ in 0..connections {
        let count = Arc::clone(&count);
        clients.spawn(async move {
            let mut socket = TcpStream::connect(addr).await?;
            socket.set_nodelay(true)?;
            let mut buf = [0x5a; FRAME];
            while Instant::now() < stop_at {
                socket.write_all(&buf).await?;
                socket.read_exact(&mut buf).await?;
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, std::io::Error>(())
        });
    }
    let rate = count_window(&count, window).await;
    for joined in clients.join_all().await {
        joined?;
    }
    server
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(rate)
}

/// Waits out the warm-up, then counts `count`'s growth over `window`:
/// round trips per second.
async fn count_window(count: &AtomicU64, window: Duration) -> f64 {
    tokio::time::sleep(WARMUP).await;
    let (before, start) = (count.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(window).await;
    let done = count.load(Ordering::Relaxed) - before;
    done as f64 / start.elapsed().as_secs_f64()
}
