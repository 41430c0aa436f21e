//! TLS material for the quic transport and for tcp under TLS: a cluster CA
//! and one certificate per peer.
//!
//! The CA signs each peer's certificate; the certificate's name (SAN DNS) is
//! `peer-<id>.bazaar`, so a certificate says which peer it belongs to. Both
//! sides of a quic or tls connection present a certificate (mutual TLS 1.3)
//! and accept only certificates signed by the cluster CA; the dialler also
//! checks that the listener is the peer it meant to reach, and the listener
//! that the dialler's hello names the peer of its certificate.
//!
//! On disk (one directory, PEM): `ca.pem` and `ca-key.pem` for the CA,
//! `peer-<id>.pem` and `peer-<id>-key.pem` for each peer. Keys are written
//! readable by their owner only.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use bazaar_protocol::PeerId;
use quinn_proto::HashedConnectionIdGenerator;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use ring::hmac;
use rustls::{
    RootCertStore,
    client::verify_server_name,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, pem::PemObject},
    server::{ParsedCertificate, WebPkiClientVerifier},
};

use crate::TransportError;

/// The ALPN protocol both sides of a quic connection must speak.
const ALPN: &[u8] = b"bazaar/1";
/// The ALPN protocol both sides of a tcp connection under TLS must speak.
const TCP_ALPN: &[u8] = b"bazaar-tcp/1";
/// What the quic stateless-reset key is derived for, from the peer's key.
const RESET_KEY_LABEL: &[u8] = b"bazaar quic stateless reset key 1";
/// What the quic connection-id key is derived for, from the peer's key.
const CID_KEY_LABEL: &[u8] = b"bazaar quic connection id key 1";
/// Name of the CA certificate file.
const CA_CERT_FILE: &str = "ca.pem";
/// Name of the CA key file.
const CA_KEY_FILE: &str = "ca-key.pem";

/// The name a peer's certificate carries: `peer-<id>.bazaar`.
pub fn peer_name(peer: PeerId) -> String {
    format!("peer-{}.bazaar", peer.0)
}

/// The file of a peer's certificate in a material directory.
pub fn cert_path(dir: &Path, peer: PeerId) -> PathBuf {
    dir.join(format!("peer-{}.pem", peer.0))
}

/// The file of a peer's private key in a material directory.
pub fn key_path(dir: &Path, peer: PeerId) -> PathBuf {
    dir.join(format!("peer-{}-key.pem", peer.0))
}

/// Whether `dir` holds a cluster's TLS material (its `ca.pem`): then every
/// peer of the cluster is expected to use it.
pub fn has_material(dir: &Path) -> bool {
    dir.join(CA_CERT_FILE).is_file()
}

/// Generates a cluster CA and an identity for each of `peers`, and writes
/// them all to `dir` (created if missing). What `bazaar init` needs.
///
/// # Errors
/// [`TransportError::Tls`] if generation fails, [`TransportError::File`]
/// naming the file that could not be written.
pub fn write_cluster(
    dir: &Path,
    peers: impl IntoIterator<Item = PeerId>,
) -> Result<ClusterCa, TransportError> {
    let ca = ClusterCa::generate()?;
    ca.write_to_dir(dir)?;
    for peer in peers {
        ca.issue(peer)?.write_to_dir(dir)?;
    }
    Ok(ca)
}

/// The cluster's certificate authority: it signs every peer's certificate.
pub struct ClusterCa {
    cert: CertificateDer<'static>,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// The CA's fixed parameters; loading the CA rebuilds its issuer from them.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "bazaar cluster CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn tls_error(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> TransportError {
    let what = what.into();
    move |e| TransportError::Tls {
        what,
        reason: e.to_string(),
    }
}

