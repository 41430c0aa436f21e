//! The quic transport: the conformance suite, bad input on a real quic
//! connection, certificates that must be refused, and the TLS files.

mod common;

use std::{
    collections::BTreeMap,
    net::{SocketAddr, UdpSocket},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use bazaar_transport::{
    ClusterCa, Event, PeerId, PeerIdentity, QuicTransport, Transport, TransportConfig,
    TransportError, tls,
};
use bytes::Bytes;
use common::{Net, WAIT, id, next_event, next_frame, patient_config, quick_config};
use quinn::{Connection, ConnectionError, Endpoint, VarInt};

/// A cluster on free loopback ports, with identities from one CA.
struct QuicNet {
    ca: Arc<ClusterCa>,
    peers: BTreeMap<PeerId, SocketAddr>,
    config: TransportConfig,
}

impl QuicNet {
    fn new() -> Self {
        Self {
            ca: Arc::new(ClusterCa::generate().expect("cluster CA")),
            peers: BTreeMap::new(),
            config: TransportConfig::default(),
        }
    }
}

#[async_trait]
impl Net for QuicNet {
    type T = QuicTransport;

    async fn start(
        &mut self,
        ids: &[PeerId],
        config: TransportConfig,
    ) -> BTreeMap<PeerId, QuicTransport> {
        let cluster = QuicTransport::loopback_cluster(&self.ca, ids, &config)
            .await
            .expect("loopback cluster");
        self.peers = cluster
            .iter()
            .map(|(&id, t)| (id, t.local_addr()))
            .collect();
        self.config = config;
        cluster
    }

    async fn stop(&mut self, _id: PeerId, t: QuicTransport) {
        tokio::time::timeout(WAIT, t.shutdown())
            .await
            .expect("shutdown");
    }

    async fn restart(&mut self, id: PeerId) -> QuicTransport {
        // The UDP port is released once quinn's endpoint driver has wound
        // down; retry the bind until then, within the wait.
        tokio::time::timeout(WAIT, async {
            loop {
                let identity = self.ca.issue(id).expect("identity");
                match QuicTransport::start(identity, self.peers.clone(), self.config.clone()).await
                {
                    Ok(t) => return t,
                    Err(TransportError::Bind { .. }) => {
                        tokio::time::sleep(Duration::from_millis(20)).await
                    }
                    Err(e) => panic!("restart: {e}"),
                }
            }
        })
        .await
        .expect("restart within the wait")
    }
}

mod quic_conformance {
    use super::*;

    conformance_suite!(QuicNet::new());
}

fn hello(from: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 8];
    bytes.extend_from_slice(b"BZR1");
    bytes.extend_from_slice(&from.to_be_bytes());
    bytes
}

/// A quic connection to `to` made by hand with `identity`, outside any
/// transport.
async fn raw_connection(
    identity: &PeerIdentity,
    to: PeerId,
    addr: SocketAddr,
) -> (Endpoint, Connection) {
    let endpoint = Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("client endpoint");
    let config = identity.quic_client_config().expect("client config");
    let connecting = endpoint
        .connect_with(config, addr, &tls::peer_name(to))
        .expect("connect");
    let connection = tokio::time::timeout(WAIT, connecting)
        .await
        .expect("handshake in time")
        .expect("handshake");
    (endpoint, connection)
}

