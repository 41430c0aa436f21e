//! What `bazaar up` prints at the end: the table `bazaar demo` prints, from
//! the summaries the peers wrote as they stopped, every trader seen, and
//! the audit of the stored books.

use std::{collections::BTreeSet, path::Path, time::SystemTime};

use bazaar_protocol::Money;

use crate::{
    node::summary::NodeSummary,
    stats::{Latencies, human},
    table::{self, PeerLine},
};

use super::{UpOutcome, since};

/// The table from the peers' summaries, the elections, and the audit.
pub fn final_report(
    data_dir: &Path,
    books: &crate::books::Books,
    peers: &[u32],
    started: SystemTime,
) -> UpOutcome {
    let mut lines = Vec::new();
    let mut traders = BTreeSet::new();
    for &id in peers {
        let path = NodeSummary::default_path(data_dir, id);
        match NodeSummary::read(&path) {
            Ok(s) => {
                for t in &s.traders {
                    // One election per epoch, first seen by anyone.
                    traders.insert((t.epoch, t.trader, t.at_unix_ms));
                }
                lines.push(PeerLine::Figures {
                    id,
                    role: if s.trading {
                        "trader".to_owned()
                    } else {
                        s.role.clone()
                    },
                    requests: s.requests,
                    latencies: Latencies::from(&s.latencies),
                    bought: s.bought.values().sum(),
                    sold: s.sold,
                    credits: Money(s.credits_cents),
                });
            }
            Err(e) => lines.push(PeerLine::Missing {
                id,
                role: "?".to_owned(),
                why: format!("no summary ({}: {e})", path.display()),
            }),
        }
    }
    let mut seen = Vec::new();
    let mut epochs = BTreeSet::new();
    for (epoch, trader, at) in traders {
        if epochs.insert(epoch) {
            seen.push(format!(
                "{trader} (epoch {epoch}, at {})",
                human(since(started, at))
            ));
        }
    }
    let (audit, passed) = match books.audit() {
        Ok(report) => report,
        Err(e) => (format!("no books to audit: {e}"), false),
    };
    let report = format!(
        "\n{}\nelections: {}; traders: {}\n(figures of each peer's last incarnation)\n{audit}",
        table::peers(&lines),
        seen.len(),
        seen.join(", ")
    );
    UpOutcome { report, passed }
}
