//! A node's metrics in groups, each registered in the order `/metrics`
//! lists it: its buys, its sales, its elections and terms, its store, its
//! links to the other peers.

use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::{
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Metric, Registry},
};

/// Labels of a store failure: `failure="fenced"`.
pub(super) type FailureLabels = Vec<(String, String)>;

/// Registers metrics, each under its name and help, in the order asked.
pub(super) struct Registrar<'a>(pub(super) &'a mut Registry);

impl Registrar<'_> {
    /// A counter, gauge or family, at zero.
    fn metric<M: Metric + Clone + Default>(&mut self, name: &str, help: &str) -> M {
        let metric = M::default();
        self.0.register(name, help, metric.clone());
        metric
    }

    /// A histogram of seconds, from 50 µs to about 13 s.
    fn seconds(&mut self, name: &str, help: &str) -> Histogram {
        let histogram = Histogram::new(exponential_buckets(0.000_05, 2.0, 19));
        self.0.register(name, help, histogram.clone());
        histogram
    }
}

/// This peer's buys, as a buyer.
pub(super) struct BuyMetrics {
    pub(super) sent: Counter,
    pub(super) answered: Counter,
    pub(super) out_of_stock: Counter,
    pub(super) response: Histogram,
    pub(super) response_p50: Gauge<f64, AtomicU64>,
    pub(super) response_p99: Gauge<f64, AtomicU64>,
}

impl BuyMetrics {
    pub(super) fn register(r: &mut Registrar<'_>) -> Self {
        Self {
            sent: r.metric("buys_sent", "Buy requests sent (re-sends not counted)"),
            answered: r.metric("buys_answered", "Buy requests answered"),
            out_of_stock: r.metric("out_of_stock", "Answers that said out of stock"),
            response: r.seconds(
                "buy_response_seconds",
                "From a buy's first send to its answer",
            ),
            response_p50: r.metric(
                "buy_response_p50_seconds",
                "Median buy response time over this incarnation",
            ),
            response_p99: r.metric(
                "buy_response_p99_seconds",
                "99th percentile buy response time over this incarnation",
            ),
        }
    }
}

/// What sold: as trader, and of this peer's own goods, as a seller.
pub(super) struct SaleMetrics {
    pub(super) as_trader: Counter,
    pub(super) units_sold: Counter,
}

impl SaleMetrics {
    pub(super) fn register(r: &mut Registrar<'_>) -> Self {
        Self {
            as_trader: r.metric("sales", "Sales made as trader (ledger entries)"),
            units_sold: r.metric("units_sold", "Units of this seller's goods sold"),
        }
    }
}

/// Elections, and the trader this peer follows or is.
pub(super) struct TermMetrics {
    pub(super) elections_started: Counter,
    pub(super) elections_won: Counter,
    pub(super) epoch: Gauge<i64, AtomicI64>,
    pub(super) trader: Gauge<i64, AtomicI64>,
    pub(super) trading: Gauge<i64, AtomicI64>,
}

impl TermMetrics {
    pub(super) fn register(r: &mut Registrar<'_>) -> Self {
        Self {
            elections_started: r.metric("elections_started", "Elections this peer started"),
            elections_won: r.metric("elections_won", "Terms this peer opened as trader"),
            epoch: r.metric("epoch", "The epoch of the trader this peer follows or is"),
            trader: r.metric("trader", "The trader this peer follows or is (0: none)"),
            trading: r.metric("trading", "1 while this peer trades with its books open"),
        }
    }
}

/// The store's answers to this peer as trader.
pub(super) struct StoreMetrics {
    pub(super) commits: Histogram,
    pub(super) errors: Family<FailureLabels, Counter>,
}

impl StoreMetrics {
    pub(super) fn register(r: &mut Registrar<'_>) -> Self {
        Self {
            commits: r.seconds(
                "commit_seconds",
                "From asking the store to commit a batch to its answer",
            ),
            errors: r.metric(
                "store_errors",
                "Loads and commits the store refused or failed",
            ),
        }
    }
}

/// This peer's links to the others: outages, frames, refused connections.
pub(super) struct LinkMetrics {
    pub(super) outages: Counter,
    pub(super) frames_sent: Counter,
    pub(super) frames_received: Counter,
    pub(super) frames_dropped: Counter,
    pub(super) connections_refused: Counter,
}

impl LinkMetrics {
    pub(super) fn register(r: &mut Registrar<'_>) -> Self {
        Self {
            outages: r.metric("outages", "Outages of other peers seen to begin"),
            frames_sent: r.metric("frames_sent", "Frames handed to the transport's wire"),
            frames_received: r.metric("frames_received", "Frames received"),
            frames_dropped: r.metric(
                "frames_dropped",
                "Frames dropped: full queue, unreachable peer or fault injection",
            ),
            connections_refused: r.metric(
                "connections_refused",
                "Incoming connections closed for bad input (not a peer of this cluster)",
            ),
        }
    }
}
