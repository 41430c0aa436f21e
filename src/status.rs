//! `bazaar status`: asks every peer of a cluster for its metrics, at once
//! and with a short timeout, and shows one line per peer. A peer that does
//! not answer, or has no metrics address, is shown as such; nothing hangs.

use std::{collections::BTreeMap, fmt::Write as _, net::SocketAddr, time::Duration};

use bazaar_node::cluster::Cluster;

use crate::{
    metrics::scrape::{fetch, label, samples},
    stats::human,
};

/// What one peer said, or why it said nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerStatus {
    /// It answered.
    Up {
        /// Its role (`trader` while it trades).
        role: String,
        /// The trader it follows or is (`None`: none known).
        trader: Option<u32>,
        /// That trader's epoch.
        epoch: u64,
        /// Buys of its own answered.
        answered: u64,
        /// Sales it made as trader.
        sales: u64,
        /// Median response time of its buys.
        p50: Duration,
    },
    /// Its metrics address did not answer.
    Unreachable {
        /// Why.
        why: String,
    },
    /// The cluster file gives it no metrics address.
    Unknown,
}

/// Asks every peer of `cluster`, all at once, each within `timeout`.
pub fn ask(
    cluster: &Cluster,
    timeout: Duration,
) -> BTreeMap<u32, (Option<SocketAddr>, PeerStatus)> {
    std::thread::scope(|scope| {
        let asks: Vec<_> = cluster
            .peers
            .iter()
            .map(|p| {
                let (id, addr) = (p.id.0, p.metrics);
                scope.spawn(move || {
                    (
                        id,
                        (addr, addr.map_or(PeerStatus::Unknown, |a| one(a, timeout))),
                    )
                })
            })
            .collect();
        asks.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

fn one(addr: SocketAddr, timeout: Duration) -> PeerStatus {
    let text = match fetch(addr, timeout) {
        Ok(text) => text,
        Err(why) => return PeerStatus::Unreachable { why },
    };
    let s = samples(&text);
    let get = |name: &str| s.get(name).copied().unwrap_or(0.0);
    let trading = get("bazaar_trading") > 0.0;
    let role = if trading {
        "trader".to_owned()
    } else {
        label(&s, "bazaar_peer_info", "role").unwrap_or_else(|| "?".to_owned())
    };
    let trader = get("bazaar_trader") as u32;
    PeerStatus::Up {
        role,
        trader: (trader > 0).then_some(trader),
        epoch: get("bazaar_epoch") as u64,
        answered: get("bazaar_buys_answered_total") as u64,
        sales: get("bazaar_sales_total") as u64,
        p50: Duration::from_secs_f64(get("bazaar_buy_response_p50_seconds").max(0.0)),
    }
}

/// The table: one line per peer.
pub fn table(status: &BTreeMap<u32, (Option<SocketAddr>, PeerStatus)>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5} {:<21} {:<11} {:<7} {:>6} {:>5} {:>8} {:>6} {:>9}",
        "peer", "metrics", "reachable", "role", "trader", "epoch", "answered", "sales", "p50"
    );
    for (id, (addr, s)) in status {
        let addr = addr.map_or_else(|| "-".to_owned(), |a| a.to_string());
        match s {
            PeerStatus::Up {
                role,
                trader,
                epoch,
                answered,
                sales,
                p50,
            } => {
                let trader = trader.map_or_else(|| "none".to_owned(), |t| t.to_string());
                let p50 = if *answered == 0 {
                    "-".to_owned()
                } else {
                    human(*p50)
                };
                let _ = writeln!(
                    out,
                    "{id:>5} {addr:<21} {:<11} {role:<7} {trader:>6} {epoch:>5} {answered:>8} {sales:>6} {p50:>9}",
                    "yes"
                );
            }
            PeerStatus::Unreachable { why } => {
                let _ = writeln!(out, "{id:>5} {addr:<21} {:<11} {why}", "no");
            }
            PeerStatus::Unknown => {
                let _ = writeln!(
                    out,
                    "{id:>5} {addr:<21} {:<11} no metrics address in the cluster file",
                    "unknown"
                );
            }
        }
    }
    out.pop();
    out
}
