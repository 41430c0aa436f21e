//! What the watcher of a market counts from the peers' reports, and the
//! table it prints at the end.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use bazaar_protocol::{Epoch, PeerId};

use bazaar_node::{Event, Peer, Role, runtime::Report};

use crate::stats::{Latencies, human};

/// Counts kept while the market runs.
#[derive(Debug, Default)]
pub struct Tally {
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

impl Tally {
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
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>5} {:<7} {:>8} {:>9} {:>9} {:>9} {:>7} {:>7} {:>10}",
            "peer", "role", "requests", "mean", "p50", "p99", "bought", "sold", "credits"
        );
        let (mut requests, mut bought, mut sold, mut credits) = (0, 0, 0, 0);
        for (&id, role) in roles {
            let Some(peer) = peers.get(&id) else {
                let _ = writeln!(
                    out,
                    "{:>5} {:<7} crashed, not brought back",
                    id.0,
                    role.name()
                );
                continue;
            };
            let lat = self.latencies.get(&id).cloned().unwrap_or_default();
            let reqs = peer.buyer().map_or(0, |b| b.stats().requests);
            let got: u64 = peer.buyer().map_or(0, |b| b.receipt().goods.values().sum());
            let gone: u64 = peer.seller().map_or(0, |s| s.sold().values().sum());
            let credit = peer.seller().map_or(0, |s| s.credits().cents());
            let role = if peer.is_trading() {
                "trader"
            } else {
                role.name()
            };
            let _ = writeln!(
                out,
                "{:>5} {role:<7} {reqs:>8} {:>9} {:>9} {:>9} {got:>7} {gone:>7} {:>10}",
                id.0,
                human(lat.mean()),
                human(lat.quantile(0.5)),
                human(lat.quantile(0.99)),
                bazaar_protocol::Money(credit).to_string(),
            );
            requests += reqs;
            bought += got;
            sold += gone;
            credits += credit;
        }
        let all = self.all_latencies();
        let _ = writeln!(
            out,
            "{:>5} {:<7} {requests:>8} {:>9} {:>9} {:>9} {bought:>7} {sold:>7} {:>10}",
            "all",
            "",
            human(all.mean()),
            human(all.quantile(0.5)),
            human(all.quantile(0.99)),
            bazaar_protocol::Money(credits).to_string(),
        );
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
