//! Where the trader's books live between traders: the `Store` trait, its
//! in-memory implementation, and the one durable store ([`DurableStore`])
//! over SQLite (the peers of one host) or PostgreSQL (the peers of several
//! hosts), with the reports read from either.

pub(crate) mod backend;
mod durable;
mod facts;
mod lease;
mod mem;
#[cfg(feature = "postgres")]
mod pg;
mod records;
mod report;
#[cfg(feature = "sqlite")]
mod sqlite;
mod sums;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod views;

use std::{path::PathBuf, time::Duration};

use bazaar_market::{Book, MarketError, Pricing};
use bazaar_protocol::{Epoch, PeerId};

pub use durable::DurableStore;
pub use mem::{MemStore, StoreClock};
#[cfg(feature = "postgres")]
pub use pg::PgTimeouts;

/// The books in SQLite, in a data directory that the peers of one host
/// share: a [`DurableStore`] over SQLite. Open one with
/// [`SqliteStore::open`](DurableStore::open).
#[cfg(feature = "sqlite")]
pub type SqliteStore = DurableStore<sqlite::SqliteBackend>;

/// The books in PostgreSQL, a server that the peers of several hosts
/// reach: a [`DurableStore`] over PostgreSQL. Connect with
/// [`PgStore::connect`](DurableStore::connect).
#[cfg(feature = "postgres")]
pub type PgStore = DurableStore<pg::PgBackend>;

use crate::{Input, StoreFailure};

/// Durable books shared by every peer that may become trader.
///
/// Fencing is the safety rule: [`Store::open`] records the new trader's
/// epoch, and from then on the store refuses every commit from an older
/// epoch, so a deposed trader that has not heard of its successor cannot
/// sell anything. The lease is the liveness rule: the trader that opened
/// the books holds them for a while, renewed while it hears from other
/// peers ([`Store::renew`]), and no other peer can open them until the
/// lease runs out, so that two sides of a partition do not depose each
/// other through the store. Lease times are the store's own clock (the
/// database's), never a peer's.
pub trait Store: Send + Sync {
    /// Fences the store at the claim's epoch, gives the claimant the lease,
    /// and loads the books: what a new trader does before it serves
    /// anyone. A store never written starts empty with `pricing`.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] if the store has seen the epoch or a newer
    /// one; [`StoreError::Leased`] while another peer's lease runs;
    /// [`StoreError::Corrupt`] or [`StoreError::Io`] if it cannot be read.
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError>;

    /// Loads the books again for the term of `epoch`, the newest: what a
    /// trader does when it cannot know whether its last commit landed (the
    /// connection died during it).
    ///
    /// # Errors
    /// [`StoreError::Fenced`] if a newer trader has opened the store;
    /// [`StoreError::Corrupt`] or [`StoreError::Io`].
    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError>;

    /// Extends the lease of the term of `epoch` to `lease` from now.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] if a newer trader has opened the store;
    /// [`StoreError::Io`].
    fn renew(&self, epoch: Epoch, lease: Duration) -> Result<(), StoreError>;

    /// Commits one batch in one transaction, durably, before the trader
    /// sends anything of it.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] if a newer trader has opened the store;
    /// [`StoreError::Rejected`] if the batch does not fit the books.
    fn commit(&self, epoch: Epoch, batch: &bazaar_market::Batch) -> Result<(), StoreError>;

    /// The books as they stand, for audits and reports, without fencing.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] or [`StoreError::Io`].
    fn books(&self) -> Result<Option<Book>, StoreError>;

    /// Whether calls wait on a disk or a network, so that an async driver
    /// runs them off its workers. True unless the store is in memory.
    fn blocks(&self) -> bool {
        true
    }

    /// The highest epoch any trader has opened the store with.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] or [`StoreError::Io`].
    fn epoch(&self) -> Result<Epoch, StoreError>;
}

/// A peer's claim on the books: the epoch it was elected in, who it is,
/// and how long its lease lasts unless renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The new trader's epoch.
    pub epoch: Epoch,
    /// The new trader.
    pub trader: PeerId,
    /// How long the lease lasts from the open.
    pub lease: Duration,
}