/// A quic listener of `identity` at `addr` made by hand, outside any
/// transport, with the endpoint config the transport uses.
fn raw_listener(identity: &PeerIdentity, addr: SocketAddr) -> Endpoint {
    Endpoint::new(
        identity.quic_endpoint_config(),
        Some(identity.quic_server_config().expect("server config")),
        UdpSocket::bind(addr).expect("bind"),
        quinn::default_runtime().expect("a runtime"),
    )
    .expect("endpoint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_a_restarted_peer_resets_the_connections_of_its_previous_incarnation() {
    let dir = TempDir::new("restart-reset");
    let ca = ClusterCa::generate().expect("ca");
    ca.write_to_dir(&dir.0).expect("write the ca");
    let two = ca.issue(id(2)).expect("identity");
    two.write_to_dir(&dir.0).expect("write peer 2");

    // Peer 2's first incarnation runs on a runtime of its own, which dies with it.
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
    let first_incarnation = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let listener =
            runtime.block_on(async { raw_listener(&two, "127.0.0.1:0".parse().expect("addr")) });
        let _ = addr_tx.send(listener.local_addr().expect("addr"));
        let connection = runtime.block_on(async {
            let incoming = listener.accept().await.expect("a dial");
            let connection = incoming.await.expect("handshake");
            let _ = kill_rx.await;
            connection
        });
        // Killed: the runtime stops before anything else, so nothing says
        // goodbye to peer 1.
        drop(runtime);
        drop(connection);
        drop(listener);
    });
    let addr = tokio::time::timeout(WAIT, addr_rx)
        .await
        .expect("listening in time")
        .expect("listening");
    let (_endpoint, connection) =
        raw_connection(&ca.issue(id(1)).expect("identity"), id(2), addr).await;
    let _ = kill_tx.send(());
    tokio::task::spawn_blocking(move || first_incarnation.join().expect("first incarnation"))
        .await
        .expect("joined");

    // The second incarnation: same key, same address, knows nothing of the
    // connection. Peer 1's next packet on it is answered with a stateless
    // reset that peer 1 accepts: the connection is not left to its idle
    // timeout.
    let second_incarnation = PeerIdentity::load_from_dir(&dir.0, id(2)).expect("load peer 2");
    let _listener = raw_listener(&second_incarnation, addr);
    // (A packet of the handshake's end may have got there first.)
    if let Ok(mut stream) = connection.open_uni().await {
        let _ = stream.write_all(b"anyone there?").await;
    }
    let closed = tokio::time::timeout(WAIT, connection.closed())
        .await
        .expect("the connection ended");
    assert!(matches!(closed, ConnectionError::Reset), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_a_restarted_peer_gets_what_is_sent_once_it_was_heard_from() {
    let dir = TempDir::new("restart-redial");
    let ca = ClusterCa::generate().expect("ca");
    ca.write_to_dir(&dir.0).expect("write the ca");
    ca.issue(id(2))
        .expect("identity")
        .write_to_dir(&dir.0)
        .expect("write peer 2");
    let two = || PeerIdentity::load_from_dir(&dir.0, id(2)).expect("load peer 2");
    let one = QuicTransport::bind(
        "127.0.0.1:0".parse().expect("addr"),
        ca.issue(id(1)).expect("identity"),
    )
    .await
    .expect("bind");

    // Peer 2's first incarnation runs on a runtime of its own, which dies with it.
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (peers_tx, peers_rx) = tokio::sync::oneshot::channel();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
    let first = two();
    let first_incarnation = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let transport = runtime.block_on(async {
            let binding = QuicTransport::bind("127.0.0.1:0".parse().expect("addr"), first)
                .await
                .expect("bind");
            let _ = addr_tx.send(binding.local_addr());
            let peers = peers_rx.await.expect("peers");
            let transport = binding.start(peers, patient_config()).expect("start");
            assert_eq!(
                next_frame(&transport).await,
                (id(1), Bytes::from_static(b"a"))
            );
            transport
                .send(id(1), Bytes::from_static(b"b"))
                .await
                .expect("send");
            let _ = kill_rx.await;
            transport
        });
        // Killed: the runtime stops before anything else, so nothing says
        // goodbye to peer 1.
        drop(runtime);
        drop(transport);
    });
    let addr = tokio::time::timeout(WAIT, addr_rx)
        .await
        .expect("bound in time")
        .expect("bound");
    let peers = BTreeMap::from([(id(1), one.local_addr()), (id(2), addr)]);
    peers_tx.send(peers.clone()).expect("peers");
    let one = one.start(peers.clone(), patient_config()).expect("start");
    one.send(id(2), Bytes::from_static(b"a"))
        .await
        .expect("send");
    assert_eq!(next_frame(&one).await, (id(2), Bytes::from_static(b"b")));
    let _ = kill_tx.send(());
    tokio::task::spawn_blocking(move || first_incarnation.join().expect("first incarnation"))
        .await
        .expect("joined");

    // The second incarnation dials peer 1 while peer 1 still holds a connection to
    // the first. What peer 1 sends once it heard from the second incarnation must
    // not go into that dead connection.
    let second = QuicTransport::start(two(), peers, patient_config())
        .await
        .expect("second incarnation");
    second
        .send(id(1), Bytes::from_static(b"c"))
        .await
        .expect("send");
    assert_eq!(next_frame(&one).await, (id(2), Bytes::from_static(b"c")));
    one.send(id(2), Bytes::from_static(b"d"))
        .await
        .expect("send");
    assert_eq!(next_frame(&second).await, (id(1), Bytes::from_static(b"d")));
}

