//! Books in memory, shared by the peers of one process: what a disk would
//! be to them. They survive a peer's crash, not the process's.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::Epoch;

use super::{Claim, Store, StoreError, lease::Lease};

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An in-memory [`Store`]. Clones share the same books.
///
/// Like the durable stores it keeps a checkpoint of the live state and the
/// batches committed after it, and opening the books costs the checkpoint
/// plus that tail: its memory does not grow with the market's history.
/// Its leases run on its [`StoreClock`]: the process's monotonic clock, or
/// a simulated one.
#[derive(Clone)]
pub struct MemStore {
    stored: Arc<Mutex<StoredBooks>>,
    clock: StoreClock,
}

impl std::fmt::Debug for MemStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemStore").finish_non_exhaustive()
    }
}

impl Default for MemStore {
    fn default() -> Self {
        Self::new()
    }
}

/// The clock a [`MemStore`] keeps its leases by: milliseconds since some
/// start, never going back.
#[derive(Clone)]
pub struct StoreClock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl StoreClock {
    /// The process's monotonic clock, from now.
    pub fn monotonic() -> Self {
        let start = std::time::Instant::now();
        Self(Arc::new(move || {
            u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
        }))
    }

    /// A clock that reads `now` (milliseconds): a simulator's.
    pub fn from_fn(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    pub(crate) fn now_ms(&self) -> u64 {
        (self.0)()
    }
}

/// The books as the store holds them: the newest checkpoint and the
/// batches after it, the fence's epoch and the lease, and its counts.
#[derive(Debug, Default)]
struct StoredBooks {
    epoch: Epoch,
    lease: Lease,
    /// The books as of the last checkpoint, once any trader opened them.
    checkpoint: Option<Book>,
    /// Batches committed since the checkpoint.
    tail: Vec<Batch>,
    /// The checkpoint with the tail applied: what a commit must fit.
    current: Option<Book>,
    every: Option<NonZeroUsize>,
    commits: u64,
    checkpoints: u64,
    /// Set when a batch failed half-applied: the books are no longer whole.
    broken: Option<String>,
}

impl StoredBooks {
    fn whole(&self) -> Result<(), StoreError> {
        match &self.broken {
            None => Ok(()),
            Some(detail) => Err(StoreError::Corrupt {
                path: "memory".into(),
                detail: detail.clone(),
            }),
        }
    }

    /// Refuses any epoch but the newest opened (and any before an open).
    fn current_term(&self, epoch: Epoch) -> Result<(), StoreError> {
        if epoch != self.epoch || self.checkpoint.is_none() {
            return Err(StoreError::Fenced {
                epoch,
                newest: self.epoch,
            });
        }
        Ok(())
    }

    /// The books rebuilt as an opening trader gets them: the checkpoint,
    /// then the tail.
    fn rebuilt(&self) -> Result<Option<Book>, StoreError> {
        let Some(mut book) = self.checkpoint.clone() else {
            return Ok(None);
        };
        for batch in &self.tail {
            book.apply(batch).map_err(|e| StoreError::Corrupt {
                path: "memory".into(),
                detail: format!("a batch after the checkpoint does not fit it: {e}"),
            })?;
        }
        Ok(Some(book))
    }
}

impl MemStore {
    /// The batches between two checkpoints, unless set otherwise.
    pub const CHECKPOINT_EVERY: usize = 256;

    /// An empty store that checkpoints every
    /// [`CHECKPOINT_EVERY`](Self::CHECKPOINT_EVERY) batches.
    pub fn new() -> Self {
        Self::checkpointing_every(Self::CHECKPOINT_EVERY)
    }

    /// An empty store that checkpoints every `batches` batches (at least
    /// one).
    pub fn checkpointing_every(batches: usize) -> Self {
        Self::with(batches, StoreClock::monotonic())
    }

    /// An empty store that checkpoints every `batches` batches and keeps
    /// its leases by `clock`.
    pub fn with(batches: usize, clock: StoreClock) -> Self {
        let stored = StoredBooks {
            every: NonZeroUsize::new(batches.max(1)),
            ..StoredBooks::default()
        };
        Self {
            stored: Arc::new(Mutex::new(stored)),
            clock,
        }
    }

    /// How many batches were committed.
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }

    /// How many checkpoints were taken.
    pub fn checkpoints(&self) -> u64 {
        self.lock().checkpoints
    }

    /// How many batches wait after the last checkpoint.
    pub fn tail_len(&self) -> usize {
        self.lock().tail.len()
    }

