//! The cluster file: who the peers are, where they listen, what they do, and
//! the market's settings. Written by `bazaar init`, read by `bazaar node`.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use bazaar_election::Config as ElectionConfig;
use bazaar_market::Pricing;
use bazaar_protocol::{Money, PeerId};
use serde::{Deserialize, Serialize};

use crate::{Incarnation, PeerConfig, ResignPolicy, Role, Timing};

/// One peer of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerEntry {
    /// The peer's id, from 1; the higher id wins elections.
    pub id: PeerId,
    /// Where the peer listens (tcp and quic use the same address).
    pub addr: SocketAddr,
    /// What the peer does when it is not the trader.
    #[serde(default)]
    pub role: Role,
    /// Where the peer serves its metrics over HTTP (`/metrics`), if it
    /// does; `bazaar status` reads them there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SocketAddr>,
}

/// Prices and commission, in cents and basis points so money stays exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSettings {
    /// Price of one fish, in cents.
    pub fish_cents: u64,
    /// Price of one salt, in cents.
    pub salt_cents: u64,
    /// Price of one boar, in cents.
    pub boar_cents: u64,
    /// The trader's commission on every sale, in basis points (1000 = 10%).
    pub commission_bps: u32,
}

impl Default for MarketSettings {
    /// The market's default prices ([`Pricing::default`]).
    fn default() -> Self {
        Self::from(Pricing::default())
    }
}

impl From<Pricing> for MarketSettings {
    fn from(p: Pricing) -> Self {
        Self {
            fish_cents: p.fish.cents(),
            salt_cents: p.salt.cents(),
            boar_cents: p.boar.cents(),
            commission_bps: p.commission_bps,
        }
    }
}

impl From<MarketSettings> for Pricing {
    fn from(m: MarketSettings) -> Self {
        Self {
            fish: Money(m.fish_cents),
            salt: Money(m.salt_cents),
            boar: Money(m.boar_cents),
            commission_bps: m.commission_bps,
        }
    }
}

/// Timeouts and pacing, in milliseconds so the file stays plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingSettings {
    /// How often the trader sends heartbeats.
    pub heartbeat_interval_ms: u64,
    /// Silence from the trader after which a peer starts an election.
    pub heartbeat_timeout_ms: u64,
    /// How long an election waits for an `Alive` from a higher peer.
    pub alive_timeout_ms: u64,
    /// How long a peer that got `Alive` waits for the `Coordinator`.
    pub coordinator_timeout_ms: u64,
    /// How long a buyer or seller waits for the trader's answer.
    pub request_timeout_ms: u64,
    /// How long a buyer or seller thinks between requests.
    pub think_ms: u64,
    /// "Out of stock" answers in a row after which a buyer picks another product.
    pub patience: u32,
    /// How long a trader's lease on the books lasts unless renewed.
    pub lease_ms: u64,
    /// Not a time: how many epochs ahead of the highest it has seen an
    /// election message may be before a peer refuses it as forged
    /// (the election's `Config::max_epoch_lead`, 2^32 by default).
    pub max_epoch_lead: u64,
}

impl Default for TimingSettings {
    /// The peer's default timing ([`Timing::default`]).
    fn default() -> Self {
        Self::from(Timing::default())
    }
}

impl From<Timing> for TimingSettings {
    fn from(t: Timing) -> Self {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            heartbeat_interval_ms: ms(t.heartbeat_interval),
            heartbeat_timeout_ms: ms(t.heartbeat_timeout),
            alive_timeout_ms: ms(t.election.alive_timeout),
            coordinator_timeout_ms: ms(t.election.coordinator_timeout),
            request_timeout_ms: ms(t.request_timeout),
            think_ms: ms(t.think),
            patience: t.patience,
            lease_ms: ms(t.lease),
            max_epoch_lead: t.election.max_epoch_lead,
        }
    }
}

