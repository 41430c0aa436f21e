//! Issue 16's attack on real `bazaar node` processes: peer 6 is killed,
//! peer 5 trades, and a stranger claims to be peer 6 and sends one
//! `Coordinator` with an epoch near `u64::MAX`. Over plaintext tcp the
//! stranger gets in (the hello is the only proof) but the epoch is refused
//! as forged and the market trades on. Over tcp under TLS and over quic
//! the stranger is refused at the handshake (no certificate, a stranger's
//! certificate, another peer's certificate with a forged `Buy` in a
//! buyer's name); a member whose certificate is genuine (peer 6, as if
//! compromised) still cannot use up the epochs.

mod support;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_protocol::{
    Body, Buy, ElectionMessage, Envelope, Epoch, PeerId, Product, RequestId, encode_frame,
};
use bazaar_transport::{
    ClusterCa, Event, PeerIdentity, QuicTransport, TcpTransport, Transport, TransportConfig, tls,
};
use bytes::Bytes;
use rustls::pki_types::{PrivateKeyDer, ServerName, pem::PemObject};
use support::processes::{PATIENCE, Processes, write_cluster};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

/// The epoch of the attack: peer 6's (rank 5 of 6) in the last-but-one
/// round below `u64::MAX`.
fn forged_epoch() -> Epoch {
    Epoch((u64::MAX / 6 - 1) * 6 + 5)
}

/// One frame, length prefix included, of `body` from `from`.
fn frame(from: u32, body: Body) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&Envelope::new(PeerId(from), 1_000_000, body), &mut out).expect("encodes");
    out
}

fn forged_coordinator() -> Vec<u8> {
    frame(
        6,
        Body::Election(ElectionMessage::Coordinator {
            epoch: forged_epoch(),
        }),
    )
}

/// A buy in buyer 1's name.
fn forged_buy() -> Vec<u8> {
    frame(
        1,
        Body::Buy(Buy {
            id: RequestId {
                buyer: PeerId(1),
                seq: u64::MAX,
            },
            product: Product::Fish,
            quantity: 10,
        }),
    )
}

fn hello(from: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 8];
    bytes.extend_from_slice(b"BZR1");
    bytes.extend_from_slice(&from.to_be_bytes());
    bytes
}

/// Speaks the wire on `stream` as `claim`: the hello, then, if answered,
/// `frame`. Returns whether the peer answered the hello (let us in).
async fn speak(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    claim: u32,
    frame: &[u8],
) -> bool {
    if stream.write_all(&hello(claim)).await.is_err() || stream.flush().await.is_err() {
        return false;
    }
    let mut answer = [0_u8; 12];
    let answered = matches!(
        tokio::time::timeout(PATIENCE, stream.read_exact(&mut answer)).await,
        Ok(Ok(_))
    ) && &answer[4..8] == b"BZR1";
    if answered {
        stream.write_all(frame).await.expect("the frame goes out");
        stream.flush().await.expect("flushed");
    }
    answered
}

/// A connection an attacker keeps open until the peer has read it: closed
/// early with unread bytes, it would be reset and its frame maybe lost.
type Held = Box<dyn Send>;

/// The attacker of the issue: plaintext tcp to `addr`; whether it was let
/// in, and the connection.
async fn plaintext(addr: SocketAddr, claim: u32, frame: &[u8]) -> (bool, Held) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    (speak(&mut stream, claim, frame).await, Box::new(stream))
}

/// TLS to peer `to` at `addr` with `config`; whether it let us in, and
/// the connection.
async fn over_tls(
    config: rustls::ClientConfig,
    addr: SocketAddr,
    to: u32,
    claim: u32,
    frame: &[u8],
) -> (bool, Held) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from(tls::peer_name(PeerId(to))).expect("name");
    match TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
    {
        Ok(mut stream) => (speak(&mut stream, claim, frame).await, Box::new(stream)),
        Err(_) => (false, Box::new(())),
    }
}

/// Dials as a claimed peer 6 with `attempt` until let in, five times at
/// most. The peers keep dialling the dead peer 6, and a lower id refuses a
/// dial from a higher one while it dials that peer itself (the link's
/// arbitration, `bazaar_transport::link`): a refusal can be that race, and
/// peer 6 (or whoever claims to be) dials again, as a real peer would.
async fn let_in_as_6<F>(mut attempt: impl FnMut() -> F) -> (bool, Held)
where
    F: Future<Output = (bool, Held)>,
{
    let mut tried = attempt().await;
    for _ in 1..5 {
        if tried.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        tried = attempt().await;
    }
    tried
}

