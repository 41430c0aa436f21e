//! Round-trip latency and frames per second of each transport on loopback,
//! beside a raw tokio TCP echo measured in the same run on the same runtime,
//! once on a current-thread runtime and once on a multi-thread runtime with
//! two workers.
//!
//! Run: `cargo bench -p bazaar-transport --bench transport`
//! (`-- --quick` for a shorter run).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_transport::{
    ClusterCa, Event, Hub, PeerId, QuicTransport, TcpTransport, Transport, TransportConfig,
};
use bytes::Bytes;
use hdrhistogram::Histogram;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter},
    net::{TcpListener, TcpStream},
};

/// Every frame is this long: the size of a small protocol message.
const FRAME_LEN: usize = 64;

struct Plan {
    round_trips: u64,
    frames: u64,
    mem_frames: u64,
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let plan = if quick {
        Plan {
            round_trips: 2_000,
            frames: 50_000,
            mem_frames: 200_000,
        }
    } else {
        Plan {
            round_trips: 20_000,
            frames: 400_000,
            mem_frames: 2_000_000,
        }
    };
    // Both flavours, each measuring the raw echo beside the transports.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    current.block_on(run(&plan, "tokio current-thread runtime"));
    drop(current);
    println!();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    multi.block_on(run(&plan, "tokio multi-thread runtime with 2 workers"));
}

async fn run(plan: &Plan, flavour: &str) {
    let frame = Bytes::from(vec![0xab; FRAME_LEN]);
    println!("{FRAME_LEN}-byte frames, {flavour}, 127.0.0.1\n");
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>14}",
        "", "p50 (µs)", "p99 (µs)", "mean (µs)", "frames/s"
    );

    let echo = raw_echo_round_trips(plan.round_trips, &frame).await;
    let stream = raw_stream_throughput(plan.frames, &frame).await;
    report("raw tokio tcp echo", &echo, stream);
    let split = raw_split_echo_round_trips(plan.round_trips, &frame).await;
    report("raw echo, 2 conns", &split, f64::NAN);

    let config = bench_config();
    let hub = Hub::with_config(1, config.clone());
    let mem = pair(hub.endpoint(PeerId(1)), hub.endpoint(PeerId(2)));
    let rtt = round_trips(&mem, plan.round_trips, &frame).await;
    let rate = throughput(&mem, plan.mem_frames, &frame).await;
    report("mem", &rtt, rate);

    let mut tcp = TcpTransport::loopback_cluster(&[PeerId(1), PeerId(2)], &config)
        .await
        .expect("tcp cluster");
    let tcp = pair(
        tcp.remove(&PeerId(1)).expect("1"),
        tcp.remove(&PeerId(2)).expect("2"),
    );
    let rtt = round_trips(&tcp, plan.round_trips, &frame).await;
    let rate = throughput(&tcp, plan.frames, &frame).await;
    report("tcp", &rtt, rate);
    println!(
        "{:<22} {:>10.2}x",
        "tcp p50 / raw echo p50",
        rtt.value_at_quantile(0.5) as f64 / echo.value_at_quantile(0.5) as f64
    );

    let ca = ClusterCa::generate().expect("ca");
    let mut quic = QuicTransport::loopback_cluster(&ca, &[PeerId(1), PeerId(2)], &config)
        .await
        .expect("quic cluster");
    let quic = pair(
        quic.remove(&PeerId(1)).expect("1"),
        quic.remove(&PeerId(2)).expect("2"),
    );
    let rtt = round_trips(&quic, plan.round_trips, &frame).await;
    let rate = throughput(&quic, plan.frames, &frame).await;
    report("quic", &rtt, rate);
}

/// Queues deep enough that the throughput run's windows never overflow.
fn bench_config() -> TransportConfig {
    TransportConfig {
        queue_len: 4 * WINDOW as usize,
        inbox_len: 4 * WINDOW as usize,
        ..TransportConfig::default()
    }
}

fn pair<T: Transport>(a: T, b: T) -> (Arc<T>, Arc<T>) {
    (Arc::new(a), Arc::new(b))
}

fn report(name: &str, rtt: &Histogram<u64>, frames_per_sec: f64) {
    let rate = if frames_per_sec.is_nan() {
        "-".to_owned()
    } else {
        format!("{frames_per_sec:.0}")
    };
    let us = |ns: u64| ns as f64 / 1000.0;
    println!(
        "{name:<22} {:>10.1} {:>10.1} {:>10.1} {rate:>14}",
        us(rtt.value_at_quantile(0.5)),
        us(rtt.value_at_quantile(0.99)),
        rtt.mean() / 1000.0,
    );
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram")
}

async fn next_frame<T: Transport>(t: &T) -> Bytes {
    let event = tokio::time::timeout(Duration::from_secs(10), t.recv())
        .await
        .expect("a frame within 10 s");
    match event {
        Some(Event::Frame { frame, .. }) => frame,
        Some(Event::Unreachable { peer }) => panic!("peer {peer} unreachable during the bench"),
        None => panic!("transport closed during the bench"),
    }
}

