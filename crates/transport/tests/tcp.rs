//! The tcp transport: the conformance suite, and bad input from raw sockets.

mod common;

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use async_trait::async_trait;
use bazaar_transport::{PeerId, TcpTransport, Transport, TransportConfig, TransportError};
use bytes::Bytes;
use common::{Net, WAIT, id, next_frame, patient_config};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// A cluster on free loopback ports.
#[derive(Default)]
struct TcpNet {
    peers: BTreeMap<PeerId, SocketAddr>,
    config: TransportConfig,
}

#[async_trait]
impl Net for TcpNet {
    type T = TcpTransport;

    async fn start(
        &mut self,
        ids: &[PeerId],
        config: TransportConfig,
    ) -> BTreeMap<PeerId, TcpTransport> {
        let cluster = TcpTransport::loopback_cluster(ids, &config)
            .await
            .expect("loopback cluster");
        self.peers = cluster
            .iter()
            .map(|(&id, t)| (id, t.local_addr()))
            .collect();
        self.config = config;
        cluster
    }

    async fn stop(&mut self, _id: PeerId, t: TcpTransport) {
        tokio::time::timeout(WAIT, t.shutdown())
            .await
            .expect("shutdown");
    }

    async fn restart(&mut self, id: PeerId) -> TcpTransport {
        tokio::time::timeout(
            WAIT,
            TcpTransport::start(id, self.peers.clone(), self.config.clone()),
        )
        .await
        .expect("restart within the wait")
        .expect("the old port is free again")
    }
}

mod tcp_conformance {
    use super::*;

    conformance_suite!(TcpNet::default());
}

