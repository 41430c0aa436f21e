//! tcp under mutual TLS: the conformance suite, and every way in that must
//! be refused at the handshake: plaintext, no certificate, a stranger's
//! certificate, a member's certificate with another member's hello, and a
//! listener answering with another peer's certificate.

mod common;

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use async_trait::async_trait;
use bazaar_transport::{
    ClusterCa, Event, PeerId, PeerIdentity, TcpTransport, Transport, TransportConfig,
    TransportError, tls,
};
use bytes::Bytes;
use common::{Net, WAIT, id, next_event, next_frame, patient_config, quick_config};
use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

/// A cluster on free loopback ports, every peer under TLS with a
/// certificate from one CA.
struct TlsNet {
    ca: Arc<ClusterCa>,
    peers: BTreeMap<PeerId, SocketAddr>,
    config: TransportConfig,
}

impl TlsNet {
    fn new() -> Self {
        Self {
            ca: Arc::new(ClusterCa::generate().expect("cluster CA")),
            peers: BTreeMap::new(),
            config: TransportConfig::default(),
        }
    }
}

#[async_trait]
impl Net for TlsNet {
    type T = TcpTransport;

    async fn start(
        &mut self,
        ids: &[PeerId],
        config: TransportConfig,
    ) -> BTreeMap<PeerId, TcpTransport> {
        let cluster = TcpTransport::loopback_cluster_tls(&self.ca, ids, &config)
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
        let identity = self.ca.issue(id).expect("identity");
        tokio::time::timeout(
            WAIT,
            TcpTransport::start_tls(&identity, self.peers.clone(), self.config.clone()),
        )
        .await
        .expect("restart within the wait")
        .expect("the old port is free again")
    }
}

mod tcp_tls_conformance {
    use super::*;

    conformance_suite!(TlsNet::new());
}

fn hello(from: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 8];
    bytes.extend_from_slice(b"BZR1");
    bytes.extend_from_slice(&from.to_be_bytes());
    bytes
}

