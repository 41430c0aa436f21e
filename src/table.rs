//! The table of peers that `bazaar demo` and `bazaar up` print at the end:
//! per peer its role, requests, mean/p50/p99 response time, goods bought
//! and sold, and credits, then everyone together.

use std::fmt::Write as _;

use bazaar_protocol::Money;

use crate::stats::{Latencies, human};

/// One peer's line of the table.
#[derive(Debug, Clone)]
pub enum PeerLine {
    /// A peer with figures.
    Figures {
        /// Its id.
        id: u32,
        /// `trader`, or its role.
        role: String,
        /// Buys it sent.
        requests: u64,
        /// Its response times.
        latencies: Latencies,
        /// Units it bought.
        bought: u64,
        /// Units of its own it sold.
        sold: u64,
        /// What it was credited.
        credits: Money,
    },
    /// A peer with no figures, and why (crashed, no summary).
    Missing {
        /// Its id.
        id: u32,
        /// Its role.
        role: String,
        /// Why there is nothing to show.
        why: String,
    },
}

/// The table, its header and a line for everyone together; no newline at
/// the end.
pub fn peers(lines: &[PeerLine]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5} {:<7} {:>8} {:>9} {:>9} {:>9} {:>7} {:>7} {:>10}",
        "peer", "role", "requests", "mean", "p50", "p99", "bought", "sold", "credits"
    );
    let (mut requests, mut bought, mut sold, mut credits) = (0, 0, 0, 0);
    let mut all = Latencies::default();
    for line in lines {
        match line {
            PeerLine::Missing { id, role, why } => {
                let _ = writeln!(out, "{id:>5} {role:<7} {why}");
            }
            PeerLine::Figures {
                id,
                role,
                requests: reqs,
                latencies: lat,
                bought: got,
                sold: gone,
                credits: credit,
            } => {
                let _ = writeln!(
                    out,
                    "{id:>5} {role:<7} {reqs:>8} {:>9} {:>9} {:>9} {got:>7} {gone:>7} {:>10}",
                    human(lat.mean()),
                    human(lat.quantile(0.5)),
                    human(lat.quantile(0.99)),
                    credit.to_string(),
                );
                requests += reqs;
                bought += got;
                sold += gone;
                credits += credit.cents();
                all.merge(lat);
            }
        }
    }
    let _ = write!(
        out,
        "{:>5} {:<7} {requests:>8} {:>9} {:>9} {:>9} {bought:>7} {sold:>7} {:>10}",
        "all",
        "",
        human(all.mean()),
        human(all.quantile(0.5)),
        human(all.quantile(0.99)),
        Money(credits).to_string(),
    );
    out
}
