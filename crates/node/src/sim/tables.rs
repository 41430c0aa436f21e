//! The books' tables in the simulator's memory, behind the one durable
//! store layer: the simulator drives the very cache, commit path,
//! checkpoints and lease rule of [`DurableStore`] (with its store calls in
//! flight), over a backend whose clock is the world's. What a database
//! adds (its SQL, its files) is the store tests' to check.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use bazaar_market::Pricing;
use bazaar_protocol::Epoch;

use crate::store::{
    CheckpointPolicy, DurableStore, StoreClock,
    backend::{
        Append, Backend, Cell, Checkpoint, Claim, EachBatch, Lease, Meta, Records, StoreError, Tx,
    },
};

/// The `meta` row.
#[derive(Debug, Clone, Copy, Default)]
struct MetaRow {
    epoch: Epoch,
    pricing: Option<Pricing>,
    lease: Lease,
}

/// The tables themselves.
#[derive(Debug, Default)]
struct Tables {
    meta: MetaRow,
    batches: Vec<Vec<u8>>,
    checkpoint: Option<Checkpoint>,
}

/// One connection to the tables, which every peer's process shares (one
/// database), on the world's clock.
#[derive(Clone)]
pub(crate) struct SimTables {
    name: PathBuf,
    tables: Arc<Mutex<Tables>>,
    clock: StoreClock,
    /// Batches between two checkpoints.
    every: u64,
    /// Whether a commit checks its epoch (off only for a planted bug).
    fenced: bool,
}

impl SimTables {
    /// Empty tables on the world's `clock`, whose stores checkpoint every
    /// `every` batches; `fenced` is false only for the planted bug of a
    /// commit path that lost its fence.
    pub(crate) fn new(clock: StoreClock, every: u64, fenced: bool) -> Self {
        Self {
            name: PathBuf::from("the simulator's tables"),
            tables: Arc::default(),
            clock,
            every,
            fenced,
        }
    }

    /// A store over the tables with a cache of its own, as one process
    /// has: each incarnation of each peer gets one.
    pub(crate) fn store(&self) -> DurableStore<Self> {
        let policy = CheckpointPolicy {
            every_batches: self.every,
            ..CheckpointPolicy::default()
        };
        DurableStore::new(self.clone(), policy)
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin(&mut self) -> Box<dyn Tx + '_> {
        let tables = self.lock();
        let saved = tables.meta;
        Box::new(SimTx {
            name: &self.name,
            clock: &self.clock,
            tables,
            saved: Some(saved),
        })
    }
}

impl Backend for SimTables {
    fn name(&self) -> &Path {
        &self.name
    }

    fn write(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(self.begin())
    }

    fn read(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(self.begin())
    }

    fn append(&mut self, epoch: Epoch, append: &Append<'_>) -> Result<Option<i64>, StoreError> {
        let fenced = self.fenced;
        let at_ms = i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX);
        let mut tables = self.lock();
        if fenced && epoch != tables.meta.epoch {
            return Ok(None);
        }
        let next = i64::try_from(tables.batches.len()).unwrap_or(i64::MAX) + 1;
        if append.seq != next {
            return Err(StoreError::Corrupt {
                path: self.name.clone(),
                detail: format!("batch {} appended after batch {}", append.seq, next - 1),
            });
        }
        tables.batches.push(append.batch.to_vec());
        if let Some(book) = append.checkpoint {
            tables.checkpoint = Some(Checkpoint {
                seq: append.seq,
                made_ms: at_ms,
                book: book.to_vec(),
            });
        }
        Ok(Some(at_ms))
    }

    fn renew(&mut self, epoch: Epoch, lease_ms: u64) -> Result<bool, StoreError> {
        let until_ms = self.clock.now_ms().saturating_add(lease_ms);
        let mut tables = self.lock();
        if epoch != tables.meta.epoch {
            return Ok(false);
        }
        tables.meta.lease.until_ms = until_ms;
        Ok(true)
    }

    fn settle_claim(&mut self, _epoch: Epoch, _won: bool) {}
}

/// A transaction: reads and writes the tables in place, and puts the
/// `meta` row back if dropped unfinished (the only row a transaction
/// writes; batches are appended by [`Backend::append`] alone).
struct SimTx<'a> {
    name: &'a Path,
    clock: &'a StoreClock,
    tables: MutexGuard<'a, Tables>,
    saved: Option<MetaRow>,
}

impl Drop for SimTx<'_> {
    fn drop(&mut self) {
        if let Some(saved) = self.saved {
            self.tables.meta = saved;
        }
    }
}

impl Records for SimTx<'_> {
    fn name(&self) -> PathBuf {
        self.name.to_owned()
    }

    fn check_storage(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn query(&mut self, _sql: &str, _params: &[i64]) -> Result<Vec<Vec<Cell>>, StoreError> {
        Err(StoreError::Io {
            path: self.name(),
            detail: "the simulator's tables take no SQL".into(),
        })
    }
}

impl Tx for SimTx<'_> {
    fn meta(&mut self) -> Result<Meta, StoreError> {
        let row = self.tables.meta;
        Ok(Meta {
            epoch: row.epoch,
            pricing: row.pricing,
            lease: row.lease,
            now_ms: self.clock.now_ms(),
        })
    }

    fn last_seq(&mut self) -> Result<i64, StoreError> {
        Ok(i64::try_from(self.tables.batches.len()).unwrap_or(i64::MAX))
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self.tables.checkpoint.clone())
    }

    fn tail(&mut self, after: i64, each: &mut EachBatch<'_>) -> Result<(), StoreError> {
        let skip = usize::try_from(after).unwrap_or(0);
        for (seq, batch) in (after + 1..).zip(self.tables.batches.iter().skip(skip)) {
            each(seq, batch)?;
        }
        Ok(())
    }

    fn set_pricing(&mut self, pricing: &Pricing) -> Result<(), StoreError> {
        self.tables.meta.pricing = Some(*pricing);
        Ok(())
    }

    fn claim(&mut self, claim: &Claim, until_ms: u64) -> Result<(), StoreError> {
        self.tables.meta.epoch = claim.epoch;
        self.tables.meta.lease = Lease {
            holder: claim.trader,
            until_ms,
        };
        Ok(())
    }

    fn holder_is_gone(&mut self, _epoch: Epoch) -> Result<bool, StoreError> {
        // No proof of presence here: a lease is waited out.
        Ok(false)
    }

    fn take_holder(&mut self, _epoch: Epoch) -> Result<(), StoreError> {
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        self.saved = None;
        Ok(())
    }
}