impl ClusterCa {
    /// A fresh CA with a new key.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if key generation or signing fails.
    pub fn generate() -> Result<Self, TransportError> {
        let key = KeyPair::generate().map_err(tls_error("cluster CA key"))?;
        let params = ca_params();
        let cert = params
            .self_signed(&key)
            .map_err(tls_error("cluster CA certificate"))?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Signs a new certificate, with a new key, for `peer`.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if key generation or signing fails.
    pub fn issue(&self, peer: PeerId) -> Result<PeerIdentity, TransportError> {
        let what = format!("peer {peer}'s certificate");
        let key = KeyPair::generate().map_err(tls_error(what.clone()))?;
        let mut params =
            CertificateParams::new(vec![peer_name(peer)]).map_err(tls_error(what.clone()))?;
        params
            .distinguished_name
            .push(DnType::CommonName, peer_name(peer));
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(tls_error(what))?;
        Ok(PeerIdentity {
            peer,
            ca: self.cert.clone(),
            ca_pem: self.cert_pem.clone(),
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key_pem: key.serialize_pem(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The CA's certificate, the cluster's trust anchor.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// Writes `ca.pem` and `ca-key.pem` to `dir` (created if missing).
    ///
    /// # Errors
    /// [`TransportError::File`] naming the file that could not be written.
    pub fn write_to_dir(&self, dir: &Path) -> Result<(), TransportError> {
        create_dir(dir)?;
        write_file(&dir.join(CA_CERT_FILE), &self.cert_pem, false)?;
        write_file(
            &dir.join(CA_KEY_FILE),
            &self.issuer.key().serialize_pem(),
            true,
        )
    }

    /// Reads the CA written by [`ClusterCa::write_to_dir`], to issue more
    /// certificates.
    ///
    /// # Errors
    /// [`TransportError::File`] or [`TransportError::Pem`] naming the file
    /// that is missing or wrong, including a key that does not match the
    /// certificate.
    pub fn load_from_dir(dir: &Path) -> Result<Self, TransportError> {
        let cert_file = dir.join(CA_CERT_FILE);
        let key_file = dir.join(CA_KEY_FILE);
        let (cert, cert_pem) = read_cert(&cert_file)?;
        let key_pem = read_file(&key_file)?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| pem_error(&key_file, e))?;
        if !contains(cert.as_ref(), key.public_key_raw()) {
            return Err(TransportError::Pem {
                path: key_file,
                reason: format!(
                    "this key does not belong to the certificate in {}",
                    cert_file.display()
                ),
            });
        }
        Ok(Self {
            cert,
            cert_pem,
            issuer: Issuer::new(ca_params(), key),
        })
    }
}

impl std::fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCa").finish_non_exhaustive()
    }
}

/// One peer's TLS identity: its certificate and key, and the cluster CA it
/// trusts.
pub struct PeerIdentity {
    peer: PeerId,
    ca: CertificateDer<'static>,
    ca_pem: String,
    cert: CertificateDer<'static>,
    cert_pem: String,
    key: PrivatePkcs8KeyDer<'static>,
    key_pem: String,
}

impl PeerIdentity {
    /// The peer this identity belongs to.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// The peer's certificate.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// Writes `ca.pem`, `peer-<id>.pem` and `peer-<id>-key.pem` to `dir`
    /// (created if missing).
    ///
    /// # Errors
    /// [`TransportError::File`] naming the file that could not be written.
    pub fn write_to_dir(&self, dir: &Path) -> Result<(), TransportError> {
        create_dir(dir)?;
        write_file(&dir.join(CA_CERT_FILE), &self.ca_pem, false)?;
        write_file(&cert_path(dir, self.peer), &self.cert_pem, false)?;
        write_file(&key_path(dir, self.peer), &self.key_pem, true)
    }

    /// Reads `peer`'s identity from `dir`: `ca.pem`, `peer-<id>.pem` and
    /// `peer-<id>-key.pem`.
    ///
    /// # Errors
    /// [`TransportError::File`] or [`TransportError::Pem`] naming the file
    /// that is missing or wrong, including a certificate made for another
    /// peer.
    pub fn load_from_dir(dir: &Path, peer: PeerId) -> Result<Self, TransportError> {
        let (ca, ca_pem) = read_cert(&dir.join(CA_CERT_FILE))?;
        let cert_file = cert_path(dir, peer);
        let (cert, cert_pem) = read_cert(&cert_file)?;
        if !cert_names(&cert, peer) {
            return Err(TransportError::Pem {
                path: cert_file,
                reason: format!("not a certificate for {}", peer_name(peer)),
            });
        }
        let key_file = key_path(dir, peer);
        let key_pem = read_file(&key_file)?;
        let key = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| pem_error(&key_file, e))?;
        Ok(Self {
            peer,
            ca,
            ca_pem,
            cert,
            cert_pem,
            key,
            key_pem,
        })
    }

    /// The quinn server config: present this certificate, require a client
    /// certificate signed by the cluster CA.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if rustls refuses the material.
    pub fn quic_server_config(&self) -> Result<quinn::ServerConfig, TransportError> {
        let what = format!("peer {}'s quic server", self.peer);
        let config = self.server_config(&what, ALPN)?;
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(config)
            .map_err(|e| tls_failure(&what, e))?;
        Ok(quinn::ServerConfig::with_crypto(Arc::new(crypto)))
    }

    /// The quinn endpoint config: stateless resets and connection ids keyed
    /// by secrets derived from this peer's private key, the same in every
    /// incarnation of the peer.
    ///
    /// A peer that was killed and started again answers a packet of a
    /// connection of its previous incarnation with a stateless reset, if the
    /// connection id is one it could have issued; its peers accept the reset
    /// only if its token is the one the previous incarnation gave them. With
    /// quinn's defaults (random keys per endpoint) neither holds: the peers
    /// would write into the dead connection until its idle timeout. With
    /// keys that survive the restart, the first packet they send ends it.
    pub fn quic_endpoint_config(&self) -> quinn::EndpointConfig {
        let secret = hmac::Key::new(hmac::HMAC_SHA256, self.key.secret_pkcs8_der());
        let reset_key = hmac::sign(&secret, RESET_KEY_LABEL);
        let cid_key = hmac::sign(&secret, CID_KEY_LABEL);
        let mut cid_key_bytes = [0_u8; 8];
        cid_key_bytes.copy_from_slice(&cid_key.as_ref()[..8]);
        let cid_key = u64::from_le_bytes(cid_key_bytes);
        let mut config = quinn::EndpointConfig::new(Arc::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            reset_key.as_ref(),
        )));
        config.cid_generator(move || Box::new(HashedConnectionIdGenerator::from_key(cid_key)));
        config
    }

    /// The quinn client config: trust only the cluster CA, present this
    /// certificate. Connect with server name [`peer_name`] of the peer
    /// meant, so that no other peer can answer in its place.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if rustls refuses the material.
    pub fn quic_client_config(&self) -> Result<quinn::ClientConfig, TransportError> {
        let what = format!("peer {}'s quic client", self.peer);
        let config = self.client_config(&what, ALPN)?;
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(config)
            .map_err(|e| tls_failure(&what, e))?;
        Ok(quinn::ClientConfig::new(Arc::new(crypto)))
    }

    /// The rustls server config of tcp under TLS: present this certificate,
    /// require a client certificate signed by the cluster CA. No session
    /// tickets: connections are long-lived and never resumed.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if rustls refuses the material.
    pub fn tcp_server_config(&self) -> Result<rustls::ServerConfig, TransportError> {
        let mut config =
            self.server_config(&format!("peer {}'s tcp server", self.peer), TCP_ALPN)?;
        config.send_tls13_tickets = 0;
        Ok(config)
    }

    /// The rustls client config of tcp under TLS: trust only the cluster
    /// CA, present this certificate. Connect with server name
    /// [`peer_name`] of the peer meant.
    ///
    /// # Errors
    /// [`TransportError::Tls`] if rustls refuses the material.
    pub fn tcp_client_config(&self) -> Result<rustls::ClientConfig, TransportError> {
        let mut config =
            self.client_config(&format!("peer {}'s tcp client", self.peer), TCP_ALPN)?;
        config.resumption = rustls::client::Resumption::disabled();
        Ok(config)
    }

    fn server_config(
        &self,
        what: &str,
        alpn: &[u8],
    ) -> Result<rustls::ServerConfig, TransportError> {
        let provider = provider();
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(self.roots()?),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| tls_failure(what, e))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| tls_failure(what, e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .map_err(|e| tls_failure(what, e))?;
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(config)
    }

    fn client_config(
        &self,
        what: &str,
        alpn: &[u8],
    ) -> Result<rustls::ClientConfig, TransportError> {
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| tls_failure(what, e))?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .map_err(|e| tls_failure(what, e))?;
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(config)
    }

    fn roots(&self) -> Result<RootCertStore, TransportError> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca.clone())
            .map_err(|e| TransportError::Tls {
                what: format!("peer {}'s trust in the cluster CA", self.peer),
                reason: e.to_string(),
            })?;
        Ok(roots)
    }
}

