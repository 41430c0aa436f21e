//! Stand-ins that misbehave on purpose, for the planted bugs: they live in
//! the simulator so that the product never carries the bug.

use std::{sync::Mutex, time::Duration};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::Epoch;

use crate::store::{Claim, MemStore, Store, StoreError};

/// A store that forgot fencing: it commits a batch from any epoch as if it
/// came from the newest one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unfenced(pub(crate) MemStore);

impl Store for Unfenced {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        self.0.open(claim, pricing)
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        self.0.reload(epoch)
    }

    fn renew(&self, epoch: Epoch, lease: Duration) -> Result<(), StoreError> {
        self.0.renew(epoch, lease)
    }

    fn commit(&self, _epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        let newest = self.0.epoch()?;
        self.0.commit(newest, batch)
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        self.0.books()
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        self.0.epoch()
    }
}

/// A store whose leases never run out: a trader that opened the books
/// holds them for ever, even dead, and no claim after it succeeds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unexpiring(pub(crate) MemStore);

/// A lease that outlives any run.
const FOR_EVER: Duration = Duration::from_secs(3_600);

impl Store for Unexpiring {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        let claim = Claim {
            lease: FOR_EVER,
            ..claim
        };
        self.0.open(claim, pricing)
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        self.0.reload(epoch)
    }

    fn renew(&self, epoch: Epoch, _lease: Duration) -> Result<(), StoreError> {
        self.0.renew(epoch, FOR_EVER)
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        self.0.commit(epoch, batch)
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        self.0.books()
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        self.0.epoch()
    }
}

/// A store whose checkpoints forget the last batch before them: the
/// books it opens from a checkpoint lack a committed batch, whose buyers
/// already hold their replies.
#[derive(Debug)]
pub(crate) struct ForgetfulCheckpoints {
    every: usize,
    state: Mutex<Checkpointed>,
}

#[derive(Debug, Default)]
struct Checkpointed {
    epoch: Epoch,
    checkpoint: Option<Book>,
    tail: Vec<Batch>,
    current: Option<Book>,
}

impl ForgetfulCheckpoints {
    pub(crate) fn new(every: usize) -> Self {
        Self {
            every: every.max(2),
            state: Mutex::new(Checkpointed::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Checkpointed> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Checkpointed {
    fn rebuilt(&self) -> Result<Option<Book>, StoreError> {
        let Some(mut book) = self.checkpoint.clone() else {
            return Ok(None);
        };
        for batch in &self.tail {
            book.apply(batch)?;
        }
        Ok(Some(book))
    }
}

impl Store for ForgetfulCheckpoints {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        let epoch = claim.epoch;
        let mut state = self.state();
        if epoch <= state.epoch {
            let newest = state.epoch;
            return Err(StoreError::Fenced { epoch, newest });
        }
        state.epoch = epoch;
        if state.checkpoint.is_none() {
            state.checkpoint = Some(Book::new(*pricing)?);
        }
        let book = state.rebuilt()?.expect("the checkpoint was just made");
        state.current = Some(book.clone());
        Ok(book)
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        let mut state = self.state();
        if epoch != state.epoch {
            let newest = state.epoch;
            return Err(StoreError::Fenced { epoch, newest });
        }
        let book = state.rebuilt()?.expect("opened before");
        state.current = Some(book.clone());
        Ok(book)
    }

    /// Holds no lease: this stand-in is about checkpoints.
    fn renew(&self, epoch: Epoch, _lease: Duration) -> Result<(), StoreError> {
        let state = self.state();
        if epoch != state.epoch {
            let newest = state.epoch;
            return Err(StoreError::Fenced { epoch, newest });
        }
        Ok(())
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        let mut state = self.state();
        if epoch != state.epoch {
            let newest = state.epoch;
            return Err(StoreError::Fenced { epoch, newest });
        }
        if let Some(current) = state.current.as_mut() {
            current.apply(batch)?;
        }
        state.tail.push(batch.clone());
        if state.tail.len() >= self.every {
            // The bug: the checkpoint is made from every batch of the tail
            // but the last.
            let mut book = state.checkpoint.clone().expect("opened before");
            let kept = state.tail.len() - 1;
            for batch in &state.tail[..kept] {
                book.apply(batch)?;
            }
            state.checkpoint = Some(book);
            state.tail.clear();
        }
        Ok(())
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        self.state().rebuilt()
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        Ok(self.state().epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unfenced_store_takes_a_deposed_epoch() {
        let store = Unfenced::default();
        store
            .open(Claim::unleased(Epoch(4)), &Pricing::default())
            .unwrap();
        store
            .open(Claim::unleased(Epoch(9)), &Pricing::default())
            .unwrap();
        assert!(store.commit(Epoch(4), &Batch::default()).is_ok());
        assert!(MemStore::new().commit(Epoch(4), &Batch::default()).is_err());
    }
}