impl Claim {
    /// A claim with no lease, for tools and tests that open the books
    /// outside a running market.
    pub const fn unleased(epoch: Epoch) -> Self {
        Self {
            epoch,
            trader: PeerId(0),
            lease: Duration::ZERO,
        }
    }
}

/// When a durable store writes a checkpoint of the books (in the same
/// transaction as a batch): once this many batches, or this many sales, or
/// this much time have passed since the last one, whichever comes first.
/// Opening the books then costs the checkpoint (the live state) and a tail
/// bounded by the policy, however long the market has traded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Batches between two checkpoints, at most.
    pub every_batches: u64,
    /// Sales between two checkpoints, at most (a batch may exceed it).
    pub every_sales: u64,
    /// Time between two checkpoints, at most (while batches come).
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    /// Every 1024 batches, 8192 sales or second: a checkpoint costs one
    /// small row (the live state is a few kilobytes), and a new trader
    /// replays a few milliseconds of batches at most.
    fn default() -> Self {
        Self {
            every_batches: 1024,
            every_sales: 8192,
            every: Duration::from_secs(1),
        }
    }
}

impl CheckpointPolicy {
    /// Whether a checkpoint is due, `batches` batches, `sales` sales and
    /// `ms` milliseconds after the last one.
    pub fn due(&self, batches: u64, sales: u64, ms: u64) -> bool {
        let every_ms = u64::try_from(self.every.as_millis()).unwrap_or(u64::MAX);
        batches >= self.every_batches || sales >= self.every_sales || ms >= every_ms
    }
}

/// Why the store did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A trader of epoch `newest` has opened the store: `epoch` is deposed.
    #[error("epoch {epoch} is fenced: the store has seen epoch {newest}")]
    Fenced {
        /// The refused epoch.
        epoch: Epoch,
        /// The newest epoch the store has seen.
        newest: Epoch,
    },
    /// Another peer holds the lease of the books: the store is in use by a
    /// live trader. Try again after `retry_after`.
    #[error("the books are leased to peer {holder} for {retry_after:?} more")]
    Leased {
        /// The trader holding the lease.
        holder: PeerId,
        /// When the lease runs out, by the store's clock.
        retry_after: Duration,
    },
    /// The batch does not fit the books (a bug, never a network fault).
    #[error("batch rejected: {0}")]
    Rejected(#[from] MarketError),
    /// The stored data is damaged, or is not a bazaar store of this
    /// schema version.
    #[error("corrupt store {path}: {detail}")]
    Corrupt {
        /// The file, or the database's URL (without its password).
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The store cannot be read or written: a file or folder the system
    /// refuses, a database that cannot be reached, a connection lost (the
    /// outcome of a commit in flight then is unknown).
    #[error("store {path}: {detail}")]
    Io {
        /// The file or folder, or the database's URL (without its password).
        path: PathBuf,
        /// What the system said.
        detail: String,
    },
}

impl StoreError {
    /// What a peer needs to know of this error.
    pub const fn failure(&self) -> StoreFailure {
        match *self {
            Self::Fenced { newest, .. } => StoreFailure::Fenced { newest },
            Self::Leased {
                holder,
                retry_after,
            } => StoreFailure::Leased {
                holder,
                retry_after,
            },
            Self::Io { .. } => StoreFailure::Unavailable,
            Self::Rejected(_) | Self::Corrupt { .. } => StoreFailure::Corrupt,
        }
    }

    /// The input that tells peer `peer` that its load of the books or
    /// renewal of the lease of `epoch` failed with this error (a commit's
    /// failure is [`Input::CommitFailed`]). Anything but fencing is logged
    /// here in the store's own words, since the peer keeps only the kind.
    pub fn into_input(self, peer: PeerId, epoch: Epoch) -> Input {
        if !matches!(self, Self::Fenced { .. } | Self::Leased { .. }) {
            tracing::warn!("peer {peer}: store failed for epoch {epoch}: {self}");
        }
        Input::StoreFailed {
            epoch,
            failure: self.failure(),
        }
    }
}