impl std::fmt::Debug for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerIdentity")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// Whether `cert` is made out to `peer` (its name is [`peer_name`]). Says
/// nothing of who signed it: TLS checked that already.
pub fn cert_names(cert: &CertificateDer<'_>, peer: PeerId) -> bool {
    let Ok(name) = ServerName::try_from(peer_name(peer)) else {
        return false;
    };
    ParsedCertificate::try_from(cert).is_ok_and(|parsed| verify_server_name(&parsed, &name).is_ok())
}

fn tls_failure(what: &str, e: impl std::fmt::Display) -> TransportError {
    TransportError::Tls {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

/// Every TLS connection uses ring, whatever else the process installed.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn pem_error(path: &Path, e: impl std::fmt::Display) -> TransportError {
    TransportError::Pem {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn read_file(path: &Path) -> Result<String, TransportError> {
    fs::read_to_string(path).map_err(|source| TransportError::File {
        path: path.to_path_buf(),
        source,
    })
}

fn read_cert(path: &Path) -> Result<(CertificateDer<'static>, String), TransportError> {
    let pem = read_file(path)?;
    let cert = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| pem_error(path, e))?;
    Ok((cert, pem))
}

fn create_dir(dir: &Path) -> Result<(), TransportError> {
    fs::create_dir_all(dir).map_err(|source| TransportError::File {
        path: dir.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), TransportError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let file_error = |source| TransportError::File {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(file_error)?;
    file.write_all(contents.as_bytes()).map_err(file_error)
}
