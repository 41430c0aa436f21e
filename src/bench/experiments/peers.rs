//! Every peer's configuration in an in-process market: buyers first,
//! sellers after, the last seller the first trader.

use std::time::Duration;

use bazaar_node::{Incarnation, PeerConfig, ResignPolicy, Role, Timing};

use super::stock;
use crate::bench::plan::{Disruption, LatencyScenario, LoadScenario};

/// A market's peers: how many, how many of them buy, how they behave.
struct Roster {
    peers: u32,
    buyers: u32,
    think: Duration,
    resign: ResignPolicy,
}

/// The peers of a latency experiment: a resigning trader steps down after
/// the scenario's sales.
pub fn latency(scenario: &LatencyScenario, seed: u64) -> Vec<PeerConfig> {
    let resign = match scenario.disruption {
        Disruption::Resign { every } => ResignPolicy {
            after: None,
            after_sales: Some(every),
        },
        Disruption::None | Disruption::Kill { .. } => ResignPolicy::default(),
    };
    let roster = Roster {
        peers: scenario.peers,
        buyers: scenario.buyers,
        think: scenario.think,
        resign,
    };
    roster.configs(seed)
}

/// The peers of a load step: buyers thinking not at all.
pub fn load(scenario: &LoadScenario, seed: u64) -> Vec<PeerConfig> {
    let roster = Roster {
        peers: scenario.peers(),
        buyers: scenario.buyers,
        think: Duration::ZERO,
        resign: ResignPolicy::default(),
    };
    roster.configs(seed)
}

impl Roster {
    fn configs(&self, seed: u64) -> Vec<PeerConfig> {
        let peers = self.peers;
        (1..=peers)
            .map(|id| {
                let role = if id <= self.buyers {
                    Role::Buyer
                } else {
                    Role::Seller
                };
                // Sellers number their offers past a stocked store's lots.
                let incarnation = if role == Role::Seller {
                    stock::SELLERS_INCARNATION
                } else {
                    Incarnation::FIRST
                };
                PeerConfig {
                    incarnation,
                    // Six-peer timeouts would elect and depose traders in a
                    // loop in the biggest markets (128 closed-loop buyers).
                    timing: Timing {
                        think: self.think,
                        ..Timing::for_peers(peers)
                    },
                    resign: self.resign,
                    seed: seed.wrapping_mul(1_000_003).wrapping_add(u64::from(id)),
                    ..PeerConfig::simple(id, peers, role)
                }
            })
            .collect()
    }
}
