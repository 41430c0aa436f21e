//! What a node did in one incarnation, counted from its peer's reports and read
//! off the peer at exit: printed at the end, and written as JSON for
//! scripts and for `bazaar up`'s table.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bazaar_node::{Event, Peer, runtime::Report};
use bazaar_protocol::{Money, PeerId, Product};
use serde::{Deserialize, Serialize};

use crate::stats::{Latencies, LatencyCounts, human};

/// A trader this node saw take office: one per election won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraderSeen {
    /// The trader.
    pub trader: u32,
    /// Its epoch.
    pub epoch: u64,
    /// When this node learned of it, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// One incarnation of one node, as `--summary FILE` holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSummary {
    /// The peer's id.
    pub peer: u32,
    /// Its role in the cluster file.
    pub role: String,
    /// Which incarnation of the peer this was (0 for the first start).
    /// Summaries written before it had this name call it `life`, and still
    /// read.
    #[serde(alias = "life")]
    pub incarnation: u32,
    /// How long this incarnation ran, in milliseconds.
    pub ran_for_ms: u64,
    /// Whether it was the trader when it stopped.
    pub trading: bool,
    /// Buys it sent (new requests; re-sends not counted).
    pub requests: u64,
    /// Replies to them.
    pub answered: u64,
    /// Replies that said "out of stock".
    pub out_of_stock: u64,
    /// Mean response time, in microseconds.
    pub mean_us: u64,
    /// Median response time, in microseconds.
    pub p50_us: u64,
    /// 99th percentile response time, in microseconds.
    pub p99_us: u64,
    /// Slowest response, in microseconds.
    pub max_us: u64,
    /// Every response time, for merging with other nodes'.
    pub latencies: LatencyCounts,
    /// Units bought per product.
    pub bought: BTreeMap<String, u64>,
    /// What it paid, in cents.
    pub paid_cents: u64,
    /// Lots it offered.
    pub offered: u64,
    /// Units of its own that sold.
    pub sold: u64,
    /// What it was credited for them, in cents.
    pub credits_cents: u64,
    /// Sales it made as trader.
    pub sales_as_trader: u64,
    /// Elections it started.
    pub elections_started: u64,
    /// Traders it saw take office, in order.
    pub traders: Vec<TraderSeen>,
    /// Outages of other peers it saw begin.
    pub outages: u64,
}

/// Counts a node's reports as they come.
#[derive(Debug, Default)]
pub struct NodeTally {
    latencies: Latencies,
    requests: u64,
    answered: u64,
    out_of_stock: u64,
    offered: u64,
    sales: u64,
    elections_started: u64,
    traders: Vec<TraderSeen>,
    outages: u64,
}

impl NodeTally {
    /// Counts one report of this node's peer.
    pub fn observe(&mut self, report: &Report) {
        match &report.event {
            Event::Asked { .. } => self.requests += 1,
            Event::Answered {
                filled, latency, ..
            } => {
                self.answered += 1;
                self.out_of_stock += u64::from(*filled == 0);
                self.latencies.record(*latency);
            }
            Event::Offered { .. } => self.offered += 1,
            Event::Sold(_) => self.sales += 1,
            Event::ElectionStarted { .. } => self.elections_started += 1,
            Event::Coordinator { id, epoch } => self.saw(*id, epoch.0),
            Event::Following { trader, epoch } => self.saw(*trader, epoch.0),
            Event::OutageBegan { .. } => self.outages += 1,
            _ => {}
        }
    }

    fn saw(&mut self, trader: PeerId, epoch: u64) {
        let at_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.traders.push(TraderSeen {
            trader: trader.0,
            epoch,
            at_unix_ms,
        });
    }

    /// Response times so far.
    pub const fn latencies(&self) -> &Latencies {
        &self.latencies
    }