/// Whether the other end closed `stream` (EOF or reset) within the wait.
async fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0_u8; 64];
    matches!(
        tokio::time::timeout(WAIT, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Writes `bytes` to peer 1 of a fresh cluster from a raw socket, checks
/// that the connection is closed, and that 2 and 1 still talk.
async fn raw_bytes_close_only_that_connection(bytes: &[u8]) {
    let peers = TcpTransport::loopback_cluster(&[id(1), id(2)], &patient_config())
        .await
        .expect("cluster");
    let (a, b) = (&peers[&id(1)], &peers[&id(2)]);
    b.send(id(1), Bytes::from_static(b"before"))
        .await
        .expect("send");
    assert_eq!(next_frame(a).await, (id(2), Bytes::from_static(b"before")));

    let mut raw = TcpStream::connect(a.local_addr())
        .await
        .expect("raw connect");
    // The server may close while we write: ignore write errors.
    let _ = raw.write_all(bytes).await;
    assert!(
        closed_by_peer(&mut raw).await,
        "peer 1 closed the raw connection"
    );
    assert_eq!(a.stats().rejected, 1);

    b.send(id(1), Bytes::from_static(b"after"))
        .await
        .expect("send");
    assert_eq!(next_frame(a).await, (id(2), Bytes::from_static(b"after")));
    a.send(id(2), Bytes::from_static(b"back"))
        .await
        .expect("send");
    assert_eq!(next_frame(b).await, (id(1), Bytes::from_static(b"back")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_garbage_closes_only_that_connection() {
    raw_bytes_close_only_that_connection(b"GET / HTTP/1.1\r\nHost: bazaar\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_short_garbage_frame_is_not_a_hello() {
    raw_bytes_close_only_that_connection(&[0, 0, 0, 5, 1, 2, 3, 4, 5]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_huge_length_prefix_closes_only_that_connection() {
    raw_bytes_close_only_that_connection(&[0xff, 0xff, 0xff, 0xff, 0, 0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_huge_length_prefix_after_a_good_hello_closes_only_that_connection() {
    let mut bytes = vec![0, 0, 0, 8];
    bytes.extend_from_slice(b"BZR1");
    bytes.extend_from_slice(&2_u32.to_be_bytes());
    bytes.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
    raw_bytes_close_only_that_connection(&bytes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_hello_from_a_peer_outside_the_list_is_refused() {
    let mut bytes = vec![0, 0, 0, 8];
    bytes.extend_from_slice(b"BZR1");
    bytes.extend_from_slice(&42_u32.to_be_bytes());
    raw_bytes_close_only_that_connection(&bytes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_port_in_use_is_a_bind_error() {
    let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = taken.local_addr().expect("addr");
    let result = TcpTransport::bind(addr).await;
    assert!(
        matches!(&result, Err(TransportError::Bind { addr: a, .. }) if *a == addr),
        "{result:?}"
    );
    let message = result.expect_err("in use").to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_frames_queued_together_are_all_delivered() {
    let peers = TcpTransport::loopback_cluster(&[id(1), id(2)], &patient_config())
        .await
        .expect("cluster");
    let (a, b) = (&peers[&id(1)], &peers[&id(2)]);
    for seq in 0..500_u32 {
        a.send(id(2), Bytes::copy_from_slice(&seq.to_be_bytes()))
            .await
            .expect("send");
    }
    for seq in 0..500_u32 {
        assert_eq!(
            next_frame(b).await.1,
            Bytes::copy_from_slice(&seq.to_be_bytes())
        );
    }
    tokio::time::timeout(WAIT, async {
        while a.stats().sent < 500 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("all counted as sent");
}

/// The hello of peer `from` as it goes on the wire.
fn hello(from: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 8];
    bytes.extend_from_slice(b"BZR1");
    bytes.extend_from_slice(&from.to_be_bytes());
    bytes
}

/// A frame as it goes on the wire.
fn wire_frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// Reads exactly `len` bytes within the wait.
async fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    tokio::time::timeout(WAIT, stream.read_exact(&mut buf))
        .await
        .expect("bytes within the wait")
        .expect("read");
    buf
}

/// A real transport for peer `real` whose one other peer, `raw`, is played
/// by the test from raw sockets; dials wait as long as the test needs.
async fn beside_a_raw_peer(real: u32, raw: u32) -> (TcpTransport, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let binding = TcpTransport::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let peers = BTreeMap::from([
        (id(real), binding.local_addr()),
        (id(raw), listener.local_addr().expect("addr")),
    ]);
    (binding.start(id(real), peers, patient_config()), listener)
}

/// Accepts the real peer's dial and reads its hello (not answered yet).
async fn accept_dial(listener: &TcpListener, from: u32) -> TcpStream {
    let (mut stream, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("a dial within the wait")
        .expect("accept");
    assert_eq!(read_exactly(&mut stream, 12).await, hello(from));
    stream
}

/// Dials `t` as peer `from` and sends the hello.
async fn dial_as(t: &TcpTransport, from: u32) -> TcpStream {
    let mut stream = TcpStream::connect(t.local_addr()).await.expect("connect");
    stream.write_all(&hello(from)).await.expect("hello");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_simultaneous_dials_keep_the_lower_ids_connection_at_the_lower_id() {
    let (one, two) = beside_a_raw_peer(1, 2).await;
    one.send(id(2), Bytes::from_static(b"from 1"))
        .await
        .expect("send");
    let mut ours = accept_dial(&two, 1).await;
    // 2 dials while 1's dial is unanswered: 1 refuses it.
    let mut theirs = dial_as(&one, 2).await;
    assert!(closed_by_peer(&mut theirs).await, "1 refused 2's dial");
    // 2 answers 1's dial: that connection carries both directions.
    ours.write_all(&hello(2)).await.expect("answer");
    assert_eq!(read_exactly(&mut ours, 10).await, wire_frame(b"from 1"));
    ours.write_all(&wire_frame(b"from 2")).await.expect("write");
    assert_eq!(
        next_frame(&one).await,
        (id(2), Bytes::from_static(b"from 2"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_simultaneous_dials_keep_the_lower_ids_connection_at_the_higher_id() {
    let (two, one) = beside_a_raw_peer(2, 1).await;
    two.send(id(1), Bytes::from_static(b"from 2"))
        .await
        .expect("send");
    let refused = accept_dial(&one, 2).await;
    // 1 dials while 2's dial is unanswered: 2 answers and writes on it.
    let mut theirs = dial_as(&two, 1).await;
    assert_eq!(read_exactly(&mut theirs, 12).await, hello(2));
    assert_eq!(read_exactly(&mut theirs, 10).await, wire_frame(b"from 2"));
    // 1 refuses 2's dial; 2 keeps the connection 1 dialled.
    drop(refused);
    theirs
        .write_all(&wire_frame(b"from 1"))
        .await
        .expect("write");
    assert_eq!(
        next_frame(&two).await,
        (id(1), Bytes::from_static(b"from 1"))
    );
    two.send(id(1), Bytes::from_static(b"again"))
        .await
        .expect("send");
    assert_eq!(read_exactly(&mut theirs, 9).await, wire_frame(b"again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_half_open_connection_is_replaced_when_the_peer_dials_again() {
    let (one, two) = beside_a_raw_peer(1, 2).await;
    one.send(id(2), Bytes::from_static(b"first"))
        .await
        .expect("send");
    let mut old = accept_dial(&two, 1).await;
    old.write_all(&hello(2)).await.expect("answer");
    assert_eq!(read_exactly(&mut old, 9).await, wire_frame(b"first"));
    // 2's host vanishes without closing `old`, and 2 comes back: its first
    // dial is refused as if it raced 1's, its second replaces `old`.
    let mut refused = dial_as(&one, 2).await;
    assert!(closed_by_peer(&mut refused).await, "first dial refused");
    let mut new = dial_as(&one, 2).await;
    assert_eq!(read_exactly(&mut new, 12).await, hello(1));
    assert!(
        closed_by_peer(&mut old).await,
        "1 closed the half-open connection"
    );
    one.send(id(2), Bytes::from_static(b"second"))
        .await
        .expect("send");
    assert_eq!(read_exactly(&mut new, 10).await, wire_frame(b"second"));
}
