//! A node's metrics in the Prometheus text format: fed by its peer's
//! reports and its transport's counters, served on `/metrics` by
//! [`http::serve`].

mod groups;
pub mod http;
pub mod scrape;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bazaar_node::{Event, StoreFailure, runtime::Report};
use bazaar_transport::Stats;
use prometheus_client::{encoding::text::encode, metrics::info::Info, registry::Registry};

use self::groups::{BuyMetrics, LinkMetrics, Registrar, SaleMetrics, StoreMetrics, TermMetrics};
use crate::stats::Latencies;

/// Every metric of one node.
pub struct NodeMetrics {
    registry: Registry,
    buys: BuyMetrics,
    sales: SaleMetrics,
    terms: TermMetrics,
    store: StoreMetrics,
    links: LinkMetrics,
    /// The transport's counters at the last refresh.
    last: Mutex<Stats>,
}

impl NodeMetrics {
    /// The metrics of peer `peer` with role `role`, all at zero.
    pub fn new(peer: u32, role: &str) -> Arc<Self> {
        let mut registry = Registry::with_prefix("bazaar");
        registry.register(
            "peer",
            "This peer's id and role",
            Info::new(vec![
                ("id".to_owned(), peer.to_string()),
                ("role".to_owned(), role.to_owned()),
            ]),
        );
        // Registered in the order `/metrics` lists them.
        let mut r = Registrar(&mut registry);
        let buys = BuyMetrics::register(&mut r);
        let sales = SaleMetrics::register(&mut r);
        let terms = TermMetrics::register(&mut r);
        let store = StoreMetrics::register(&mut r);
        let links = LinkMetrics::register(&mut r);
        Arc::new(Self {
            registry,
            buys,
            sales,
            terms,
            store,
            links,
            last: Mutex::new(Stats::default()),
        })
    }

    /// Counts one report of this node's peer; `latencies` are the response
    /// times of this incarnation so far, for the percentile gauges.
    pub fn observe(&self, report: &Report, latencies: &Latencies) {
        match &report.event {
            Event::Asked { .. } => {
                self.buys.sent.inc();
            }
            Event::Answered {
                filled, latency, ..
            } => {
                self.buys.answered.inc();
                if *filled == 0 {
                    self.buys.out_of_stock.inc();
                }
                self.buys.response.observe(latency.as_secs_f64());
                self.buys
                    .response_p50
                    .set(latencies.quantile(0.5).as_secs_f64());
                self.buys
                    .response_p99
                    .set(latencies.quantile(0.99).as_secs_f64());
            }
            Event::Sold(_) => {
                self.sales.as_trader.inc();
            }
            Event::Credited(notice) => {
                self.sales.units_sold.inc_by(u64::from(notice.quantity));
            }
            Event::ElectionStarted { .. } => {
                self.terms.elections_started.inc();
            }
            Event::Coordinator { id, epoch } => {
                self.terms.elections_won.inc();
                self.follow(id.0, epoch.0);
                self.terms.trading.set(1);
            }
            Event::Following { trader, epoch } => {
                self.follow(trader.0, epoch.0);
                self.terms.trading.set(0);
            }
            Event::SteppedDown { .. } => {
                self.terms.trader.set(0);
                self.terms.trading.set(0);
            }
            Event::DeskClosed { failure, .. } => {
                self.terms.trading.set(0);
                let kind = match failure {
                    StoreFailure::Fenced { .. } => "fenced",
                    StoreFailure::Leased { .. } => "leased",
                    StoreFailure::Unavailable => "unavailable",
                    StoreFailure::Corrupt => "corrupt",
                };
                self.store
                    .errors
                    .get_or_create(&vec![("failure".to_owned(), kind.to_owned())])
                    .inc();
            }
            Event::StoreUnavailable { .. } => {
                self.store
                    .errors
                    .get_or_create(&vec![("failure".to_owned(), "unavailable".to_owned())])
                    .inc();
            }
            Event::Committed { latency, .. } => self.store.commits.observe(latency.as_secs_f64()),
            Event::OutageBegan { .. } => {
                self.links.outages.inc();
            }
            _ => {}
        }
    }

    fn follow(&self, trader: u32, epoch: u64) {
        self.terms.trader.set(i64::from(trader));
        self.terms
            .epoch
            .set(i64::try_from(epoch).unwrap_or(i64::MAX));
    }

    /// Brings the frame counters up to the transport's; returns how many
    /// more incoming connections it refused since the last refresh.
    pub fn refresh(&self, now: Stats) -> u64 {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dropped = |s: &Stats| s.dropped_full + s.dropped_unreachable + s.dropped_fault;
        self.links
            .frames_sent
            .inc_by(now.sent.saturating_sub(last.sent));
        self.links
            .frames_received
            .inc_by(now.received.saturating_sub(last.received));
        self.links
            .frames_dropped
            .inc_by(dropped(&now).saturating_sub(dropped(&last)));
        let refused = now.rejected.saturating_sub(last.rejected);
        self.links.connections_refused.inc_by(refused);
        *last = now;
        refused
    }

    /// The metrics in the text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// How long a scrape may take to answer before `bazaar status` calls
    /// the peer unreachable.
    pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
}
