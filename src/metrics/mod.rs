//! A node's metrics in the Prometheus text format: fed by its peer's
//! reports and its transport's counters, served on `/metrics` by
//! [`http::serve`].

pub mod http;
pub mod scrape;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64},
    },
    time::Duration,
};

use bazaar_node::{Event, StoreFailure, runtime::Report};
use bazaar_transport::Stats;
use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
        info::Info,
    },
    registry::Registry,
};

use crate::stats::Latencies;

/// Labels of a store failure: `failure="fenced"`.
type FailureLabels = Vec<(String, String)>;

/// Every metric of one node.
pub struct NodeMetrics {
    registry: Registry,
    buys_sent: Counter,
    buys_answered: Counter,
    out_of_stock: Counter,
    response: Histogram,
    response_p50: Gauge<f64, AtomicU64>,
    response_p99: Gauge<f64, AtomicU64>,
    sales: Counter,
    units_sold: Counter,
    elections_started: Counter,
    elections_won: Counter,
    epoch: Gauge<i64, AtomicI64>,
    trader: Gauge<i64, AtomicI64>,
    trading: Gauge<i64, AtomicI64>,
    commits: Histogram,
    store_errors: Family<FailureLabels, Counter>,
    outages: Counter,
    frames_sent: Counter,
    frames_received: Counter,
    frames_dropped: Counter,
    connections_refused: Counter,
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
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::<i64, AtomicI64>::default();
            registry.register(name, help, g.clone());
            g
        };
        let seconds = |registry: &mut Registry, name: &str, help: &str| {
            // 50 µs to about 13 s.
            let h = Histogram::new(exponential_buckets(0.000_05, 2.0, 19));
            registry.register(name, help, h.clone());
            h
        };
        let buys_sent = counter(
            &mut registry,
            "buys_sent",
            "Buy requests sent (re-sends not counted)",
        );
        let buys_answered = counter(&mut registry, "buys_answered", "Buy requests answered");
        let out_of_stock = counter(
            &mut registry,
            "out_of_stock",
            "Answers that said out of stock",
        );
        let response = seconds(
            &mut registry,
            "buy_response_seconds",
            "From a buy's first send to its answer",
        );
        let response_p50 = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "buy_response_p50_seconds",
            "Median buy response time over this life",
            response_p50.clone(),
        );
        let response_p99 = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "buy_response_p99_seconds",
            "99th percentile buy response time over this life",
            response_p99.clone(),
        );
        let sales = counter(
            &mut registry,
            "sales",
            "Sales made as trader (ledger entries)",
        );
        let units_sold = counter(
            &mut registry,
            "units_sold",
            "Units of this seller's goods sold",
        );
        let elections_started = counter(
            &mut registry,
            "elections_started",
            "Elections this peer started",
        );
        let elections_won = counter(
            &mut registry,
            "elections_won",
            "Terms this peer opened as trader",
        );
        let epoch = gauge(
            &mut registry,
            "epoch",
            "The epoch of the trader this peer follows or is",
        );
        let trader = gauge(
            &mut registry,
            "trader",
            "The trader this peer follows or is (0: none)",
        );
        let trading = gauge(
            &mut registry,
            "trading",
            "1 while this peer trades with its books open",
        );
        let commits = seconds(
            &mut registry,
            "commit_seconds",
            "From asking the store to commit a batch to its answer",
        );
        let store_errors = Family::<FailureLabels, Counter>::default();
        registry.register(
            "store_errors",
            "Loads and commits the store refused or failed",
            store_errors.clone(),
        );
        let outages = counter(
            &mut registry,
            "outages",
            "Outages of other peers seen to begin",
        );
        let frames_sent = counter(
            &mut registry,
            "frames_sent",
            "Frames handed to the transport's wire",
        );
        let frames_received = counter(&mut registry, "frames_received", "Frames received");
        let frames_dropped = counter(
            &mut registry,
            "frames_dropped",
            "Frames dropped: full queue, unreachable peer or fault injection",
        );
        let connections_refused = counter(
            &mut registry,
            "connections_refused",
            "Incoming connections closed for bad input (not a peer of this cluster)",
        );
        Arc::new(Self {
            registry,
            buys_sent,
            buys_answered,
            out_of_stock,
            response,
            response_p50,
            response_p99,
            sales,
            units_sold,
            elections_started,
            elections_won,
            epoch,
            trader,
            trading,
            commits,
            store_errors,
            outages,
            frames_sent,
            frames_received,
            frames_dropped,
            connections_refused,
            last: Mutex::new(Stats::default()),
        })
    }

    /// Counts one report of this node's peer; `latencies` are the response
    /// times of this life so far, for the percentile gauges.
    pub fn observe(&self, report: &Report, latencies: &Latencies) {
        match &report.event {
            Event::Asked { .. } => {
                self.buys_sent.inc();
            }
            Event::Answered {
                filled, latency, ..
            } => {
                self.buys_answered.inc();
                if *filled == 0 {
                    self.out_of_stock.inc();
                }
                self.response.observe(latency.as_secs_f64());
                self.response_p50.set(latencies.quantile(0.5).as_secs_f64());
                self.response_p99
                    .set(latencies.quantile(0.99).as_secs_f64());
            }
            Event::Sold(_) => {
                self.sales.inc();
            }
            Event::Credited(notice) => {
                self.units_sold.inc_by(u64::from(notice.quantity));
            }
            Event::ElectionStarted { .. } => {
                self.elections_started.inc();
            }
            Event::Coordinator { id, epoch } => {
                self.elections_won.inc();
                self.follow(id.0, epoch.0);
                self.trading.set(1);
            }
            Event::Following { trader, epoch } => {
                self.follow(trader.0, epoch.0);
                self.trading.set(0);
            }
            Event::SteppedDown { .. } => {
                self.trader.set(0);
                self.trading.set(0);
            }
            Event::DeskClosed { failure, .. } => {
                self.trading.set(0);
                let kind = match failure {
                    StoreFailure::Fenced { .. } => "fenced",
                    StoreFailure::Leased { .. } => "leased",
                    StoreFailure::Unavailable => "unavailable",
                    StoreFailure::Corrupt => "corrupt",
                };
                self.store_errors
                    .get_or_create(&vec![("failure".to_owned(), kind.to_owned())])
                    .inc();
            }
            Event::StoreUnavailable { .. } => {
                self.store_errors
                    .get_or_create(&vec![("failure".to_owned(), "unavailable".to_owned())])
                    .inc();
            }
            Event::Committed { latency, .. } => self.commits.observe(latency.as_secs_f64()),
            Event::OutageBegan { .. } => {
                self.outages.inc();
            }
            _ => {}
        }
    }

    fn follow(&self, trader: u32, epoch: u64) {
        self.trader.set(i64::from(trader));
        self.epoch.set(i64::try_from(epoch).unwrap_or(i64::MAX));
    }

    /// Brings the frame counters up to the transport's; returns how many
    /// more incoming connections it refused since the last refresh.
    pub fn refresh(&self, now: Stats) -> u64 {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dropped = |s: &Stats| s.dropped_full + s.dropped_unreachable + s.dropped_fault;
        self.frames_sent.inc_by(now.sent.saturating_sub(last.sent));
        self.frames_received
            .inc_by(now.received.saturating_sub(last.received));
        self.frames_dropped
            .inc_by(dropped(&now).saturating_sub(dropped(&last)));
        let refused = now.rejected.saturating_sub(last.rejected);
        self.connections_refused.inc_by(refused);
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