/// Whether the other end closed `stream` (EOF, reset or a TLS alert)
/// within the wait. On a raw socket, what it sends first is its TLS alert.
async fn closed_by_peer(stream: &mut (impl AsyncRead + Unpin)) -> bool {
    let mut buf = [0_u8; 64];
    tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// Waits until `t` has refused `n` connections.
async fn refused(t: &TcpTransport, n: u64) {
    tokio::time::timeout(WAIT, async {
        while t.stats().rejected < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the connection was refused and counted");
}

/// Peers 1 and 2 under TLS, having exchanged a frame.
async fn two_members(ca: &ClusterCa) -> BTreeMap<PeerId, TcpTransport> {
    let peers = TcpTransport::loopback_cluster_tls(ca, &[id(1), id(2)], &patient_config())
        .await
        .expect("cluster");
    peers[&id(2)]
        .send(id(1), Bytes::from_static(b"before"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&peers[&id(1)]).await,
        (id(2), Bytes::from_static(b"before"))
    );
    peers
}

/// Peer 2 still reaches peer 1, and peer 1 received nothing else.
async fn members_still_talk(peers: &BTreeMap<PeerId, TcpTransport>) {
    peers[&id(2)]
        .send(id(1), Bytes::from_static(b"after"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&peers[&id(1)]).await,
        (id(2), Bytes::from_static(b"after")),
        "nothing from the intruder"
    );
}

/// A TLS client config trusting `ca`, presenting `identity`'s certificate
/// if any.
fn client_config(ca: &ClusterCa, identity: Option<&PeerIdentity>) -> rustls::ClientConfig {
    if let Some(identity) = identity {
        return identity.tcp_client_config().expect("client config");
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert_der().clone()).expect("ca");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("tls 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"bazaar-tcp/1".to_vec()];
    config
}

/// Opens TLS to peer 1 at `addr` with `config`, sends a hello naming
/// `claim` and a frame, and returns whether peer 1 closed the connection.
async fn intrude(config: rustls::ClientConfig, addr: SocketAddr, claim: u32) -> bool {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from(tls::peer_name(id(1))).expect("name");
    let Ok(mut stream) = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
    else {
        return true;
    };
    let mut bytes = hello(claim);
    bytes.extend_from_slice(&[0, 0, 0, 4]);
    bytes.extend_from_slice(b"evil");
    // Peer 1 may close while we write: ignore write errors.
    let _ = stream.write_all(&bytes).await;
    let _ = stream.flush().await;
    closed_by_peer(&mut stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_a_plaintext_hello_is_refused() {
    let ca = ClusterCa::generate().expect("ca");
    let peers = two_members(&ca).await;
    let mut raw = TcpStream::connect(peers[&id(1)].local_addr())
        .await
        .expect("connect");
    let _ = raw.write_all(&hello(2)).await;
    assert!(closed_by_peer(&mut raw).await, "peer 1 closed it");
    refused(&peers[&id(1)], 1).await;
    members_still_talk(&peers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_a_client_without_a_certificate_is_refused() {
    let ca = ClusterCa::generate().expect("ca");
    let peers = two_members(&ca).await;
    let addr = peers[&id(1)].local_addr();
    assert!(intrude(client_config(&ca, None), addr, 2).await);
    refused(&peers[&id(1)], 1).await;
    members_still_talk(&peers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_a_strangers_certificate_is_refused() {
    let ca = ClusterCa::generate().expect("ca");
    let peers = two_members(&ca).await;
    let stranger = ClusterCa::generate()
        .expect("stranger's ca")
        .issue(id(2))
        .expect("stranger's certificate for peer 2");
    let addr = peers[&id(1)].local_addr();
    let mut config = stranger.tcp_client_config().expect("config");
    // The stranger trusts the cluster's CA, so only peer 1 can refuse.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert_der().clone()).expect("ca");
    config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("tls 1.3")
    .with_root_certificates(roots)
    .with_client_auth_cert(
        vec![stranger.cert_der().clone()],
        stranger_key(&stranger, config),
    )
    .expect("client auth");
    config.alpn_protocols = vec![b"bazaar-tcp/1".to_vec()];
    assert!(intrude(config, addr, 2).await);
    refused(&peers[&id(1)], 1).await;
    members_still_talk(&peers).await;
}

/// The stranger's private key, read back from its files.
fn stranger_key(
    stranger: &PeerIdentity,
    _config: rustls::ClientConfig,
) -> rustls::pki_types::PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    let dir = std::env::temp_dir().join(format!("bazaar-tcp-tls-stranger-{}", std::process::id()));
    stranger.write_to_dir(&dir).expect("write");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(tls::key_path(&dir, stranger.peer()))
        .expect("key");
    let _ = std::fs::remove_dir_all(&dir);
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_a_member_cannot_claim_another_members_id() {
    let ca = ClusterCa::generate().expect("ca");
    let peers = two_members(&ca).await;
    // Peer 3's certificate is the cluster's, but the hello says peer 2.
    let three = ca.issue(id(3)).expect("peer 3");
    let addr = peers[&id(1)].local_addr();
    assert!(intrude(client_config(&ca, Some(&three)), addr, 2).await);
    refused(&peers[&id(1)], 1).await;
    members_still_talk(&peers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_a_listener_with_another_peers_certificate_is_refused() {
    let ca = ClusterCa::generate().expect("ca");
    // Peer 3 listens where peer 1 expects peer 2.
    let impostor = TcpTransport::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let one = TcpTransport::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let (one_addr, impostor_addr) = (one.local_addr(), impostor.local_addr());
    let impostor = impostor
        .start_tls(
            &ca.issue(id(3)).expect("peer 3"),
            BTreeMap::from([(id(1), one_addr), (id(3), impostor_addr)]),
            patient_config(),
        )
        .expect("impostor");
    let one = one
        .start_tls(
            &ca.issue(id(1)).expect("peer 1"),
            BTreeMap::from([(id(1), one_addr), (id(2), impostor_addr)]),
            quick_config(),
        )
        .expect("peer 1");
    one.send(id(2), Bytes::from_static(b"for peer 2 only"))
        .await
        .expect("send");
    assert_eq!(
        next_event(&one).await,
        Some(Event::Unreachable { peer: id(2) })
    );
    assert_eq!(impostor.stats().received, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_an_identity_not_in_the_peer_list_is_an_error() {
    let ca = ClusterCa::generate().expect("ca");
    let identity = ca.issue(id(9)).expect("peer 9");
    let peers = BTreeMap::from([(id(1), "127.0.0.1:1".parse().expect("addr"))]);
    assert!(matches!(
        TcpTransport::start_tls(&identity, peers, TransportConfig::default()).await,
        Err(TransportError::UnknownPeer(p)) if p == id(9)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_tls_a_stranger_dialling_is_told_the_member_is_unreachable() {
    let ca = ClusterCa::generate().expect("ca");
    let peers = two_members(&ca).await;
    let stranger = ClusterCa::generate()
        .expect("stranger's ca")
        .issue(id(3))
        .expect("stranger");
    // The stranger does not even trust the cluster: either side refuses,
    // and a refusal by TLS is a failed dial, never "busy, retry".
    let binding = TcpTransport::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let map = BTreeMap::from([
        (id(1), peers[&id(1)].local_addr()),
        (id(3), binding.local_addr()),
    ]);
    let intruder = binding
        .start_tls(&stranger, map, quick_config())
        .expect("start");
    intruder
        .send(id(1), Bytes::from_static(b"let me in"))
        .await
        .expect("send");
    assert_eq!(
        next_event(&intruder).await,
        Some(Event::Unreachable { peer: id(1) })
    );
    refused(&peers[&id(1)], 1).await;
    members_still_talk(&peers).await;
}
