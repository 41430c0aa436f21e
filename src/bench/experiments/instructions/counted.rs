//! The market that `bazaar count-buys` runs under callgrind: every peer a
//! task over the mem transport, the books in a stocked [`MemStore`], until
//! exactly N buys are answered. Nothing in it may depend on the wall clock,
//! so that two runs execute the same instructions: the caller drives it on
//! a current-thread runtime, and its timeouts are so long that none fires
//! even under valgrind's slowdown.

use std::{sync::Arc, time::Duration};

use tokio::sync::mpsc;

use bazaar_node::{
    Event, PeerConfig, Timing,
    market::LocalMarket,
    net::TransportKind,
    store::{MemStore, Store},
};
use bazaar_transport::TransportError;

use crate::{
    bench::{
        experiments::{peers, stock::StockedStore},
        plan::{CountingMarket, LoadScenario},
    },
    books::BooksKind,
};

/// How much longer than the defaults every timeout of a counted market
/// is: the heartbeat every 500 s, a request given up after 3,000 s. A
/// timer that fired would add instructions that depend on how slow the
/// run was.
const STRETCH: u32 = 10_000;

/// How long a counted run may take before it gives up: far longer than
/// any run under callgrind should, so that it never fires in one that
/// works.
const PATIENCE: Duration = Duration::from_secs(600);

/// Why a counted run did not reach its buys.
#[derive(Debug, thiserror::Error)]
pub enum CountingError {
    /// The transports could not start.
    #[error("the mem transport cannot start: {0}")]
    Transport(#[from] TransportError),
    /// The market stalled: no buy answered for a long time.
    #[error("only {answered} of {wanted} buys were answered in {patience:?}")]
    Stalled {
        /// Buys answered.
        answered: u64,
        /// Buys asked for.
        wanted: u64,
        /// How long the run waited.
        patience: Duration,
    },
}

/// Runs `market` until `buys` buys are answered (all buyers together),
/// then stops every peer. Returns the buys answered, which may pass
/// `buys` by the replies already on their way.
///
/// # Errors
/// A [`CountingError`] if the transports cannot start or the market
/// stalls.
pub async fn run(market: CountingMarket, buys: u64, seed: u64) -> Result<u64, CountingError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let configs = configs(market, seed);
    let running =
        LocalMarket::start_with(TransportKind::Mem, configs, store(market), seed, tx).await?;
    let mut answered = 0;
    let counted = tokio::time::timeout(PATIENCE, async {
        while answered < buys {
            match rx.recv().await {
                Some(report) if matches!(report.event, Event::Answered { .. }) => {
                    answered += 1;
                }
                Some(_) => {}
                None => break,
            }
        }
    })
    .await;
    running.stop().await;
    match counted {
        Ok(()) if answered >= buys => Ok(answered),
        _ => Err(CountingError::Stalled {
            answered,
            wanted: buys,
            patience: PATIENCE,
        }),
    }
}

/// Every peer's configuration: buyers first, the sellers after, as in
/// the throughput experiments, with every timeout stretched.
fn configs(market: CountingMarket, seed: u64) -> Vec<PeerConfig> {
    peers::load(&as_load(market), seed)
        .into_iter()
        .map(|config| PeerConfig {
            timing: patient_timing(),
            ..config
        })
        .collect()
}

/// The books: in memory, stocked in the sellers' names.
fn store(market: CountingMarket) -> Arc<dyn Store> {
    let sellers = as_load(market).seller_ids();
    Arc::new(StockedStore::new(Arc::new(MemStore::new()), &sellers))
}

/// The counted market as a point of the load curve, over mem.
fn as_load(market: CountingMarket) -> LoadScenario {
    LoadScenario {
        name: "counted".into(),
        transport: TransportKind::Mem,
        store: BooksKind::Mem,
        buyers: market.buyers,
        sellers: market.sellers,
        warmup: Duration::ZERO,
        window: Duration::ZERO,
    }
}

/// The default timing with no think time and every timeout stretched
/// [`STRETCH`]-fold.
fn patient_timing() -> Timing {
    let mut t = Timing::default();
    t.heartbeat_interval *= STRETCH;
    t.heartbeat_timeout *= STRETCH;
    t.election.alive_timeout *= STRETCH;
    t.election.coordinator_timeout *= STRETCH;
    t.request_timeout *= STRETCH;
    t.lease *= STRETCH;
    t.think = Duration::ZERO;
    t
}