/// A client config trusting the cluster's CA (from `tls_dir`) and
/// presenting `cert` if any.
fn client_config(
    tls_dir: &Path,
    cert: Option<(Vec<u8>, PrivateKeyDer<'static>)>,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls::pki_types::CertificateDer::from_pem_file(tls_dir.join("ca.pem")).expect("ca");
    roots.add(ca).expect("ca");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("tls 1.3")
    .with_root_certificates(roots);
    let mut config = match cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert.into()], key)
            .expect("client auth"),
    };
    config.alpn_protocols = vec![b"bazaar-tcp/1".to_vec()];
    config
}

/// Peer `peer`'s certificate and key as files in `dir` hold them.
fn cert_and_key(dir: &Path, peer: u32) -> (Vec<u8>, PrivateKeyDer<'static>) {
    let cert = rustls::pki_types::CertificateDer::from_pem_file(tls::cert_path(dir, PeerId(peer)))
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(tls::key_path(dir, PeerId(peer))).expect("key");
    (cert.to_vec(), key)
}

/// Peer 6's identity signed by a foreign CA but trusting the cluster's:
/// a stranger who knows whom to talk to.
fn stranger(ca: &ClusterCa, dir: &Path) -> PeerIdentity {
    ClusterCa::generate()
        .expect("foreign ca")
        .issue(PeerId(6))
        .expect("stranger")
        .write_to_dir(dir)
        .expect("write");
    ca.write_to_dir(dir).expect("the cluster's ca.pem");
    PeerIdentity::load_from_dir(dir, PeerId(6)).expect("load")
}

/// Waits until every one of `who` logged a line containing `text`; other
/// lines are kept for [`no_line`].
fn all_log(procs: &Processes, who: &[u32], text: &str, seen: &mut Vec<(u32, String)>) {
    let mut waiting: BTreeSet<u32> = who.iter().copied().collect();
    waiting.retain(|id| !seen.iter().any(|(i, l)| i == id && l.contains(text)));
    let deadline = Instant::now() + PATIENCE;
    while !waiting.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((id, line)) = procs.lines.recv_timeout(left) else {
            panic!("peers {waiting:?} never logged {text:?}; seen:\n{seen:#?}");
        };
        if line.contains(text) {
            waiting.remove(&id);
        }
        seen.push((id, line));
    }
}

/// Waits for `n` more sales by the trader `trader`.
fn sales(procs: &Processes, trader: u32, n: usize, seen: &mut Vec<(u32, String)>) {
    for _ in 0..n {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((id, line)) = procs.lines.recv_timeout(left) else {
                panic!("trader {trader} stopped selling; seen:\n{seen:#?}");
            };
            let sale = id == trader && line.contains(" bought ");
            seen.push((id, line));
            if sale {
                break;
            }
        }
    }
}

/// No line of `who` seen contains `text`.
fn no_line(seen: &[(u32, String)], who: u32, text: &str) {
    let found: Vec<_> = seen
        .iter()
        .filter(|(i, l)| *i == who && l.contains(text))
        .collect();
    assert!(found.is_empty(), "peer {who} logged {text:?}: {found:#?}");
}

/// Peer 6 trades, is killed, and peer 5 takes over and sells.
fn peer_5_trades(procs: &mut Processes) {
    procs.wait_for(Some(6), "My ID is 6, and I am the new coordinator");
    procs.wait_for(Some(6), " bought ");
    procs.kill(6);
    procs.wait_for(Some(5), "My ID is 5, and I am the new coordinator");
    procs.wait_for(Some(5), " bought ");
}

/// The end: every peer stops cleanly and the books pass the audit.
fn audit(mut procs: Processes) {
    procs.terminate_all();
    let (passed, report) = procs.books("audit");
    assert!(passed && report.contains("audit passed"), "{report}");
}

/// Two workers: the test's thread blocks on the peers' logs while the
/// attacker's transports run.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn plaintext_tcp_lets_a_stranger_in_but_its_forged_epoch_is_refused() {
    let mut procs = Processes::start("forged-plain", 6, 20);
    peer_5_trades(&mut procs);
    let addrs = procs.cluster().addresses();
    let mut seen = Vec::new();
    runtime().block_on(async {
        let mut held = Vec::new();
        for id in 1..=5 {
            let addr = addrs[&PeerId(id)];
            let frame = forged_coordinator();
            let (answered, stream) = let_in_as_6(|| plaintext(addr, 6, &frame)).await;
            assert!(answered, "plaintext tcp answers anyone's hello");
            held.push(stream);
        }
        let refused = format!("refused a message from peer 6: epoch {}", forged_epoch());
        all_log(&procs, &[1, 2, 3, 4, 5], &refused, &mut seen);
    });
    sales(&procs, 5, 5, &mut seen);
    no_line(&seen, 5, "stepped down");
    audit(procs);
}

