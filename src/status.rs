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
        /// That trader's epoch (`None`: its metrics do not say; never 0
        /// for a missing sample).
        epoch: Option<u64>,
        /// Buys of its own answered.
        answered: Option<u64>,
        /// Sales it made as trader.
        sales: Option<u64>,
        /// Median response time of its buys (`None` also before its first
        /// answer).
        p50: Option<Duration>,
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
    match fetch(addr, timeout) {
        Ok(text) => up_from(&text),
        Err(why) => PeerStatus::Unreachable { why },
    }
}

/// What a peer's metrics page says of it.
fn up_from(text: &str) -> PeerStatus {
    let s = samples(text);
    let get = |name: &str| s.get(name).copied().unwrap_or(0.0);
    // A count the metrics lack is unknown, not 0.
    let count = |name: &str| s.get(name).map(|&v| v.max(0.0) as u64);
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
        epoch: count("bazaar_epoch"),
        answered: count("bazaar_buys_answered_total"),
        sales: count("bazaar_sales_total"),
        p50: s
            .get("bazaar_buy_response_p50_seconds")
            .filter(|_| count("bazaar_buys_answered_total").is_some_and(|n| n > 0))
            .map(|&v| Duration::from_secs_f64(v.max(0.0))),
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
                let shown = |n: &Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
                let (epoch, answered, sales) = (shown(epoch), shown(answered), shown(sales));
                let p50 = p50.map_or_else(|| "-".to_owned(), human);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_the_metrics_lack_shows_as_a_dash_never_as_0() {
        let status = up_from("bazaar_trader 6\nbazaar_epoch 11\n");
        let PeerStatus::Up {
            epoch,
            answered,
            sales,
            p50,
            ..
        } = &status
        else {
            panic!("{status:?}");
        };
        assert_eq!(
            (*epoch, *answered, *sales, *p50),
            (Some(11), None, None, None)
        );
        let line = table(&BTreeMap::from([(1, (None, status))]));
        let last = line.lines().last().unwrap();
        let columns: Vec<&str> = last.split_whitespace().collect();
        assert_eq!(
            columns[columns.len() - 4..],
            ["11", "-", "-", "-"],
            "{line}"
        );
    }
}
