//! The one store layer: the books' cache, the commit path, checkpoints,
//! the lease rule and the reports, written once over a [`Backend`].
//!
//! **The clock rule.** Every time the store keeps (a lease's end, a
//! checkpoint's age, a batch's commit time) is read from the store's own
//! clock, in the statement that uses it: SQLite's `julianday('now')` on the
//! database's host, PostgreSQL's `clock_timestamp()` on its server; never
//! a peer's. A checkpoint is due by time when the store's clock at the last
//! commit is [`CheckpointPolicy::every`] past the checkpoint's own time.

use std::sync::{Mutex, MutexGuard};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::Epoch;

use super::{
    CheckpointPolicy, Claim, Store, StoreError,
    backend::{Append, Backend, Tx},
    facts::Facts,
    report,
};

/// A durable [`Store`]: the books in a database, reached through a
/// backend (the crate's private `Backend` trait: a connection, its
/// statements, and the proof that a trader lives).
/// [`SqliteStore`](super::SqliteStore) and [`PgStore`](super::PgStore)
/// are this store over their backends.
///
/// It keeps the books it last loaded or committed in memory, so that a
/// commit checks the batch against them and writes one row, without
/// reading anything back. The books are loaded from the newest checkpoint
/// and the batches after it, and again whenever another trader may have
/// committed since (each open and reload checks). A commit writes a new
/// checkpoint in its own transaction when its [`CheckpointPolicy`] says
/// so.
pub struct DurableStore<B> {
    policy: CheckpointPolicy,
    cached: Mutex<CachedBackend<B>>,
}

impl<B> std::fmt::Debug for DurableStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableStore")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The backend and the books it last loaded or committed, behind one
/// lock: a call that fails forgets the books.
struct CachedBackend<B> {
    backend: B,
    /// The books as of batch `last_seq`, if known.
    cache: Option<Cached>,
}

/// The books as the store last loaded or committed them.
#[derive(Debug)]
struct Cached {
    book: Book,
    /// The term the books were last checked against the database for:
    /// its trader may commit without reading them back, since the fence
    /// lets nobody else commit in its term.
    term: Epoch,
    /// The last batch the books include.
    last_seq: i64,
    /// The last batch of the newest checkpoint, and its time (store clock).
    checkpoint: (i64, i64),
    /// Sales committed since the newest checkpoint.
    tail_sales: u64,
    /// The store's clock at the last load or commit (ms).
    now_ms: i64,
}

