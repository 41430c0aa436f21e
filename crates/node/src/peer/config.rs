//! Everything a peer needs to know before it starts.

use std::time::Duration;

use bazaar_election::Config as ElectionConfig;
use bazaar_market::{BuyerConfig, Pricing, SellerConfig};
use bazaar_protocol::{Money, PeerId};

use crate::cluster::{Cluster, Role, TimingSettings};

/// When a trader steps down of its own accord ("the trader can resign her
/// post at any time, or call in sick").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResignPolicy {
    /// Resign after this long in office.
    pub after: Option<Duration>,
    /// Resign after this many sales.
    pub after_sales: Option<u64>,
}

/// Timeouts and pacing, as durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often the trader sends heartbeats.
    pub heartbeat_interval: Duration,
    /// Trader silence after which a peer starts an election.
    pub heartbeat_timeout: Duration,
    /// The election's timeouts.
    pub election: ElectionConfig,
    /// How long buyers and sellers wait for the trader's answer.
    pub request_timeout: Duration,
    /// How long buyers think between requests.
    pub think: Duration,
    /// "Out of stock" answers in a row before a buyer picks another product.
    pub patience: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Self::from(TimingSettings::default())
    }
}

impl Timing {
    /// Default timing with every timeout stretched for `peers` peers
    /// sharing one machine: a bully election sends O(n²) messages, so the
    /// time a message waits in line grows with the market, and timeouts
    /// tuned for six peers would elect and depose traders in a loop. One
    /// step per hundred peers; six peers get the defaults.
    pub fn for_peers(peers: u32) -> Self {
        let k = peers.div_ceil(100).max(1);
        let t = Self::default();
        Self {
            heartbeat_interval: t.heartbeat_interval * k,
            heartbeat_timeout: t.heartbeat_timeout * k,
            election: ElectionConfig {
                alive_timeout: t.election.alive_timeout * k,
                coordinator_timeout: t.election.coordinator_timeout * k,
            },
            request_timeout: t.request_timeout * k,
            ..t
        }
    }
}

impl From<TimingSettings> for Timing {
    fn from(t: TimingSettings) -> Self {
        let ms = TimingSettings::ms;
        Self {
            heartbeat_interval: ms(t.heartbeat_interval_ms),
            heartbeat_timeout: ms(t.heartbeat_timeout_ms),
            election: ElectionConfig {
                alive_timeout: ms(t.alive_timeout_ms),
                coordinator_timeout: ms(t.coordinator_timeout_ms),
            },
            request_timeout: ms(t.request_timeout_ms),
            think: ms(t.think_ms),
            patience: t.patience.max(1),
        }
    }
}

/// One peer's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// This peer.
    pub id: PeerId,
    /// Every peer of the market, this one included.
    pub peers: Vec<PeerId>,
    /// What it does when it is not the trader.
    pub role: Role,
    /// Prices and commission, used while it is trader.
    pub pricing: Pricing,
    /// Timeouts and pacing.
    pub timing: Timing,
    /// When it resigns as trader.
    pub resign: ResignPolicy,
    /// Seed of its buyer's and seller's random choices.
    pub seed: u64,
    /// Which start of this peer this is; it must grow with every start
    /// (a restart counter, or the start's Unix time in seconds) and stay
    /// below 2^32. Request and offer ids begin at `incarnation << 32`, so
    /// that a restarted peer never reuses an id of an earlier life.
    pub incarnation: u64,
}

impl PeerConfig {
    /// The configuration of peer `id` of `cluster`, or `None` if the cluster
    /// has no such peer.
    pub fn from_cluster(cluster: &Cluster, id: PeerId, seed: u64) -> Option<Self> {
        let entry = cluster.peer(id)?;
        let m = cluster.market;
        Some(Self {
            id,
            peers: cluster.ids(),
            role: entry.role,
            pricing: Pricing {
                fish: Money(m.fish_cents),
                salt: Money(m.salt_cents),
                boar: Money(m.boar_cents),
                commission_bps: m.commission_bps,
            },
            timing: cluster.timing.into(),
            resign: ResignPolicy::default(),
            seed,
            incarnation: 0,
        })
    }

    /// The buyer's settings, from the timing.
    pub fn buyer(&self) -> BuyerConfig {
        BuyerConfig {
            think: self.timing.think,
            request_timeout: self.timing.request_timeout,
            patience: self.timing.patience,
            first_seq: self.first_seq(),
            ..BuyerConfig::default()
        }
    }

    /// The seller's settings, from the timing.
    pub fn seller(&self) -> SellerConfig {
        SellerConfig {
            deposit_timeout: self.timing.request_timeout,
            first_seq: self.first_seq(),
            ..SellerConfig::default()
        }
    }

    /// Where this incarnation's request and offer ids begin.
    const fn first_seq(&self) -> u64 {
        self.incarnation << 32
    }

    /// A peer of a market of `n` peers with default settings: handy for
    /// tests and the simulator.
    pub fn simple(id: u32, n: u32, role: Role) -> Self {
        Self {
            id: PeerId(id),
            peers: (1..=n).map(PeerId).collect(),
            role,
            pricing: Pricing::default(),
            timing: Timing::default(),
            resign: ResignPolicy::default(),
            seed: u64::from(id),
            incarnation: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_stretch_one_step_per_hundred_peers() {
        assert_eq!(Timing::for_peers(6), Timing::default());
        let big = Timing::for_peers(1_000);
        assert_eq!(
            big.heartbeat_timeout,
            Timing::default().heartbeat_timeout * 10
        );
        assert_eq!(big.election.alive_timeout, Duration::from_millis(500));
        assert_eq!(big.think, Timing::default().think);
    }

    #[test]
    fn a_cluster_entry_becomes_a_config() {
        let cluster = Cluster::local(3, "127.0.0.1".parse().unwrap(), 9000);
        let config = PeerConfig::from_cluster(&cluster, PeerId(2), 7).unwrap();
        assert_eq!(config.peers, [PeerId(1), PeerId(2), PeerId(3)]);
        assert_eq!(config.pricing, Pricing::default());
        assert_eq!(config.timing.heartbeat_interval, Duration::from_millis(50));
        assert!(PeerConfig::from_cluster(&cluster, PeerId(4), 7).is_none());
    }

    /// Found by the simulator (seed 0, 5 peers): a restarted buyer asked
    /// for new goods under `buy 1#1`, and the trader answered with the
    /// recorded reply of its earlier life's `buy 1#1`.
    #[test]
    fn a_later_incarnation_numbers_its_requests_and_offers_past_the_earlier_ones() {
        let first = PeerConfig::simple(1, 3, Role::Both);
        let again = PeerConfig {
            incarnation: 1,
            ..first.clone()
        };
        assert_eq!(first.buyer().first_seq, 0);
        assert_eq!(again.buyer().first_seq, 1 << 32);
        assert_eq!(again.seller().first_seq, 1 << 32);
    }
}
