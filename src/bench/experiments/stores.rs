//! The books of an in-process experiment: a fresh store of the kind its
//! scenario names, stocked in its sellers' names, and emptied again.

use std::{future::Future, path::Path, sync::Arc};

use bazaar_node::store::{MemStore, PgStore, SqliteStore, Store, StoreError};
use bazaar_protocol::PeerId;

use super::{ExperimentError, Setup, stock::StockedStore};
use crate::{books::BooksKind, workers::on_workers};

/// Which store an experiment opens, and for whom.
pub struct Fresh<'a> {
    /// The experiment, for errors.
    pub scenario: &'a str,
    /// The kind of store.
    pub kind: BooksKind,
    /// A SQLite store's folder, emptied first.
    pub dir: &'a Path,
    /// The sellers in whose names it is stocked (none: unstocked).
    pub sellers: &'a [PeerId],
}

/// A fresh store: in memory, SQLite in `fresh.dir` (emptied first), or
/// PostgreSQL in the database of `--postgres` (emptied first), stocked
/// in the names of `fresh.sellers`.
///
/// # Errors
/// [`ExperimentError::Store`] naming the scenario.
pub fn open(setup: &Setup<'_>, fresh: &Fresh<'_>) -> Result<Arc<StockedStore>, ExperimentError> {
    let failed = |source| ExperimentError::Store {
        scenario: fresh.scenario.into(),
        source,
    };
    let inner: Arc<dyn Store> = match fresh.kind {
        BooksKind::Mem => Arc::new(MemStore::new()),
        BooksKind::Sqlite => {
            remove_dir(fresh.dir);
            Arc::new(SqliteStore::open(fresh.dir).map_err(failed)?)
        }
        BooksKind::Postgres => {
            let url = setup.postgres.unwrap_or_default();
            // The sync client runs a runtime of its own, which may not
            // start on an async worker: connect on a plain thread.
            let store = std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        empty_postgres(url)?;
                        PgStore::connect(url)
                    })
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            Arc::new(store.map_err(failed)?)
        }
    };
    Ok(Arc::new(StockedStore::new(inner, fresh.sellers)))
}

/// A scenario of an in-process experiment: a market whose books are in
/// a fresh store of their own.
pub trait InProcess: Clone + Send + 'static {
    /// Its name, the kind of its store, and the sellers the store is
    /// stocked for (none: unstocked); no folder yet.
    fn books(&self) -> (&str, BooksKind, Vec<PeerId>);
}

/// Measures each of `scenarios` in order, on the async workers, each with
/// a fresh store in `store-{folder}-{i}` of the output folder (removed
/// after, whatever the outcome), naming it on the progress bar and
/// counting it done.
///
/// # Errors
/// The first store's or measurement's that fails.
pub async fn each<S, T, F>(
    setup: &Setup<'_>,
    folder: &str,
    scenarios: &[S],
    measure: impl Fn(S, Arc<StockedStore>) -> F,
) -> Result<Vec<T>, ExperimentError>
where
    S: InProcess,
    T: Send + 'static,
    F: Future<Output = Result<T, ExperimentError>> + Send + 'static,
{
    let mut results = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        let (name, kind, sellers) = scenario.books();
        setup.bar.set_message(name.to_owned());
        let fresh = Fresh {
            scenario: name,
            kind,
            dir: &setup.out.join(format!("store-{folder}-{i}")),
            sellers: &sellers,
        };
        let store = open(setup, &fresh)?;
        let result = on_workers(measure(scenario.clone(), store)).await;
        remove_dir(fresh.dir);
        results.push(result?);
        setup.bar.inc(1);
    }
    Ok(results)
}

/// Drops the bazaar's tables (and views) in the bench's database, so that
/// each experiment starts from an empty store.
///
/// # Errors
/// [`StoreError::Io`] if the server cannot be reached or refuses.
pub fn empty_postgres(url: &str) -> Result<(), StoreError> {
    let io = |e: postgres::Error| StoreError::Io {
        path: url.into(),
        detail: format!(
            "cannot empty the bench's database: {}",
            e.as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().into())
        ),
    };
    let mut client = postgres::Client::connect(url, postgres::NoTls).map_err(io)?;
    // The batches first: their views (offers, requests, sales and the
    // reports') go with them; then the tables of an older schema.
    client
        .batch_execute(
            "DROP TABLE IF EXISTS batches CASCADE; \
             DROP TABLE IF EXISTS sales, requests, offers, checkpoints, meta CASCADE",
        )
        .map_err(io)
}

/// Removes a durable store's folder; one that is not there is fine.
pub fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