#[test]
fn tls_tcp_refuses_strangers_at_the_handshake_and_a_members_forged_epoch() {
    let cluster = write_cluster("forged-tls", 6, 20, false);
    let tls_dir = cluster.0.join("tls");
    let ca = tls::write_cluster(&tls_dir, (1..=6).map(PeerId)).expect("tls material");
    let mut procs = Processes::launch_with(cluster, 6, &[]);
    peer_5_trades(&mut procs);
    let addrs: BTreeMap<PeerId, SocketAddr> = procs.cluster().addresses();
    let (five, one) = (addrs[&PeerId(5)], addrs[&PeerId(1)]);
    let scratch = procs.dir.join("stranger");
    let mut seen = Vec::new();
    runtime().block_on(async {
        // The issue's attacker, in plaintext.
        assert!(!plaintext(five, 6, &forged_coordinator()).await.0);
        // No certificate.
        let config = client_config(&tls_dir, None);
        assert!(!over_tls(config, five, 5, 6, &forged_coordinator()).await.0);
        // A stranger's certificate, as peer 6 would dial.
        let identity = stranger(&ca, &scratch);
        let peers = BTreeMap::from([(PeerId(5), five), (PeerId(6), free_addr())]);
        let t = TcpTransport::bind(peers[&PeerId(6)])
            .await
            .expect("bind")
            .start_tls(&identity, peers, TransportConfig::default())
            .expect("start");
        t.send(PeerId(5), Bytes::from(forged_coordinator()[4..].to_vec()))
            .await
            .expect("send");
        let unreachable = tokio::time::timeout(PATIENCE, t.recv())
            .await
            .expect("an event");
        assert_eq!(unreachable, Some(Event::Unreachable { peer: PeerId(5) }));
        t.shutdown().await;
        // Peer 6's genuine certificate, a hello naming buyer 1, a buy in
        // buyer 1's name: refused before the buy is read.
        let config = client_config(&tls_dir, Some(cert_and_key(&tls_dir, 6)));
        assert!(!over_tls(config, five, 5, 1, &forged_buy()).await.0);
        all_log(
            &procs,
            &[5],
            "did not prove to be a peer of this cluster",
            &mut seen,
        );
        // Peer 6 itself, compromised: it gets in, its epoch does not.
        let config = client_config(&tls_dir, Some(cert_and_key(&tls_dir, 6)));
        let frame = forged_coordinator();
        let (answered, _held) = let_in_as_6(|| over_tls(config.clone(), one, 1, 6, &frame)).await;
        assert!(answered, "peer 6's own certificate and hello");
        let refused = format!("refused a message from peer 6: epoch {}", forged_epoch());
        all_log(&procs, &[1], &refused, &mut seen);
    });
    sales(&procs, 5, 5, &mut seen);
    no_line(&seen, 5, "stepped down");
    audit(procs);
}

#[test]
fn quic_refuses_a_stranger_at_the_handshake_and_a_members_forged_epoch() {
    let cluster = write_cluster("forged-quic", 6, 20, false);
    let tls_dir = cluster.0.join("tls");
    let ca = tls::write_cluster(&tls_dir, (1..=6).map(PeerId)).expect("tls material");
    let mut procs = Processes::launch_with(cluster, 6, &["--transport", "quic"]);
    peer_5_trades(&mut procs);
    let addrs: BTreeMap<PeerId, SocketAddr> = procs.cluster().addresses();
    let scratch = procs.dir.join("stranger");
    // Every line peer 5 logs from the attack on, for the check at the end.
    let mut seen = Vec::new();
    runtime().block_on(async {
        for (identity, answered) in [
            (stranger(&ca, &scratch), false),
            (
                PeerIdentity::load_from_dir(&tls_dir, PeerId(6)).expect("peer 6"),
                true,
            ),
        ] {
            let peers = BTreeMap::from([(PeerId(5), addrs[&PeerId(5)]), (PeerId(6), free_addr())]);
            let t = QuicTransport::start(identity, peers, TransportConfig::default())
                .await
                .expect("start");
            t.send(PeerId(5), Bytes::from(forged_coordinator()[4..].to_vec()))
                .await
                .expect("send");
            if !answered {
                let event = tokio::time::timeout(PATIENCE, t.recv())
                    .await
                    .expect("an event");
                assert_eq!(event, Some(Event::Unreachable { peer: PeerId(5) }));
            }
            if answered {
                let refused = format!("refused a message from peer 6: epoch {}", forged_epoch());
                all_log(&procs, &[5], &refused, &mut seen);
            } else {
                all_log(
                    &procs,
                    &[5],
                    "did not prove to be a peer of this cluster",
                    &mut seen,
                );
            }
            t.shutdown().await;
        }
    });
    sales(&procs, 5, 5, &mut seen);
    no_line(&seen, 5, "stepped down");
    audit(procs);
}

/// A free loopback address for an attacker's own listener.
fn free_addr() -> SocketAddr {
    support::processes::free_addrs(1)[0]
}
