//! What the watcher of a market counts from the peers' reports, and the
//! table it prints at the end.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use bazaar_protocol::{Epoch, Money, PeerId};

use bazaar_node::{Event, Peer, Role, runtime::Report};

use crate::{
    stats::{Latencies, human},
    table::{self, PeerLine},
};

/// What the watcher of a running market counts from its peers' reports:
/// response times, sales, answers, traders, refusals, fenced traders.
#[derive(Debug, Default)]
pub struct MarketTally {
    /// Response times per buyer.
    pub latencies: BTreeMap<PeerId, Latencies>,
    /// Sales logged by traders.
    pub sales: u64,
    /// Requests answered.
    pub answered: u64,
    /// Every coordinator announced, in order, with when.
    pub coordinators: Vec<(Duration, PeerId, Epoch)>,
    /// Frames or requests refused.
    pub rejected: u64,
    /// Traders the store fenced.
    pub fenced: u64,
}

impl MarketTally {
    /// Counts one report, received `at` since the market started.
    pub fn observe(&mut self, at: Duration, report: &Report) {
        match &report.event {
            Event::Answered { latency, .. } => {
                self.answered += 1;
                self.latencies
                    .entry(report.peer)
                    .or_default()
                    .record(*latency);
            }
            Event::Sold(_) => self.sales += 1,
            Event::Coordinator { id, epoch } => self.coordinators.push((at, *id, *epoch)),
            Event::Rejected { .. } => self.rejected += 1,
            Event::DeskClosed { .. } => self.fenced += 1,
            _ => {}
        }
    }

    /// The current trader, as last announced.
    pub fn trader(&self) -> Option<(PeerId, Epoch)> {
        self.coordinators.last().map(|&(_, id, epoch)| (id, epoch))
    }

    /// Every buyer's response times together.
    pub fn all_latencies(&self) -> Latencies {
        let mut all = Latencies::default();
        for l in self.latencies.values() {
            all.merge(l);
        }
        all
    }

    /// The table of peers: role, requests, response times, goods, credits.
    pub fn table(&self, peers: &BTreeMap<PeerId, Peer>, roles: &BTreeMap<PeerId, Role>) -> String {
        let lines: Vec<PeerLine> = roles
            .iter()
            .map(|(&id, role)| match peers.get(&id) {
                None => PeerLine::Missing {
                    id: id.0,
                    role: role.name().to_owned(),
                    why: "crashed, not brought back".to_owned(),
                },
                Some(peer) => PeerLine::Figures {
                    id: id.0,
                    role: if peer.is_trading() {
                        "trader".to_owned()
                    } else {
                        role.name().to_owned()
                    },
                    requests: peer.buyer().map_or(0, |b| b.stats().requests),
                    latencies: self.latencies.get(&id).cloned().unwrap_or_default(),
                    bought: peer.buyer().map_or(0, |b| b.receipt().goods.values().sum()),
                    sold: peer.seller().map_or(0, |s| s.sold().values().sum()),
                    credits: peer.seller().map_or(Money::ZERO, |s| s.credits()),
                },
            })
            .collect();
        let mut out = table::peers(&lines);
        out.push('\n');
        let traders: Vec<String> = self
            .coordinators
            .iter()
            .map(|(at, id, e)| format!("{id} (epoch {e}, at {})", human(*at)))
            .collect();
        let _ = write!(
            out,
            "elections: {}; traders: {}",
            self.coordinators.len(),
            traders.join(", ")
        );
        out
    }
}