/// Peer 2 echoes every frame; peer 1 times each round trip.
async fn round_trips<T: Transport>(
    (a, b): &(Arc<T>, Arc<T>),
    count: u64,
    frame: &Bytes,
) -> Histogram<u64> {
    let echo = {
        let b = Arc::clone(b);
        tokio::spawn(async move {
            while let Some(Event::Frame { from, frame }) = b.recv().await {
                if frame.is_empty() {
                    return;
                }
                b.send(from, frame).await.expect("echo");
            }
        })
    };
    let warmup = count / 10;
    let mut histogram = histogram();
    for i in 0..warmup + count {
        let start = Instant::now();
        a.send(PeerId(2), frame.clone()).await.expect("send");
        next_frame(a.as_ref()).await;
        if i >= warmup {
            histogram
                .record(start.elapsed().as_nanos() as u64)
                .expect("record");
        }
    }
    a.send(PeerId(2), Bytes::new())
        .await
        .expect("stop the echo");
    echo.await.expect("echo task");
    histogram
}

/// Frames in flight at most, in windows acknowledged by the receiver.
const WINDOW: u64 = 8192;

/// Peer 1 streams `count` frames to peer 2, which acknowledges each window;
/// at most two windows are in flight so no queue overflows.
async fn throughput<T: Transport>((a, b): &(Arc<T>, Arc<T>), count: u64, frame: &Bytes) -> f64 {
    let receiver = {
        let b = Arc::clone(b);
        tokio::spawn(async move {
            for received in 1..=count {
                next_frame(b.as_ref()).await;
                if received % WINDOW == 0 {
                    b.send(PeerId(1), Bytes::from_static(b"ack"))
                        .await
                        .expect("ack");
                }
            }
            Instant::now()
        })
    };
    let start = Instant::now();
    for sent in 0..count {
        if sent % WINDOW == 0 && sent >= 2 * WINDOW {
            next_frame(a.as_ref()).await;
        }
        a.send(PeerId(2), frame.clone()).await.expect("send");
    }
    let end = receiver.await.expect("receiver task");
    // Drain the acknowledgements still on their way.
    while tokio::time::timeout(Duration::from_millis(50), a.recv())
        .await
        .is_ok()
    {}
    let dropped = a.stats().dropped_full;
    assert_eq!(
        dropped, 0,
        "the windows must keep every queue from overflowing"
    );
    count as f64 / (end - start).as_secs_f64()
}

/// A plain tokio echo over one TCP connection, 4-byte length prefix like the
/// transports: the floor the tcp transport is measured against.
async fn raw_echo_round_trips(count: u64, frame: &Bytes) -> Histogram<u64> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        let mut buf = vec![0_u8; 4 + FRAME_LEN];
        while stream.read_exact(&mut buf).await.is_ok() {
            stream.write_all(&buf).await.expect("echo");
        }
    });
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut message = (FRAME_LEN as u32).to_be_bytes().to_vec();
    message.extend_from_slice(frame);
    let mut reply = vec![0_u8; message.len()];
    let warmup = count / 10;
    let mut histogram = histogram();
    for i in 0..warmup + count {
        let start = Instant::now();
        stream.write_all(&message).await.expect("write");
        stream.read_exact(&mut reply).await.expect("read");
        if i >= warmup {
            histogram
                .record(start.elapsed().as_nanos() as u64)
                .expect("record");
        }
    }
    drop(stream);
    server.await.expect("server");
    histogram
}

/// Raw frames per second over one buffered TCP connection.
async fn raw_stream_throughput(count: u64, frame: &Bytes) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let reader = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut stream = BufReader::new(stream);
        let mut buf = vec![0_u8; 4 + FRAME_LEN];
        for _ in 0..count {
            stream.read_exact(&mut buf).await.expect("read");
        }
        Instant::now()
    });
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut stream = BufWriter::new(stream);
    let start = Instant::now();
    for _ in 0..count {
        stream
            .write_all(&(FRAME_LEN as u32).to_be_bytes())
            .await
            .expect("write");
        stream.write_all(frame).await.expect("write");
    }
    stream.flush().await.expect("flush");
    let end = reader.await.expect("reader");
    count as f64 / (end - start).as_secs_f64()
}

/// The same echo, but over two one-way connections (one per direction, as
/// the transports dial): separates the cost of the connection layout from
/// the cost of the transport's tasks and queues.
async fn raw_split_echo_round_trips(count: u64, frame: &Bytes) -> Histogram<u64> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let back_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let back_addr = back_listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut inbound, _) = listener.accept().await.expect("accept");
        let mut outbound = TcpStream::connect(back_addr).await.expect("connect back");
        outbound.set_nodelay(true).expect("nodelay");
        let mut buf = vec![0_u8; 4 + FRAME_LEN];
        while inbound.read_exact(&mut buf).await.is_ok() {
            outbound.write_all(&buf).await.expect("echo");
        }
    });
    let mut outbound = TcpStream::connect(addr).await.expect("connect");
    outbound.set_nodelay(true).expect("nodelay");
    let (mut inbound, _) = back_listener.accept().await.expect("accept");
    let mut message = (FRAME_LEN as u32).to_be_bytes().to_vec();
    message.extend_from_slice(frame);
    let mut reply = vec![0_u8; message.len()];
    let warmup = count / 10;
    let mut histogram = histogram();
    for i in 0..warmup + count {
        let start = Instant::now();
        outbound.write_all(&message).await.expect("write");
        inbound.read_exact(&mut reply).await.expect("read");
        if i >= warmup {
            histogram
                .record(start.elapsed().as_nanos() as u64)
                .expect("record");
        }
    }
    drop(outbound);
    server.await.expect("server");
    histogram
}
