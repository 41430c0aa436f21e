//! One SQLite transaction over the books' tables: what the one store
//! layer reads and writes through ([`Tx`]), and what the reports read
//! ([`Records`]).

use std::path::Path;

use bazaar_market::Pricing;
use bazaar_protocol::{Epoch, PeerId};
use rusqlite::{Connection, OptionalExtension, Transaction, params, types::ValueRef};

use super::{
    file::{quick_check, sql_error},
    holder::{self, HolderLock},
    schema,
};
use crate::store::{
    Claim, StoreError,
    backend::{Checkpoint, EachBatch, Tx},
    lease::{Lease, Meta, pricing_of},
    records::{Cell, Records},
};

/// A transaction of a [`SqliteBackend`](super::SqliteBackend).
pub(super) struct SqliteTx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) path: &'a Path,
    /// Where a claim's proof of presence goes until the claim settles.
    pub(super) taking: &'a mut Option<HolderLock>,
}

impl SqliteTx<'_> {
    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub(super) fn execute(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize, StoreError> {
        self.tx
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params))
            .map_err(|e| sql_error(self.path, e))
    }
}

impl Records for SqliteTx<'_> {
    fn name(&self) -> std::path::PathBuf {
        self.path.to_owned()
    }

    fn check_storage(&mut self) -> Result<(), StoreError> {
        quick_check(&self.tx, self.path)
    }

    fn query(&mut self, sql: &str, params: &[i64]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let err = |e| sql_error(self.path, e);
        let mut stmt = self.tx.prepare_cached(sql).map_err(err)?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                cells.push(match row.get_ref(i).map_err(err)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Text(v) => Cell::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => Cell::Blob(v.to_vec()),
                    ValueRef::Real(v) => {
                        return Err(self.corrupt(format!("column {i} holds the real number {v}")));
                    }
                });
            }
            out.push(cells);
        }
        Ok(out)
    }
}

impl Tx for SqliteTx<'_> {
    fn meta(&mut self) -> Result<Meta, StoreError> {
        read_meta(&self.tx, self.path)
    }

    fn last_seq(&mut self) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM batches")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(|e| sql_error(self.path, e))
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        self.tx
            .prepare_cached("SELECT seq, made_ms, book FROM checkpoints ORDER BY seq DESC LIMIT 1")
            .and_then(|mut stmt| {
                stmt.query_row([], |row| {
                    Ok(Checkpoint {
                        seq: row.get(0)?,
                        made_ms: row.get(1)?,
                        book: row.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(|e| sql_error(self.path, e))
    }

    fn tail(&mut self, after: i64, each: &mut EachBatch<'_>) -> Result<(), StoreError> {
        let sql = |e| sql_error(self.path, e);
        let mut stmt = self
            .tx
            .prepare_cached("SELECT seq, batch FROM batches WHERE seq > ?1 ORDER BY seq")
            .map_err(sql)?;
        let mut rows = stmt.query([after]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let seq: i64 = row.get(0).map_err(sql)?;
            let blob = row
                .get_ref(1)
                .and_then(|value| value.as_blob().map_err(Into::into))
                .map_err(sql)?;
            each(seq, blob)?;
        }
        Ok(())
    }

    fn set_pricing(&mut self, pricing: &Pricing) -> Result<(), StoreError> {
        self.execute(
            "UPDATE meta SET fish_cents = ?1, salt_cents = ?2, boar_cents = ?3, \
             commission_bps = ?4 WHERE id = 1",
            params![
                pricing.fish.cents(),
                pricing.salt.cents(),
                pricing.boar.cents(),
                pricing.commission_bps,
            ],
        )
        .map(drop)
    }

    fn claim(&mut self, claim: &Claim, until_ms: u64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE meta SET epoch = ?1, lease_holder = ?2, lease_until_ms = ?3 WHERE id = 1",
            params![claim.epoch.0, claim.trader.0, until_ms],
        )
        .map(drop)
    }

    fn holder_is_gone(&mut self, epoch: Epoch) -> Result<bool, StoreError> {
        Ok(holder::is_gone(self.dir(), epoch))
    }

    fn take_holder(&mut self, epoch: Epoch) -> Result<(), StoreError> {
        *self.taking = HolderLock::take(self.dir(), epoch);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        let path = self.path;
        self.tx.commit().map_err(|e| sql_error(path, e))
    }
}

/// Reads the one `meta` row, with the store's clock.
pub(super) fn read_meta(conn: &Connection, path: &Path) -> Result<Meta, StoreError> {
    let query = format!(
        "SELECT epoch, fish_cents, salt_cents, boar_cents, commission_bps, lease_holder, \
         lease_until_ms, {} FROM meta WHERE id = 1",
        schema::NOW_MS
    );
    let row = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_row([], |row| {
                Ok((
                    (
                        row.get::<_, u64>(0)?,
                        row.get::<_, Option<u64>>(1)?,
                        row.get::<_, Option<u64>>(2)?,
                        row.get::<_, Option<u64>>(3)?,
                        row.get::<_, Option<u64>>(4)?,
                    ),
                    (
                        row.get::<_, u32>(5)?,
                        row.get::<_, u64>(6)?,
                        row.get::<_, u64>(7)?,
                    ),
                ))
            })
            .optional()
        })
        .map_err(|e| sql_error(path, e))?;
    let corrupt = |detail: &str| StoreError::Corrupt {
        path: path.to_owned(),
        detail: detail.into(),
    };
    let Some(((epoch, fish, salt, boar, bps), (holder, until_ms, now_ms))) = row else {
        return Err(corrupt("the meta row is missing"));
    };
    let pricing = pricing_of([fish, salt, boar, bps]).map_err(|e| corrupt(&e))?;
    Ok(Meta {
        epoch: Epoch(epoch),
        pricing,
        lease: Lease {
            holder: PeerId(holder),
            until_ms,
        },
        now_ms,
    })
}