/// Opens a stream to peer 1 as peer 2 with a valid certificate, writes
/// `bytes`, checks that peer 1 closes that connection, and that the real
/// peer 2 and peer 1 still talk.
async fn raw_stream_closes_only_that_connection(bytes: &[u8], read_ack: bool) {
    let ca = ClusterCa::generate().expect("ca");
    let peers = QuicTransport::loopback_cluster(&ca, &[id(1), id(2)], &patient_config())
        .await
        .expect("cluster");
    let (a, b) = (&peers[&id(1)], &peers[&id(2)]);
    b.send(id(1), Bytes::from_static(b"before"))
        .await
        .expect("send");
    assert_eq!(next_frame(a).await, (id(2), Bytes::from_static(b"before")));

    let (_endpoint, connection) =
        raw_connection(&ca.issue(id(2)).expect("identity"), id(1), a.local_addr()).await;
    let (mut send, mut recv) = connection.open_bi().await.expect("stream");
    if read_ack {
        send.write_all(&hello(2)).await.expect("hello");
        let mut ack = [0_u8; 1];
        recv.read_exact(&mut ack).await.expect("ack");
    }
    let _ = send.write_all(bytes).await;
    let closed = tokio::time::timeout(WAIT, connection.closed())
        .await
        .expect("peer 1 closed the connection");
    assert!(
        matches!(&closed, ConnectionError::ApplicationClosed(close) if close.error_code == VarInt::from_u32(1)),
        "{closed:?}"
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
async fn quic_garbage_closes_only_that_connection() {
    raw_stream_closes_only_that_connection(b"GET / HTTP/1.1\r\nHost: bazaar\r\n\r\n", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_huge_length_prefix_closes_only_that_connection() {
    raw_stream_closes_only_that_connection(&[0xff, 0xff, 0xff, 0xff, 0, 0], false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_huge_length_prefix_after_a_good_hello_closes_only_that_connection() {
    raw_stream_closes_only_that_connection(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_peer_cannot_claim_another_peers_id() {
    // Peer 3 holds a genuine certificate, but for 3, and says it is 2.
    let ca = ClusterCa::generate().expect("ca");
    let peers = QuicTransport::loopback_cluster(&ca, &[id(1), id(2), id(3)], &patient_config())
        .await
        .expect("cluster");
    let a = &peers[&id(1)];
    let (_endpoint, connection) =
        raw_connection(&ca.issue(id(3)).expect("identity"), id(1), a.local_addr()).await;
    let (mut send, _recv) = connection.open_bi().await.expect("stream");
    let mut bytes = hello(2);
    bytes.extend_from_slice(&[0, 0, 0, 5]);
    bytes.extend_from_slice(b"forge");
    let _ = send.write_all(&bytes).await;
    let closed = tokio::time::timeout(WAIT, connection.closed())
        .await
        .expect("peer 1 closed the connection");
    assert!(
        matches!(&closed, ConnectionError::ApplicationClosed(close) if close.reason.as_ref().starts_with(b"hello claims peer 2")),
        "{closed:?}"
    );
    assert_eq!(a.stats().rejected, 1);

    peers[&id(2)]
        .send(id(1), Bytes::from_static(b"the real 2"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(a).await,
        (id(2), Bytes::from_static(b"the real 2")),
        "the forged frame never arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_listener_with_another_peers_certificate_is_refused() {
    // Peer 1 believes 2 lives where an impostor holding 3's certificate listens.
    let ca = ClusterCa::generate().expect("ca");
    let a = QuicTransport::bind(
        "127.0.0.1:0".parse().expect("addr"),
        ca.issue(id(1)).expect("id"),
    )
    .await
    .expect("bind");
    let impostor = QuicTransport::bind(
        "127.0.0.1:0".parse().expect("addr"),
        ca.issue(id(3)).expect("id"),
    )
    .await
    .expect("bind");
    let peers = BTreeMap::from([(id(1), a.local_addr()), (id(2), impostor.local_addr())]);
    let impostor_peers = BTreeMap::from([(id(1), a.local_addr()), (id(3), impostor.local_addr())]);
    let a = a.start(peers, quick_config()).expect("start");
    let impostor = impostor
        .start(impostor_peers, quick_config())
        .expect("start");
    a.send(id(2), Bytes::from_static(b"for 2 only"))
        .await
        .expect("send");
    assert_eq!(
        next_event(&a).await,
        Some(Event::Unreachable { peer: id(2) })
    );
    assert_eq!(impostor.stats().received, 0);
}

/// Peer 3's identity with a certificate from a foreign CA, but trusting the
/// cluster's CA: a misconfigured or hostile node.
fn foreign_identity(ca: &ClusterCa, dir: &std::path::Path) -> PeerIdentity {
    let foreign = ClusterCa::generate().expect("foreign ca");
    foreign
        .issue(id(3))
        .expect("foreign identity")
        .write_to_dir(dir)
        .expect("write");
    ca.write_to_dir(dir)
        .expect("write the cluster's ca.pem over the foreign one");
    PeerIdentity::load_from_dir(dir, id(3)).expect("load")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_certificate_from_a_foreign_ca_is_refused() {
    let dir = TempDir::new("foreign-ca");
    let ca = ClusterCa::generate().expect("ca");
    let peers = QuicTransport::loopback_cluster(&ca, &[id(1), id(2)], &patient_config())
        .await
        .expect("cluster");
    let a = &peers[&id(1)];
    let intruder = QuicTransport::bind(
        "127.0.0.1:0".parse().expect("addr"),
        foreign_identity(&ca, &dir.0),
    )
    .await
    .expect("bind");
    let intruder_peers = BTreeMap::from([(id(1), a.local_addr()), (id(3), intruder.local_addr())]);
    let intruder = intruder
        .start(intruder_peers, quick_config())
        .expect("start");

    intruder
        .send(id(1), Bytes::from_static(b"let me in"))
        .await
        .expect("send");
    assert_eq!(
        next_event(&intruder).await,
        Some(Event::Unreachable { peer: id(1) })
    );
    tokio::time::timeout(WAIT, async {
        while a.stats().rejected == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("peer 1 counted the refused handshake");

    peers[&id(2)]
        .send(id(1), Bytes::from_static(b"member"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(a).await,
        (id(2), Bytes::from_static(b"member")),
        "nothing from the intruder"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_raw_udp_garbage_is_ignored() {
    let ca = ClusterCa::generate().expect("ca");
    let peers = QuicTransport::loopback_cluster(&ca, &[id(1), id(2)], &patient_config())
        .await
        .expect("cluster");
    let raw = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for len in [1, 20, 1200, 1500] {
        let garbage: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        raw.send_to(&garbage, peers[&id(1)].local_addr())
            .expect("send garbage");
    }
    peers[&id(2)]
        .send(id(1), Bytes::from_static(b"still here"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&peers[&id(1)]).await,
        (id(2), Bytes::from_static(b"still here"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_port_in_use_is_a_bind_error() {
    let taken = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let addr = taken.local_addr().expect("addr");
    let identity = ClusterCa::generate()
        .expect("ca")
        .issue(id(1))
        .expect("identity");
    let result = QuicTransport::bind(addr, identity).await;
    assert!(
        matches!(&result, Err(TransportError::Bind { addr: a, .. }) if *a == addr),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_tls_material_round_trips_through_files() {
    let dir = TempDir::new("material");
    tls::write_cluster(&dir.0, [id(1), id(2)]).expect("write cluster");
    // A peer added later, issued by the CA loaded back from its files.
    ClusterCa::load_from_dir(&dir.0)
        .expect("load ca")
        .issue(id(3))
        .expect("issue")
        .write_to_dir(&dir.0)
        .expect("write");

    let mut bindings = BTreeMap::new();
    for n in 1..=3 {
        let identity = PeerIdentity::load_from_dir(&dir.0, id(n)).expect("load identity");
        assert_eq!(identity.peer(), id(n));
        bindings.insert(
            id(n),
            QuicTransport::bind("127.0.0.1:0".parse().expect("addr"), identity)
                .await
                .expect("bind"),
        );
    }
    let addrs: BTreeMap<PeerId, SocketAddr> = bindings
        .iter()
        .map(|(&id, b)| (id, b.local_addr()))
        .collect();
    let peers: BTreeMap<PeerId, QuicTransport> = bindings
        .into_iter()
        .map(|(id, b)| (id, b.start(addrs.clone(), patient_config()).expect("start")))
        .collect();
    peers[&id(3)]
        .send(id(1), Bytes::from_static(b"from the newcomer"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&peers[&id(1)]).await,
        (id(3), Bytes::from_static(b"from the newcomer"))
    );
    peers[&id(1)]
        .send(id(2), Bytes::from_static(b"from 1"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&peers[&id(2)]).await,
        (id(1), Bytes::from_static(b"from 1"))
    );
}

#[test]
fn quic_tls_errors_name_the_file() {
    let dir = TempDir::new("errors");
    tls::write_cluster(&dir.0, [id(1), id(2)]).expect("write cluster");

    let missing = PeerIdentity::load_from_dir(&dir.0, id(9)).expect_err("no such peer");
    assert!(
        matches!(&missing, TransportError::File { path, .. } if path.ends_with("peer-9.pem")),
        "{missing}"
    );
    assert!(missing.to_string().contains("peer-9.pem"));

    std::fs::write(tls::key_path(&dir.0, id(2)), "not a key").expect("spoil the key");
    let spoiled = PeerIdentity::load_from_dir(&dir.0, id(2)).expect_err("bad key");
    assert!(
        matches!(&spoiled, TransportError::Pem { path, .. } if path.ends_with("peer-2-key.pem")),
        "{spoiled}"
    );

    std::fs::copy(tls::cert_path(&dir.0, id(1)), tls::cert_path(&dir.0, id(2))).expect("copy");
    let wrong = PeerIdentity::load_from_dir(&dir.0, id(2)).expect_err("1's certificate as 2's");
    assert!(
        wrong
            .to_string()
            .contains("not a certificate for peer-2.bazaar"),
        "{wrong}"
    );

    std::fs::write(
        dir.0.join("ca-key.pem"),
        ClusterCa::generate()
            .expect("ca")
            .issue(id(1))
            .map(|_| "x")
            .expect("x"),
    )
    .expect("spoil the ca key");
    let bad_ca = ClusterCa::load_from_dir(&dir.0).expect_err("bad ca key");
    assert!(bad_ca.to_string().contains("ca-key.pem"), "{bad_ca}");
}

/// A scratch directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("bazaar-transport-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
