//! Store calls as values: what a [`Driver`](super::Driver) asks of the
//! store, by id, and what the store answered.

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::Epoch;

use crate::store::{Claim, Store, StoreError};

/// The id of one store call in flight; its answer goes back with the same
/// id ([`Driver::handle_stored`](super::Driver::handle_stored)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// One call a driver asks its shell to make on the store. The shell runs
/// it whenever and wherever it likes (a blocking pool, a simulated disk
/// that answers late), and hands the result back by its [`CallId`].
#[derive(Debug, Clone, PartialEq)]
pub enum StoreCall {
    /// Fence the store at the claim's epoch and load the books
    /// ([`Store::open`]).
    Open {
        /// The new trader's claim.
        claim: Claim,
        /// The prices of books never written before.
        pricing: Pricing,
    },
    /// Load the books again for the term of `epoch` ([`Store::reload`]).
    Reload {
        /// The trader's epoch.
        epoch: Epoch,
    },
    /// Extend (or, with a zero lease, give back) the lease of the term of
    /// `epoch` ([`Store::renew`]).
    Renew {
        /// The trader's epoch.
        epoch: Epoch,
        /// How long from now.
        lease: std::time::Duration,
    },
    /// Commit one batch in one transaction ([`Store::commit`]).
    Commit {
        /// The trader's epoch: the store refuses an older one.
        epoch: Epoch,
        /// What the batch changed.
        batch: Box<Batch>,
    },
}

/// What a store call gave back when it succeeded.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// The books, for [`StoreCall::Open`] and [`StoreCall::Reload`].
    Books(Box<Book>),
    /// Done, for [`StoreCall::Renew`] and [`StoreCall::Commit`].
    Done,
}

impl StoreCall {
    /// The epoch of the term the call is made for.
    pub const fn epoch(&self) -> Epoch {
        match self {
            Self::Open { claim, .. } => claim.epoch,
            Self::Reload { epoch } | Self::Renew { epoch, .. } | Self::Commit { epoch, .. } => {
                *epoch
            }
        }
    }

    /// Makes the call on `store`: what a shell does with it, on whatever
    /// thread it likes.
    ///
    /// # Errors
    /// What the store refused or failed, for
    /// [`Driver::handle_stored`](super::Driver::handle_stored).
    pub fn run(&self, store: &dyn Store) -> Result<Stored, StoreError> {
        match self {
            Self::Open { claim, pricing } => store.open(*claim, pricing).map(boxed),
            Self::Reload { epoch } => store.reload(*epoch).map(boxed),
            Self::Renew { epoch, lease } => store.renew(*epoch, *lease).map(|()| Stored::Done),
            Self::Commit { epoch, batch } => store.commit(*epoch, batch).map(|()| Stored::Done),
        }
    }
}

fn boxed(book: Book) -> Stored {
    Stored::Books(Box::new(book))
}
