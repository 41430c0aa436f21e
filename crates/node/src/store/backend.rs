//! What the one store layer ([`DurableStore`](super::DurableStore)) needs
//! of a database: its SQL and its connections, nothing else. The cache of
//! the books, the commit path, the checkpoints, the lease rule and the
//! reports are written once, over these two traits; SQLite and PostgreSQL
//! implement them.

use std::path::Path;

use bazaar_protocol::Epoch;

pub use super::records::Cell;
pub use super::{
    Claim, StoreError,
    facts::Facts,
    lease::{Lease, Meta},
    records::Records,
};

/// A database that holds the books.
pub trait Backend: Send + 'static {
    /// The store as errors and reports name it: a file, or a URL without
    /// its password.
    fn name(&self) -> &Path;

    /// Begins a transaction that may write. The fence holds for its whole
    /// length: no other trader can open the books or commit until it ends
    /// (SQLite: the write lock; PostgreSQL: the `meta` row's lock, taken
    /// by [`Tx::meta`]). Dropped without [`Tx::finish`], it rolls back.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the database cannot be reached.
    fn write(&mut self) -> Result<Box<dyn Tx + '_>, StoreError>;

    /// Begins a read of one consistent snapshot.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the database cannot be reached.
    fn read(&mut self) -> Result<Box<dyn Tx + '_>, StoreError>;

    /// The commit path: appends one batch, and a checkpoint if one is
    /// given, in one transaction of its own, only if `epoch` is the newest
    /// term. Returns the store's clock at the commit (ms), durable; `None`
    /// if the store has seen a newer term, and nothing is written.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the outcome is unknown (the connection died);
    /// [`StoreError::Corrupt`] if the database refused the rows.
    fn append(&mut self, epoch: Epoch, append: &Append<'_>) -> Result<Option<i64>, StoreError>;

    /// Extends the lease of the term of `epoch` to `lease_ms` from now by
    /// the store's clock, only if `epoch` is the newest term: one write.
    /// Returns false, writing nothing, if the store has seen a newer term.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the database cannot be reached.
    fn renew(&mut self, epoch: Epoch, lease_ms: u64) -> Result<bool, StoreError>;

    /// Confirms that what this session last read of the term of `epoch`
    /// is as durable as a commit, before a trader answers from it: a
    /// database whose commits are durable when they return has nothing
    /// to confirm; a PostgreSQL primary with synchronous standbys commits
    /// a write after the read, which they must confirm (and with it every
    /// earlier commit the read saw, even one whose wait for them was
    /// cancelled). Returns false if the store has seen a newer term.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the database cannot be reached or the
    /// confirmation does not come.
    fn confirm(&mut self, _epoch: Epoch) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Settles the proof of presence ([`Tx::take_holder`]) taken by a
    /// claim of `epoch`: kept, and the previous one given back, if the
    /// claim `won`; given back if not.
    fn settle_claim(&mut self, epoch: Epoch, won: bool);

    /// Hears that a call failed with `error`, after its transaction ended:
    /// PostgreSQL drops a session that failed with [`StoreError::Io`].
    fn failed(&mut self, _error: &StoreError) {}
}

/// One transaction over the books' tables. The reports read through it
/// too ([`Records`]).
pub trait Tx: Records {
    /// Reads the one `meta` row, with the store's clock now. In a write
    /// transaction this is where PostgreSQL takes the fence's row lock.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the row is missing or damaged.
    fn meta(&mut self) -> Result<Meta, StoreError>;

    /// The sequence number of the last committed batch, 0 if none.
    ///
    /// # Errors
    /// As any read.
    fn last_seq(&mut self) -> Result<i64, StoreError>;

    /// The newest checkpoint, undecoded.
    ///
    /// # Errors
    /// As any read.
    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError>;

    /// Hands every batch after batch `after` to `each`, in order, with its
    /// sequence number, undecoded.
    ///
    /// # Errors
    /// As any read, or what `each` returns.
    fn tail(&mut self, after: i64, each: &mut EachBatch<'_>) -> Result<(), StoreError>;

    /// Stores the market's prices, the first time a trader opens the books.
    ///
    /// # Errors
    /// As any write.
    fn set_pricing(&mut self, pricing: &bazaar_market::Pricing) -> Result<(), StoreError>;

    /// Writes the claim: the new newest epoch and its lease, until
    /// `until_ms` on the store's clock.
    ///
    /// # Errors
    /// As any write.
    fn claim(&mut self, claim: &Claim, until_ms: u64) -> Result<(), StoreError>;

    /// Whether the trader of `epoch` is provably gone, so that its lease
    /// is void: its proof of presence is free (SQLite: a file lock;
    /// PostgreSQL: a session's advisory lock).
    ///
    /// # Errors
    /// As any read.
    fn holder_is_gone(&mut self, epoch: Epoch) -> Result<bool, StoreError>;

    /// Takes this process's proof of presence for `epoch`, before the claim
    /// is written (settled by [`Backend::settle_claim`]).
    ///
    /// # Errors
    /// As any write.
    fn take_holder(&mut self, epoch: Epoch) -> Result<(), StoreError>;

    /// Commits the transaction (a read ends its snapshot).
    ///
    /// # Errors
    /// [`StoreError::Io`] if the outcome is unknown.
    fn finish(self: Box<Self>) -> Result<(), StoreError>;
}

/// What [`Tx::tail`] hands each batch to: its sequence number and its
/// encoding.
pub type EachBatch<'a> = dyn FnMut(i64, &[u8]) -> Result<(), StoreError> + 'a;

/// A checkpoint as stored: the books as of batch `seq`, encoded.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The last batch the books include.
    pub seq: i64,
    /// When it was written, on the store's clock (ms).
    pub made_ms: i64,
    /// The books, postcard-encoded.
    pub book: Vec<u8>,
}

/// One commit's rows: the batch, its facts as plain rows, and the
/// checkpoint due with it.
#[derive(Debug)]
pub struct Append<'a> {
    /// The batch's sequence number: one after the last.
    pub seq: i64,
    /// The batch, postcard-encoded: the history that replays the books.
    pub batch: &'a [u8],
    /// The batch's facts, for people and the audit.
    pub facts: &'a Facts,
    /// The books after the batch, encoded, if a checkpoint is due.
    pub checkpoint: Option<&'a [u8]>,
}