    /// The summary of this incarnation, with the goods and money read off the
    /// peer as it stopped.
    pub fn summary(&self, peer: &Peer, incarnation: u32, ran_for: Duration) -> NodeSummary {
        let l = &self.latencies;
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let (bought, paid) = peer.buyer().map_or_else(Default::default, |b| {
            let receipt = b.receipt();
            let goods = Product::ALL
                .iter()
                .map(|p| (p.name().to_owned(), *receipt.goods.get(p).unwrap_or(&0)))
                .collect();
            (goods, receipt.paid)
        });
        NodeSummary {
            peer: peer.id().0,
            role: peer.config().role.name().to_owned(),
            incarnation,
            ran_for_ms: u64::try_from(ran_for.as_millis()).unwrap_or(u64::MAX),
            trading: peer.is_trading(),
            requests: self.requests,
            answered: self.answered,
            out_of_stock: self.out_of_stock,
            mean_us: us(l.mean()),
            p50_us: us(l.quantile(0.5)),
            p99_us: us(l.quantile(0.99)),
            max_us: us(l.max()),
            latencies: LatencyCounts::from(l),
            bought,
            paid_cents: paid.cents(),
            offered: self.offered,
            sold: peer.seller().map_or(0, |s| s.sold().values().sum()),
            credits_cents: peer.seller().map_or(0, |s| s.credits().cents()),
            sales_as_trader: self.sales,
            elections_started: self.elections_started,
            traders: self.traders.clone(),
            outages: self.outages,
        }
    }
}

impl NodeSummary {
    /// The summary as a few log lines.
    pub fn lines(&self) -> Vec<String> {
        let us = Duration::from_micros;
        let id = self.peer;
        let bought: Vec<String> = self
            .bought
            .iter()
            .map(|(p, n)| format!("{p}={n}"))
            .collect();
        let traders: Vec<String> = self
            .traders
            .iter()
            .map(|t| format!("{} (epoch {})", t.trader, t.epoch))
            .collect();
        let buys = if self.requests == 0 && self.answered == 0 {
            format!("peer {id} summary: no buys")
        } else {
            format!(
                "peer {id} summary: {} requests, {} answered ({} out of stock); response mean {} p50 {} p99 {} max {}",
                self.requests,
                self.answered,
                self.out_of_stock,
                human(us(self.mean_us)),
                human(us(self.p50_us)),
                human(us(self.p99_us)),
                human(us(self.max_us)),
            )
        };
        vec![
            buys,
            format!(
                "peer {id} summary: bought {} for {}; offered {} lots, sold {} units, credited {}; sold {} as trader",
                if bought.is_empty() {
                    "nothing".to_owned()
                } else {
                    bought.join(" ")
                },
                Money(self.paid_cents),
                self.offered,
                self.sold,
                Money(self.credits_cents),
                self.sales_as_trader,
            ),
            format!(
                "peer {id} summary: started {} elections; saw {} traders: {}; {} outages of other peers",
                self.elections_started,
                self.traders.len(),
                if traders.is_empty() {
                    "none".to_owned()
                } else {
                    traders.join(", ")
                },
                self.outages,
            ),
        ]
    }

    /// Writes the summary as JSON to `path`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json + "\n")
    }

    /// Reads a summary written by [`NodeSummary::write`].
    ///
    /// # Errors
    /// The file cannot be read or is not a summary.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }

    /// Where a node writes its summary by default: beside its books.
    pub fn default_path(data_dir: &Path, peer: u32) -> PathBuf {
        data_dir.join(format!("peer-{peer}.summary.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_its_incarnation_and_reads_the_earlier_name() {
        let summary = NodeSummary {
            peer: 3,
            incarnation: 2,
            ..NodeSummary::default()
        };
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["incarnation"], 2);
        assert!(json.get("life").is_none(), "{json}");

        let mut earlier = json;
        let number = earlier
            .as_object_mut()
            .unwrap()
            .remove("incarnation")
            .unwrap();
        earlier["life"] = number;
        let read: NodeSummary = serde_json::from_value(earlier).unwrap();
        assert_eq!(read, summary);
    }
}
