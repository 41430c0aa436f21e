//! When things happen: timeouts, pacing, and when a trader resigns.

use std::time::Duration;

use bazaar_election::Config as ElectionConfig;

/// When a trader steps down of its own accord ("the trader can resign her
/// post at any time, or call in sick").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResignPolicy {
    /// Resign after this long in office.
    pub after: Option<Duration>,
    /// Resign after this many sales.
    pub after_sales: Option<u64>,
}

/// Timeouts and pacing. [`Timing::default`] is the one source of every
/// default: the cluster file writes and reads these values.
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
    /// How long a trader's lease on the books lasts unless renewed. It
    /// renews it five times a lease while it hears from another peer; cut
    /// off from every other peer for a heartbeat timeout, it gives up its
    /// term, and another peer can open the books once the lease runs out.
    pub lease: Duration,
}

impl Default for Timing {
    /// Tuned for a handful of peers on one machine or a LAN: a dead trader
    /// is noticed within 200 ms, an election settles within about 200 ms.
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_millis(50),
            heartbeat_timeout: Duration::from_millis(200),
            election: ElectionConfig {
                alive_timeout: Duration::from_millis(50),
                coordinator_timeout: Duration::from_millis(150),
                ..ElectionConfig::default()
            },
            request_timeout: Duration::from_millis(300),
            think: Duration::from_millis(50),
            patience: 3,
            lease: Duration::from_millis(300),
        }
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
                ..t.election
            },
            request_timeout: t.request_timeout * k,
            lease: t.lease * k,
            ..t
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
}