impl From<TimingSettings> for Timing {
    fn from(t: TimingSettings) -> Self {
        let ms = Duration::from_millis;
        Self {
            heartbeat_interval: ms(t.heartbeat_interval_ms),
            heartbeat_timeout: ms(t.heartbeat_timeout_ms),
            election: ElectionConfig {
                alive_timeout: ms(t.alive_timeout_ms),
                coordinator_timeout: ms(t.coordinator_timeout_ms),
                max_epoch_lead: t.max_epoch_lead,
            },
            request_timeout: ms(t.request_timeout_ms),
            think: ms(t.think_ms),
            patience: t.patience.max(1),
            lease: ms(t.lease_ms),
        }
    }
}

/// The whole cluster file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Where the trader's books live, when not in SQLite in each host's
    /// data directory: a PostgreSQL URL (`postgres://user@host:port/db`)
    /// that every peer's host reaches. Written by `bazaar init --store`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Prices and commission.
    #[serde(default)]
    pub market: MarketSettings,
    /// Timeouts and pacing.
    #[serde(default)]
    pub timing: TimingSettings,
    /// Every peer, in id order.
    #[serde(rename = "peer")]
    pub peers: Vec<PeerEntry>,
}

/// Why a cluster file cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The file cannot be read.
    #[error("cannot read cluster file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("malformed cluster file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What and where, as the TOML parser says it.
        message: String,
    },
    /// The file parses but says something impossible.
    #[error("invalid cluster file {path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The file cannot be written.
    #[error("cannot write cluster file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl Cluster {
    /// A cluster of `n` peers on `host`, listening on consecutive ports from
    /// `base_port`, each both buyer and seller.
    pub fn local(n: u32, host: std::net::IpAddr, base_port: u16) -> Self {
        let peers = (1..=n)
            .map(|i| PeerEntry {
                id: PeerId(i),
                addr: SocketAddr::new(host, base_port.saturating_add((i - 1) as u16)),
                role: Role::Both,
                metrics: None,
            })
            .collect();
        Self {
            store: None,
            market: MarketSettings::default(),
            timing: TimingSettings::default(),
            peers,
        }
    }

    /// Reads and validates a cluster file.
    ///
    /// # Errors
    /// A [`ClusterError`] naming the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, ClusterError> {
        let text = std::fs::read_to_string(path).map_err(|source| ClusterError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates the text of a cluster file; `path` is for errors.
    ///
    /// # Errors
    /// [`ClusterError::Parse`] or [`ClusterError::Invalid`].
    pub fn parse(text: &str, path: &Path) -> Result<Self, ClusterError> {
        let cluster: Self = toml::from_str(text).map_err(|e| ClusterError::Parse {
            path: path.to_owned(),
            message: describe(&e, text),
        })?;
        cluster
            .validate()
            .map_err(|problem| ClusterError::Invalid {
                path: path.to_owned(),
                problem,
            })?;
        Ok(cluster)
    }

    /// Writes the cluster file to `path`.
    ///
    /// # Errors
    /// [`ClusterError::Write`] naming the file.
    pub fn save(&self, path: &Path) -> Result<(), ClusterError> {
        let text = toml::to_string_pretty(self).expect("a cluster always serializes");
        let header = "# Bazaar cluster file, written by `bazaar init`.\n\
                      # Prices in cents, commission in basis points, times in milliseconds.\n\n";
        std::fs::write(path, format!("{header}{text}")).map_err(|source| ClusterError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Checks what the types cannot: ids unique and from 1, addresses
    /// unique, at least one peer, sane timings.
    fn validate(&self) -> Result<(), String> {
        if self.peers.is_empty() {
            return Err("no peers: add at least one [[peer]] table".into());
        }
        if let Some(url) = &self.store {
            check_store(url)?;
        }
        let mut ids = BTreeSet::new();
        let mut addrs = BTreeMap::new();
        for p in &self.peers {
            if p.id.0 == 0 {
                return Err("peer id 0: ids count from 1".into());
            }
            if !ids.insert(p.id) {
                return Err(format!("peer id {} appears twice", p.id));
            }
            if let Some(other) = addrs.insert(p.addr, p.id) {
                return Err(format!(
                    "peers {other} and {} share the address {}",
                    p.id, p.addr
                ));
            }
        }
        for p in &self.peers {
            if let Some(other) = p.metrics.and_then(|m| addrs.insert(m, p.id)) {
                return Err(format!(
                    "the metrics address {} of peer {} is taken by peer {other}",
                    p.metrics.unwrap_or(p.addr),
                    p.id
                ));
            }
        }
        let t = &self.timing;
        for (name, value) in [
            ("heartbeat_interval_ms", t.heartbeat_interval_ms),
            ("heartbeat_timeout_ms", t.heartbeat_timeout_ms),
            ("alive_timeout_ms", t.alive_timeout_ms),
            ("coordinator_timeout_ms", t.coordinator_timeout_ms),
            ("request_timeout_ms", t.request_timeout_ms),
            ("lease_ms", t.lease_ms),
        ] {
            if value == 0 {
                return Err(format!("timing.{name} is 0: it must be at least 1 ms"));
            }
        }
        if t.heartbeat_timeout_ms <= t.heartbeat_interval_ms {
            return Err(format!(
                "timing.heartbeat_timeout_ms ({}) must exceed timing.heartbeat_interval_ms ({})",
                t.heartbeat_timeout_ms, t.heartbeat_interval_ms
            ));
        }
        // One election moves the epoch by up to two rounds of the peers.
        let least = 2 * self.peers.len() as u64;
        if t.max_epoch_lead < least {
            return Err(format!(
                "timing.max_epoch_lead is {}: with {} peers it must be at least {least}, or honest elections are refused",
                t.max_epoch_lead,
                self.peers.len()
            ));
        }
        if self.market.commission_bps > 10_000 {
            return Err(format!(
                "market.commission_bps is {}: at most 10000 (100%)",
                self.market.commission_bps
            ));
        }
        Ok(())
    }

    /// The entry of peer `id`.
    pub fn peer(&self, id: PeerId) -> Option<&PeerEntry> {
        self.peers.iter().find(|p| p.id == id)
    }

    /// Every peer's address, by id.
    pub fn addresses(&self) -> BTreeMap<PeerId, SocketAddr> {
        self.peers.iter().map(|p| (p.id, p.addr)).collect()
    }

    /// Every peer's id, in order.
    pub fn ids(&self) -> Vec<PeerId> {
        self.peers.iter().map(|p| p.id).collect()
    }

    /// The configuration of peer `id` in its `incarnation`, or `None` if
    /// the cluster has no such peer. It does not resign of its own
    /// accord unless the caller says so.
    pub fn peer_config(
        &self,
        id: PeerId,
        seed: u64,
        incarnation: Incarnation,
    ) -> Option<PeerConfig> {
        let entry = self.peer(id)?;
        Some(PeerConfig {
            id,
            peers: self.ids(),
            role: entry.role,
            pricing: self.market.into(),
            timing: self.timing.into(),
            resign: ResignPolicy::default(),
            seed,
            incarnation,
        })
    }
}

/// A TOML error as one line: where, then what.
fn describe(error: &toml::de::Error, text: &str) -> String {
    let what = error.message().trim();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {what}")
        }
        None => what.to_owned(),
    }
}

