//! Books in memory, shared by the peers of one process: what a disk would
//! be to them. They survive a peer's crash, not the process's.

use std::sync::{Arc, Mutex, MutexGuard};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::Epoch;

use super::{Store, StoreError};

/// An in-memory [`Store`]. Clones share the same books.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    epoch: Epoch,
    book: Option<Book>,
    commits: u64,
    /// Set when a batch failed half-applied: the books are no longer whole.
    broken: Option<String>,
}

impl Inner {
    fn whole(&self) -> Result<(), StoreError> {
        match &self.broken {
            None => Ok(()),
            Some(detail) => Err(StoreError::Corrupt {
                path: "memory".into(),
                detail: detail.clone(),
            }),
        }
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many batches were committed.
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A peer that panicked while holding the lock cannot have left the
        // books half-changed unnoticed: a failed apply marks them broken.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store for MemStore {
    fn open(&self, epoch: Epoch, pricing: &Pricing) -> Result<Book, StoreError> {
        let mut inner = self.lock();
        inner.whole()?;
        if epoch <= inner.epoch {
            return Err(StoreError::Fenced {
                epoch,
                newest: inner.epoch,
            });
        }
        inner.epoch = epoch;
        match &inner.book {
            Some(book) => Ok(book.clone()),
            None => {
                let book = Book::new(*pricing)?;
                inner.book = Some(book.clone());
                Ok(book)
            }
        }
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.whole()?;
        if epoch != inner.epoch {
            return Err(StoreError::Fenced {
                epoch,
                newest: inner.epoch,
            });
        }
        let book = inner
            .book
            .as_mut()
            .expect("a store that accepts an epoch was opened");
        if let Err(e) = book.apply(batch) {
            inner.broken = Some(format!("a batch failed half-applied: {e}"));
            return Err(e.into());
        }
        inner.commits += 1;
        Ok(())
    }

    fn blocks(&self) -> bool {
        false
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        let inner = self.lock();
        inner.whole()?;
        Ok(inner.book.clone())
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
        store.open(Epoch(1), &Pricing::default()).unwrap();
        store.commit(Epoch(1), &Batch::default()).unwrap();
        store.open(Epoch(2), &Pricing::default()).unwrap();
        let refused = store.commit(Epoch(1), &Batch::default()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "epoch 1 is fenced: the store has seen epoch 2"
        );
    }

    #[test]
    fn an_epoch_opens_once() {
        let store = MemStore::new();
        store.open(Epoch(3), &Pricing::default()).unwrap();
        assert!(matches!(
            store.open(Epoch(3), &Pricing::default()),
            Err(StoreError::Fenced {
                epoch: Epoch(3),
                newest: Epoch(3)
            })
        ));
    }

    #[test]
    fn clones_share_the_books() {
        let store = MemStore::new();
        let other = store.clone();
        store.open(Epoch(1), &Pricing::default()).unwrap();
        assert_eq!(other.epoch().unwrap(), Epoch(1));
        assert!(other.books().unwrap().is_some());
    }
}
