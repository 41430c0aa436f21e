//! The durable stores side by side: commits of the same batches (one
//! restocking deposit and 16 one-unit buys from distinct buyers, as a busy
//! trader serves them) to SQLite in the output folder and, when given, to
//! PostgreSQL; only `commit` is timed. PostgreSQL's floor beside it is in
//! `floor`.

mod floor;

use std::time::Instant;

use bazaar_market::{Batch, Book, Pricing};
use bazaar_node::store::{Claim, Store, StoreError};
use bazaar_protocol::{Buy, Epoch, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use serde::Serialize;

use super::{
    ExperimentError, Setup, Summary,
    stores::{self, Fresh},
    tasks,
};
use crate::{books::BooksKind, stats::Latencies};

/// Buys per committed batch.
pub const BUYS_PER_BATCH: u32 = 16;

/// What one store's commits measured.
#[derive(Debug, Clone, Serialize)]
pub struct CommitResult {
    /// SQLite or PostgreSQL.
    pub store: BooksKind,
    /// Buys in each batch.
    pub buys_per_batch: u32,
    /// The commits' latencies.
    pub commit: Summary,
    /// Buys made durable per second by commits back to back.
    pub buys_per_s: f64,
    /// The store's floor measured beside it, as many rounds on the same
    /// server: for PostgreSQL a single-row `INSERT` in its own
    /// transaction, in a session with the store's settings; `None` for
    /// SQLite (its floor is the disk's,
    /// [`FSYNC`](super::floors::FSYNC)).
    pub floor: Option<Summary>,
}

/// The durable stores' commits, SQLite's and (with `--postgres`)
/// PostgreSQL's, each beside its floor: for PostgreSQL a single-row
/// `INSERT` in its own transaction, as many rounds, on the same server.
///
/// # Errors
/// An [`ExperimentError`] if a store or the floor commit fails.
pub async fn run(setup: &Setup<'_>) -> Result<Vec<CommitResult>, ExperimentError> {
    let (bar, rounds) = (setup.bar, setup.plan.commits);
    let mut commits = Vec::new();
    for kind in setup.plan.commit_stores() {
        let name = format!("{kind} commits");
        bar.set_message(name.clone());
        let dir = setup.out.join("store-commits");
        let fresh = Fresh {
            scenario: &name,
            kind,
            dir: &dir,
            sellers: &[],
        };
        let store = stores::open(setup, &fresh)?;
        let measured = tasks::blocking(&name, move || measure(kind, store.as_ref(), rounds));
        let mut result = measured.await?.map_err(|source| ExperimentError::Store {
            scenario: name,
            source,
        })?;
        stores::remove_dir(&dir);
        if kind == BooksKind::Postgres {
            bar.set_message("postgres floor commits");
            let url = setup.postgres.unwrap_or_default().to_owned();
            let floor = tasks::blocking("postgres floor commits", move || {
                floor::measure(&url, rounds)
            });
            result.floor = Some(floor.await?.map_err(ExperimentError::FloorCommit)?);
        }
        commits.push(result);
        bar.inc(1);
    }
    Ok(commits)
}

/// Commits `rounds` batches to `store` (opened at epoch 1) and times each.
///
/// # Errors
/// The store's error, if a commit or the open fails.
pub fn measure(
    kind: BooksKind,
    store: &dyn Store,
    rounds: u32,
) -> Result<CommitResult, StoreError> {
    let mut book = store.open(Claim::unleased(Epoch(1)), &Pricing::default())?;
    let mut latencies = Latencies::default();
    let started = Instant::now();
    for round in 1..=u64::from(rounds) {
        let batch = next(&mut book, round);
        let at = Instant::now();
        store.commit(Epoch(1), &batch)?;
        latencies.record(at.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(CommitResult {
        store: kind,
        buys_per_batch: BUYS_PER_BATCH,
        commit: Summary::from(&latencies),
        buys_per_s: f64::from(rounds) * f64::from(BUYS_PER_BATCH) / secs.max(1e-9),
        floor: None,
    })
}

/// The next batch: a deposit of as many fish as the buys take, then the
/// buys.
fn next(book: &mut Book, round: u64) -> Batch {
    let mut offers = [(
        Timestamp::new(round, PeerId(1)),
        Offer {
            id: OfferId {
                seller: PeerId(1),
                seq: round,
            },
            product: Product::Fish,
            quantity: BUYS_PER_BATCH,
        },
    )];
    let mut buys: Vec<(Timestamp, Buy)> = (0..BUYS_PER_BATCH)
        .map(|i| {
            let buyer = PeerId(2 + i);
            (
                Timestamp::new(round, buyer),
                Buy {
                    id: RequestId { buyer, seq: round },
                    product: Product::Fish,
                    quantity: 1,
                },
            )
        })
        .collect();
    book.serve(&mut offers, &mut buys)
}