    fn lock(&self) -> MutexGuard<'_, StoredBooks> {
        // A peer that panicked while holding the lock cannot have left the
        // books half-changed unnoticed: a failed apply marks them broken.
        self.stored
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store for MemStore {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        let now = self.clock.now_ms();
        let mut stored = self.lock();
        stored.whole()?;
        if claim.epoch <= stored.epoch {
            return Err(StoreError::Fenced {
                epoch: claim.epoch,
                newest: stored.epoch,
            });
        }
        stored.lease.admits(claim.trader, now)?;
        if stored.checkpoint.is_none() {
            stored.checkpoint = Some(Book::new(*pricing)?);
        }
        stored.epoch = claim.epoch;
        stored.lease = Lease {
            holder: claim.trader,
            until_ms: now.saturating_add(millis(claim.lease)),
        };
        let book = stored.rebuilt()?.expect("the checkpoint was just made");
        stored.current = Some(book.clone());
        Ok(book)
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        let mut stored = self.lock();
        stored.whole()?;
        stored.current_term(epoch)?;
        let book = stored
            .rebuilt()?
            .expect("a store that accepts an epoch was opened");
        stored.current = Some(book.clone());
        Ok(book)
    }

    fn renew(&self, epoch: Epoch, lease: Duration) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut stored = self.lock();
        stored.current_term(epoch)?;
        stored.lease.until_ms = now.saturating_add(millis(lease));
        Ok(())
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        let mut stored = self.lock();
        stored.whole()?;
        stored.current_term(epoch)?;
        let current = stored
            .current
            .as_mut()
            .expect("a store that accepts an epoch was opened");
        if let Err(e) = current.apply(batch) {
            stored.broken = Some(format!("a batch failed half-applied: {e}"));
            return Err(e.into());
        }
        stored.commits += 1;
        stored.tail.push(batch.clone());
        if stored.every.is_some_and(|k| stored.tail.len() >= k.get()) {
            stored.checkpoint = stored.current.clone();
            stored.tail.clear();
            stored.checkpoints += 1;
        }
        Ok(())
    }

    fn blocks(&self) -> bool {
        false
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        let stored = self.lock();
        stored.whole()?;
        stored.rebuilt()
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        Ok(self.lock().epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_epoch_cannot_commit_after_a_newer_one_opened() {
        let store = MemStore::new();
        store
            .open(Claim::unleased(Epoch(1)), &Pricing::default())
            .unwrap();
        store.commit(Epoch(1), &Batch::default()).unwrap();
        store
            .open(Claim::unleased(Epoch(2)), &Pricing::default())
            .unwrap();
        let refused = store.commit(Epoch(1), &Batch::default()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "epoch 1 is fenced: the store has seen epoch 2"
        );
    }

    #[test]
    fn an_epoch_opens_once() {
        let store = MemStore::new();
        store
            .open(Claim::unleased(Epoch(3)), &Pricing::default())
            .unwrap();
        assert!(matches!(
            store.open(Claim::unleased(Epoch(3)), &Pricing::default()),
            Err(StoreError::Fenced {
                epoch: Epoch(3),
                newest: Epoch(3)
            })
        ));
    }

    #[test]
    fn the_books_open_from_the_checkpoint_and_the_batches_after_it() {
        use bazaar_protocol::{Offer, OfferId, PeerId, Product};
        let store = MemStore::checkpointing_every(2);
        store
            .open(Claim::unleased(Epoch(1)), &Pricing::default())
            .unwrap();
        let mut batches = Vec::new();
        for seq in 1..=5 {
            let offer = Offer {
                id: OfferId {
                    seller: PeerId(2),
                    seq,
                },
                product: Product::Fish,
                quantity: 1,
            };
            let batch = Batch {
                deposits: vec![offer],
                ..Batch::default()
            };
            store.commit(Epoch(1), &batch).unwrap();
            batches.push(batch);
        }
        assert_eq!((store.checkpoints(), store.tail_len()), (2, 1));
        let whole = Book::from_batches(Pricing::default(), &batches).unwrap();
        assert_eq!(store.books().unwrap(), Some(whole.clone()));
        assert_eq!(
            store
                .open(Claim::unleased(Epoch(2)), &Pricing::default())
                .unwrap(),
            whole
        );
    }

    #[test]
    fn clones_share_the_books() {
        let store = MemStore::new();
        let other = store.clone();
        store
            .open(Claim::unleased(Epoch(1)), &Pricing::default())
            .unwrap();
        assert_eq!(other.epoch().unwrap(), Epoch(1));
        assert!(other.books().unwrap().is_some());
    }
}