/// Checks the cluster file's `store`: a PostgreSQL URL of one host or
/// several, checked whole where the PostgreSQL store is built in.
fn check_store(url: &str) -> Result<(), String> {
    #[cfg(feature = "postgres")]
    {
        crate::store::PgStore::check_url(url).map_err(|e| format!("store: {e}"))
    }
    #[cfg(not(feature = "postgres"))]
    {
        match url.starts_with("postgres://") || url.starts_with("postgresql://") {
            true => Ok(()),
            false => Err(format!(
                "store = {url:?}: the store is a PostgreSQL URL (postgres://user@host:port/database)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Cluster, String> {
        Cluster::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_written_cluster_reads_back() {
        let cluster = Cluster::local(6, "127.0.0.1".parse().unwrap(), 7000);
        let text = toml::to_string_pretty(&cluster).unwrap();
        assert_eq!(parse(&text), Ok(cluster));
    }

    #[test]
    fn missing_fields_take_defaults() {
        let c = parse("[[peer]]\nid = 3\naddr = \"127.0.0.1:9\"\n").unwrap();
        assert_eq!(c.peers[0].role, Role::Both);
        assert_eq!(c.timing, TimingSettings::default());
    }

    #[test]
    fn duplicate_ids_are_named() {
        let text =
            "[[peer]]\nid = 2\naddr = \"127.0.0.1:1\"\n[[peer]]\nid = 2\naddr = \"127.0.0.1:2\"\n";
        assert_eq!(
            parse(text),
            Err("invalid cluster file c.toml: peer id 2 appears twice".into())
        );
    }

    #[test]
    fn shared_addresses_are_named() {
        let text =
            "[[peer]]\nid = 1\naddr = \"127.0.0.1:1\"\n[[peer]]\nid = 2\naddr = \"127.0.0.1:1\"\n";
        assert_eq!(
            parse(text),
            Err("invalid cluster file c.toml: peers 1 and 2 share the address 127.0.0.1:1".into())
        );
    }

    #[test]
    fn a_metrics_address_reads_back_and_may_not_be_taken() {
        let mut cluster = Cluster::local(2, "127.0.0.1".parse().unwrap(), 7000);
        cluster.peers[1].metrics = Some("127.0.0.1:9100".parse().unwrap());
        let text = toml::to_string_pretty(&cluster).unwrap();
        assert_eq!(parse(&text), Ok(cluster));
        let text = "[[peer]]\nid = 1\naddr = \"127.0.0.1:1\"\n[[peer]]\nid = 2\naddr = \"127.0.0.1:2\"\nmetrics = \"127.0.0.1:1\"\n";
        assert_eq!(
            parse(text),
            Err(
                "invalid cluster file c.toml: the metrics address 127.0.0.1:1 of peer 2 is taken by peer 1"
                    .into()
            )
        );
    }

    #[test]
    fn garbage_is_a_parse_error_naming_the_file_and_place() {
        let err = parse("[market]\npeer = 5").unwrap_err();
        assert!(
            err.starts_with("malformed cluster file c.toml: line 2, column 1:"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_address_is_a_parse_error() {
        let err = parse("[[peer]]\nid = 1\naddr = \"nowhere\"\n").unwrap_err();
        assert!(err.starts_with("malformed cluster file c.toml:"), "{err}");
    }

    #[test]
    fn no_peers_is_invalid() {
        let err = parse("peer = []").unwrap_err();
        assert!(err.contains("no peers"), "{err}");
    }

    #[test]
    fn a_heartbeat_timeout_under_the_interval_is_invalid() {
        let text = "[timing]\nheartbeat_interval_ms = 100\nheartbeat_timeout_ms = 50\n[[peer]]\nid = 1\naddr = \"127.0.0.1:1\"\n";
        let err = parse(text).unwrap_err();
        assert!(
            err.contains("heartbeat_timeout_ms (50) must exceed"),
            "{err}"
        );
    }

    #[test]
    fn a_cluster_entry_becomes_a_config() {
        let cluster = Cluster::local(3, "127.0.0.1".parse().unwrap(), 9000);
        let config = cluster.peer_config(PeerId(2), 7, Incarnation(4)).unwrap();
        assert_eq!(config.peers, [PeerId(1), PeerId(2), PeerId(3)]);
        assert_eq!(config.pricing, Pricing::default());
        assert_eq!(config.timing, Timing::default());
        assert_eq!(config.incarnation, Incarnation(4));
        assert!(
            cluster
                .peer_config(PeerId(4), 7, Incarnation::FIRST)
                .is_none()
        );
    }

    #[test]
    fn the_file_defaults_are_the_peer_defaults() {
        assert_eq!(Timing::from(TimingSettings::default()), Timing::default());
        assert_eq!(Pricing::from(MarketSettings::default()), Pricing::default());
    }

    #[test]
    fn an_unknown_role_is_refused() {
        let err =
            parse("[[peer]]\nid = 1\naddr = \"127.0.0.1:1\"\nrole = \"thief\"\n").unwrap_err();
        assert!(err.contains("thief"), "{err}");
    }
}
