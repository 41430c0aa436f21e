//! Helpers shared by the top-level tests: start a market, wait for what
//! its peers report, and audit it at the end.

#![allow(dead_code)] // Each test file uses its own share of these.

pub mod auto_failover;
#[path = "../../crates/node/tests/support/pg.rs"]
pub mod pg;
pub mod processes;

use std::time::Duration;

use bazaar_node::{
    Event, PeerConfig, Role, Timing,
    audit::Audit,
    market::{LocalMarket, Outcome},
    net::TransportKind,
    runtime::Report,
};
use bazaar_protocol::{Epoch, PeerId};
use tokio::sync::mpsc;

/// Long enough for anything on a loaded 2-core machine; only a bound on
/// hangs, never a performance claim.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A market under test, and the reports of its peers.
pub struct Harness {
    pub market: LocalMarket,
    pub reports: mpsc::UnboundedReceiver<Report>,
    pub sales: u64,
    pub answered: u64,
    /// The last reports read, shown when a wait times out.
    recent: std::collections::VecDeque<Report>,
}

/// Peer configurations: `n` peers alternating buyer and seller, with quick
/// thinking so that a short test sees many trades.
pub fn configs(n: u32) -> Vec<PeerConfig> {
    let timing = Timing {
        think: Duration::from_millis(5),
        ..Timing::default()
    };
    (1..=n)
        .map(|id| {
            let role = if id % 2 == 1 {
                Role::Buyer
            } else {
                Role::Seller
            };
            PeerConfig {
                timing,
                ..PeerConfig::simple(id, n, role)
            }
        })
        .collect()
}

impl Harness {
    pub async fn start(kind: TransportKind, configs: Vec<PeerConfig>) -> Self {
        let (tx, reports) = mpsc::unbounded_channel();
        let market = LocalMarket::start(kind, configs, 7, tx)
            .await
            .expect("transports start");
        Self {
            market,
            reports,
            sales: 0,
            answered: 0,
            recent: Default::default(),
        }
    }

    /// Waits for a report that `pick` accepts, counting trades on the way.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Report) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let Ok(report) = tokio::time::timeout_at(deadline, self.reports.recv()).await else {
                let recent: Vec<String> = self
                    .recent
                    .iter()
                    .map(|r| bazaar::story::line(r).1)
                    .collect();
                panic!(
                    "timed out waiting for {what}; the last reports:\n{}",
                    recent.join("\n")
                );
            };
            let report = report.expect("the market is running");
            self.recent.push_back(report.clone());
            if self.recent.len() > 60 {
                self.recent.pop_front();
            }
            match &report.event {
                Event::Sold(_) => self.sales += 1,
                Event::Answered { .. } => self.answered += 1,
                _ => {}
            }
            if let Some(found) = pick(&report) {
                return found;
            }
        }
    }

    /// Waits until `id` announces itself trader; returns its epoch.
    pub async fn wait_for_trader(&mut self, id: u32) -> Epoch {
        self.wait_for(&format!("peer {id} to become trader"), |r| match r.event {
            Event::Coordinator { id: who, epoch } if who == PeerId(id) => Some(epoch),
            _ => None,
        })
        .await
    }

    /// Waits for `n` more sales.
    pub async fn wait_for_sales(&mut self, n: u64) {
        let target = self.sales + n;
        while self.sales < target {
            self.wait_for(&format!("{n} sales"), |r| {
                matches!(r.event, Event::Sold(_)).then_some(())
            })
            .await;
        }
    }

    /// Stops the market and audits it; panics with the audit if it fails.
    pub async fn stop_and_audit(self) -> (Outcome, Audit) {
        let outcome = self.market.stop().await;
        let book = outcome
            .store
            .books()
            .expect("store readable")
            .expect("a trader opened the books");
        let audit = Audit::run(&book, &outcome.peers);
        assert!(audit.passed(), "{audit}");
        (outcome, audit)
    }
}