impl<B: Backend> DurableStore<B> {
    /// The store over `backend`, checkpointing by `policy`.
    pub(crate) fn new(backend: B, policy: CheckpointPolicy) -> Self {
        Self {
            policy,
            cached: Mutex::new(CachedBackend {
                backend,
                cache: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CachedBackend<B>> {
        match self.cached.lock() {
            Ok(cached) => cached,
            Err(poisoned) => {
                // A panic mid-call rolled its transaction back, but may
                // have left the cached books half-changed: forget them.
                let mut cached = poisoned.into_inner();
                cached.cache = None;
                self.cached.clear_poison();
                cached
            }
        }
    }

    /// Runs `call` on the backend and the cache; a failure forgets the
    /// cached books (they may be ahead of the database, or half-changed)
    /// and is told to the backend.
    fn call<T>(
        &self,
        call: impl FnOnce(&mut B, &mut Option<Cached>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut cached = self.lock();
        let CachedBackend { backend, cache } = &mut *cached;
        let result = call(backend, cache);
        if let Err(e) = &result {
            if !matches!(e, StoreError::Fenced { .. } | StoreError::Leased { .. }) {
                *cache = None;
            }
            backend.failed(e);
        }
        result
    }

    /// The store as errors and reports name it.
    pub(super) fn name(&self) -> std::path::PathBuf {
        self.lock().backend.name().to_owned()
    }

    /// Runs `read` over the store's tables in one consistent snapshot.
    fn records<T>(
        &self,
        read: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.call(|backend, _| {
            let mut tx = backend.read()?;
            let value = read(&mut *tx)?;
            tx.finish()?;
            Ok(value)
        })
    }

    /// Audits the books from the whole history:
    ///
    /// - checks the storage itself where it can (SQLite: every page);
    /// - replays every committed batch from an empty book, checking that
    ///   each fits, that batches follow each other in epoch order with
    ///   none missing, and that the plain rows (`offers`, `requests`,
    ///   `sales`) of each batch say what the batch says;
    /// - checks the market's invariants on the result ([`Book::audit`]:
    ///   goods and money conserved, answers sound);
    /// - checks that the newest checkpoint and the batches after it make
    ///   the very same books (what a new trader opens);
    /// - sums the rows in SQL and holds the books to them.
    ///
    /// Returns the report, one finding a line, and whether it passed.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the store cannot be read;
    /// [`StoreError::Corrupt`] if it is damaged beyond auditing.
    pub fn audit_report(&self) -> Result<(String, bool), StoreError> {
        self.records(|tx| report::audit(tx))
    }

    /// Calls `each` with every sale, one line at a time in ledger order,
    /// in the lab's format after the sale's epoch and batch (`epoch 2
    /// batch 17: peer 3 bought 4 fish from peer 2`), a page at a time
    /// however long the history. Stops when `each` returns false.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the store cannot be read;
    /// [`StoreError::Corrupt`] if a stored row is damaged.
    pub fn for_each_ledger_line(&self, each: impl FnMut(&str) -> bool) -> Result<(), StoreError> {
        self.records(|tx| report::ledger(tx, each))
    }

    /// Every ledger line (see [`DurableStore::for_each_ledger_line`]):
    /// for tests and small stores.
    ///
    /// # Errors
    /// As [`DurableStore::for_each_ledger_line`].
    pub fn ledger_lines(&self) -> Result<Vec<String>, StoreError> {
        let mut lines = Vec::new();
        self.for_each_ledger_line(|line| {
            lines.push(line.to_owned());
            true
        })?;
        Ok(lines)
    }
}

impl<B: Backend> Store for DurableStore<B> {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        self.call(|backend, cache| {
            let claimed = backend.write().and_then(|mut tx| {
                let book = claim_in(&mut *tx, cache, claim, pricing)?;
                tx.finish()?;
                Ok(book)
            });
            backend.settle_claim(claim.epoch, claimed.is_ok());
            claimed
        })
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        self.call(|backend, cache| {
            // The commit whose outcome is unknown left the cache behind
            // or ahead: read the books from the database.
            *cache = None;
            let mut tx = backend.read()?;
            let meta = tx.meta()?;
            let pricing = meta.term(epoch)?;
            let book = load(&mut *tx, cache, pricing, Some(epoch), meta.now_ms)?
                .book
                .clone();
            tx.finish()?;
            // Retries are answered from these books: only from what the
            // database holds as it holds a commit.
            match backend.confirm(epoch) {
                Ok(true) => Ok(book),
                Ok(false) => {
                    *cache = None;
                    Err(StoreError::Fenced {
                        epoch,
                        newest: newest(backend)?,
                    })
                }
                Err(e) => {
                    *cache = None;
                    Err(e)
                }
            }
        })
    }

    fn renew(&self, epoch: Epoch, lease: std::time::Duration) -> Result<(), StoreError> {
        self.call(|backend, _| {
            if backend.renew(epoch, millis(lease))? {
                return Ok(());
            }
            Err(StoreError::Fenced {
                epoch,
                newest: newest(backend)?,
            })
        })
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        let policy = self.policy;
        self.call(|backend, cache| commit_in(backend, cache, policy, epoch, batch))
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        self.call(|backend, cache| {
            let mut tx = backend.read()?;
            let meta = tx.meta()?;
            let Some(pricing) = meta.pricing else {
                return Ok(None);
            };
            let book = load(&mut *tx, cache, pricing, None, meta.now_ms)?
                .book
                .clone();
            tx.finish()?;
            Ok(Some(book))
        })
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        self.call(|backend, _| newest(backend))
    }
}

/// A claim, in one write transaction: the fence, the lease, the prices
/// the first time, then the books.
fn claim_in(
    tx: &mut dyn Tx,
    cache: &mut Option<Cached>,
    claim: Claim,
    pricing: &Pricing,
) -> Result<Book, StoreError> {
    let meta = tx.meta()?;
    if claim.epoch <= meta.epoch {
        return Err(meta.fenced(claim.epoch));
    }
    if let Err(leased) = meta.lease.admits(claim.trader, meta.now_ms) {
        // A live trader holds the books unless it is provably gone.
        if !tx.holder_is_gone(meta.epoch)? {
            return Err(leased);
        }
        tracing::info!(
            "{}: the lease of peer {} (epoch {}) is void: its holder is gone",
            tx.name().display(),
            meta.lease.holder,
            meta.epoch.0,
        );
    }
    // Taken before the claim is written, so that the meta row never names
    // a trader that does not hold its proof of presence.
    tx.take_holder(claim.epoch)?;
    let pricing = match meta.pricing {
        Some(stored) => stored,
        None => {
            pricing.validate()?;
            tx.set_pricing(pricing)?;
            *pricing
        }
    };
    tx.claim(&claim, meta.now_ms.saturating_add(millis(claim.lease)))?;
    Ok(load(tx, cache, pricing, Some(claim.epoch), meta.now_ms)?
        .book
        .clone())
}

/// The commit path: one row (and a checkpoint when due), fenced in the
/// database, with the books checked against the cache.
fn commit_in<B: Backend>(
    backend: &mut B,
    cache: &mut Option<Cached>,
    policy: CheckpointPolicy,
    epoch: Epoch,
    batch: &Batch,
) -> Result<(), StoreError> {
    if batch.is_empty() || cache.as_ref().is_none_or(|c| c.term != epoch) {
        // The books are not known for this term: check it and load them.
        let mut tx = backend.read()?;
        let meta = tx.meta()?;
        let pricing = meta.term(epoch)?;
        load(&mut *tx, cache, pricing, Some(epoch), meta.now_ms)?;
        tx.finish()?;
        if batch.is_empty() {
            return Ok(());
        }
    }
    let cached = cache.as_mut().expect("loaded for this term above");
    let first_sale = cached.book.totals().sales;
    cached.book.apply(batch)?;
    let seq = cached.last_seq + 1;
    let tail_sales = cached.tail_sales + batch.sales.len() as u64;
    let since = |a: i64, b: i64| u64::try_from(a - b).unwrap_or(0);
    let due = policy.due(
        since(seq, cached.checkpoint.0),
        tail_sales,
        since(cached.now_ms, cached.checkpoint.1),
    );
    let name = || backend.name().to_owned();
    let encoded = encode(batch, name, || format!("batch {seq}"))?;
    let checkpoint = match due {
        true => Some(encode(&cached.book, name, || {
            format!("the checkpoint at batch {seq}")
        })?),
        false => None,
    };
    let facts = Facts::of(batch, first_sale);
    let append = Append {
        seq,
        batch: &encoded,
        facts: &facts,
        checkpoint: checkpoint.as_deref(),
    };
    let Some(at_ms) = backend.append(epoch, &append)? else {
        // The cached books took a batch the database did not.
        *cache = None;
        return Err(StoreError::Fenced {
            epoch,
            newest: newest(backend)?,
        });
    };
    cached.last_seq = seq;
    cached.tail_sales = tail_sales;
    cached.now_ms = at_ms;
    if due {
        cached.checkpoint = (seq, at_ms);
        cached.tail_sales = 0;
    }
    Ok(())
}

/// The newest epoch the store has seen, read on its own.
fn newest<B: Backend>(backend: &mut B) -> Result<Epoch, StoreError> {
    let mut tx = backend.read()?;
    let epoch = tx.meta()?.epoch;
    tx.finish()?;
    Ok(epoch)
}

/// The books as of the last committed batch, read in `tx` (checked there
/// for the term of `term`, if given): the cached ones if no batch was
/// committed since (by this or another process), else loaded from the
/// newest checkpoint and the batches after it.
fn load<'c>(
    tx: &mut dyn Tx,
    cache: &'c mut Option<Cached>,
    pricing: Pricing,
    term: Option<Epoch>,
    now_ms: u64,
) -> Result<&'c mut Cached, StoreError> {
    let now_ms = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let last_seq = tx.last_seq()?;
    if let Some(cached) = cache.as_mut().filter(|c| c.last_seq == last_seq) {
        cached.term = term.unwrap_or(cached.term);
        cached.now_ms = now_ms;
        return Ok(cache.as_mut().expect("just checked"));
    }
    *cache = None;
    let (from, made, mut book) = match tx.checkpoint()? {
        Some(checkpoint) => {
            let book = postcard::from_bytes(&checkpoint.book).map_err(|e| {
                tx.corrupt(format!(
                    "the checkpoint at batch {} does not decode: {e}",
                    checkpoint.seq
                ))
            })?;
            (checkpoint.seq, checkpoint.made_ms, book)
        }
        // No checkpoint yet: time counts from now.
        None => (
            0,
            now_ms,
            Book::new(pricing).map_err(|e| tx.corrupt(format!("stored pricing: {e}")))?,
        ),
    };
    if from > last_seq {
        return Err(tx.corrupt(format!(
            "a checkpoint at batch {from} but batches end at {last_seq}"
        )));
    }
    let name = tx.name();
    let corrupt = |detail: String| StoreError::Corrupt {
        path: name.clone(),
        detail,
    };
    let mut tail_sales = 0;
    let mut replayed = from;
    tx.tail(from, &mut |seq, blob| {
        let batch: Batch = postcard::from_bytes(blob)
            .map_err(|e| corrupt(format!("batch {seq} does not decode: {e}")))?;
        tail_sales += batch.sales.len() as u64;
        book.apply(&batch)
            .map_err(|e| corrupt(format!("batch {seq} does not fit the books: {e}")))?;
        replayed = seq;
        Ok(())
    })?;
    Ok(cache.insert(Cached {
        book,
        // Books read outside a term are trusted by none.
        term: term.unwrap_or(Epoch(0)),
        last_seq: replayed,
        checkpoint: (from, made),
        tail_sales,
        now_ms,
    }))
}

/// `value`, postcard-encoded; `what` names it in the error.
fn encode<T: serde::Serialize>(
    value: &T,
    name: impl FnOnce() -> std::path::PathBuf,
    what: impl FnOnce() -> String,
) -> Result<Vec<u8>, StoreError> {
    postcard::to_stdvec(value).map_err(|e| StoreError::Io {
        path: name(),
        detail: format!("cannot encode {}: {e}", what()),
    })
}

/// Milliseconds, saturating.
pub(super) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
