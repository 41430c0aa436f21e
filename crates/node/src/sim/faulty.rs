//! Stand-ins that misbehave on purpose, for the planted bugs: they live in
//! the simulator so that the product never carries the bug.

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::Epoch;

use crate::store::{MemStore, Store, StoreError};

/// A store that forgot fencing: it commits a batch from any epoch as if it
/// came from the newest one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unfenced(pub(crate) MemStore);

impl Store for Unfenced {
    fn open(&self, epoch: Epoch, pricing: &Pricing) -> Result<Book, StoreError> {
        self.0.open(epoch, pricing)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unfenced_store_takes_a_deposed_epoch() {
        let store = Unfenced::default();
        store.open(Epoch(4), &Pricing::default()).unwrap();
        store.open(Epoch(9), &Pricing::default()).unwrap();
        assert!(store.commit(Epoch(4), &Batch::default()).is_ok());
        assert!(MemStore::new().commit(Epoch(4), &Batch::default()).is_err());
    }
}
