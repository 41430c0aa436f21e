//! The history experiment: how the cost of opening the books, and the size
//! of the live state a trader holds, change with the length of the market's
//! history. Stores of growing histories are written directly, batch by
//! batch, through the real SQLite store (no network); then a new trader
//! opens each one as it would at a failover.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use bazaar_market::{Book, Pricing};
use bazaar_node::store::{Claim, SqliteStore, Store, StoreError};
use bazaar_protocol::{Buy, Epoch, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use serde::Serialize;

use super::{ExperimentError, Setup, tasks};

/// Buyers and sellers of the written histories: the live state's size
/// depends on them, not on the history.
const BUYERS: u32 = 16;
const SELLERS: u32 = 8;

/// Sales per written batch: large, so that ten million sales take a
/// thousand commits rather than a million.
const SALES_PER_BATCH: u64 = 5_000;

/// What one history measured.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryResult {
    /// Sales in the history.
    pub sales: u64,
    /// Batches committed.
    pub batches: u64,
    /// Seconds it took to write the history.
    pub build_s: f64,
    /// Size of the database file, bytes, where the system tells it.
    pub file_bytes: Option<u64>,
    /// A peer's process starting: connecting to the store (with its
    /// integrity check on small files), in milliseconds.
    pub connect_ms: f64,
    /// A new trader opening the books at a failover (fence, newest
    /// checkpoint, the batches after it), in milliseconds.
    pub open_ms: f64,
    /// The live state the trader then holds, postcard-encoded, in bytes.
    pub book_bytes: Option<u64>,
}

/// Every history of the plan, shortest first, each written in the output
/// folder and removed after.
///
/// # Errors
/// [`ExperimentError::Store`] if a store cannot be written or read.
pub async fn run(setup: &Setup<'_>) -> Result<Vec<HistoryResult>, ExperimentError> {
    let mut results = Vec::new();
    for &sales in &setup.plan.history {
        let name = format!("history of {sales} sales");
        setup.bar.set_message(name.clone());
        let dir = setup.out.join(format!("store-history-{sales}"));
        let measured = tasks::blocking(&name, move || measure(&dir, sales)).await?;
        results.push(measured.map_err(|source| ExperimentError::Store {
            scenario: name,
            source,
        })?);
        setup.bar.inc(1);
    }
    Ok(results)
}

/// Writes a history of `sales` sales into a new store in `dir`, then
/// measures a new trader opening it.
///
/// # Errors
/// A [`StoreError`] if the store cannot be written or read.
pub fn measure(dir: &Path, sales: u64) -> Result<HistoryResult, StoreError> {
    let _ = std::fs::remove_dir_all(dir);
    let started = Instant::now();
    let batches = {
        let store = SqliteStore::open(dir)?;
        write(&store, sales)?
    };
    let build_s = started.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(dir.join("bazaar.db"))
        .ok()
        .map(|m| m.len());

    let connecting = Instant::now();
    let store = SqliteStore::open(dir)?;
    let connect_ms = ms(connecting.elapsed());
    let opening = Instant::now();
    let book = store.open(Claim::unleased(Epoch(2)), &Pricing::default())?;
    let open_ms = ms(opening.elapsed());
    assert_eq!(book.totals().sales, sales, "the books hold the history");
    let book_bytes = postcard::to_stdvec(&book).ok().map(|b| b.len() as u64);
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok(HistoryResult {
        sales,
        batches,
        build_s,
        file_bytes,
        connect_ms,
        open_ms,
        book_bytes,
    })
}

/// Commits batches of [`SALES_PER_BATCH`] one-unit buys, each filled by one
/// sale, with each seller restocking in turn; returns the batches written.
fn write(store: &SqliteStore, sales: u64) -> Result<u64, StoreError> {
    let epoch = Epoch(1);
    let mut book: Book = store.open(Claim::unleased(epoch), &Pricing::default())?;
    let mut clock = 0u64;
    let mut seq = 0u64;
    let mut offer_seq = 0u64;
    let mut batches = 0;
    let mut written = 0;
    let mut offers = Vec::new();
    let mut buys = Vec::new();
    while written < sales {
        let n = SALES_PER_BATCH.min(sales - written);
        offers.clear();
        buys.clear();
        offer_seq += 1;
        let seller = PeerId(1 + (batches % u64::from(SELLERS)) as u32);
        clock += 1;
        offers.push((
            Timestamp::new(clock, seller),
            Offer {
                id: OfferId {
                    seller,
                    seq: offer_seq,
                },
                product: Product::Fish,
                quantity: u32::try_from(n).unwrap_or(u32::MAX),
            },
        ));
        for i in 0..n {
            let buyer = PeerId(100 + (i % u64::from(BUYERS)) as u32);
            seq += 1;
            clock += 1;
            buys.push((
                Timestamp::new(clock, buyer),
                Buy {
                    id: RequestId { buyer, seq },
                    product: Product::Fish,
                    quantity: 1,
                },
            ));
        }
        let batch = book.serve(&mut offers, &mut buys);
        store.commit(epoch, &batch)?;
        batches += 1;
        written += batch.sales.len() as u64;
    }
    Ok(batches)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
