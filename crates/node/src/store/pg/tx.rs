//! One PostgreSQL transaction over the books' tables: what the one store
//! layer reads and writes through ([`Tx`]), and what the reports read
//! ([`Records`]).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use bazaar_market::Pricing;
use bazaar_protocol::{Epoch, Money, PeerId};
use postgres::{
    GenericClient, Statement, Transaction,
    types::{ToSql, Type},
};

use super::{
    errors::{error, int},
    schema::NOW_MS,
    warnings::Warnings,
};
use crate::store::{
    Claim, StoreError,
    backend::{Checkpoint, EachBatch, Tx},
    lease::{Lease, Meta, pricing_of},
    records::{Cell, Records},
};

/// The statements prepared on one session, by their SQL.
pub(super) type Prepared = BTreeMap<&'static str, Statement>;

/// A transaction of a [`PgBackend`](super::PgBackend).
pub(super) struct PgTx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) statements: &'a mut Prepared,
    pub(super) name: &'a Path,
    /// What the server warns of while the transaction commits.
    pub(super) warnings: &'a Warnings,
    /// Whether the transaction may write: its `meta` read takes the
    /// fence's row lock.
    pub(super) write: bool,
    /// The epoch whose advisory lock the session holds.
    pub(super) held: Option<Epoch>,
    /// Whether a claim in progress took its epoch's advisory lock.
    pub(super) taking: &'a mut bool,
}

const META: &str = "SELECT epoch, fish_cents, salt_cents, boar_cents, commission_bps, \
                    lease_holder, lease_until_ms, \
                    CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) \
                    FROM meta WHERE id = 1";
const META_FOR_UPDATE: &str = "SELECT epoch, fish_cents, salt_cents, boar_cents, commission_bps, \
                    lease_holder, lease_until_ms, \
                    CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) \
                    FROM meta WHERE id = 1 FOR UPDATE";
const LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM batches";
const CHECKPOINT: &str = "SELECT seq, made_ms, book FROM checkpoints ORDER BY seq DESC LIMIT 1";
const TAIL: &str = "SELECT seq, batch FROM batches WHERE seq > $1 ORDER BY seq";

/// The first key of the bazaar's advisory locks, the second being the
/// epoch: "bzar" in ASCII, so that other users of the database's advisory
/// locks are unlikely to collide.
const LOCK_CLASS: i32 = 0x627a_6172;

/// Calls `function` (`pg_try_advisory_lock` or `pg_advisory_unlock`) on
/// the advisory lock of `epoch` in this session.
pub(super) fn advisory(
    client: &mut impl GenericClient,
    name: &Path,
    function: &str,
    epoch: Epoch,
) -> Result<bool, StoreError> {
    // The second key: the epoch's low 31 bits.
    let key = i32::try_from(epoch.0 & 0x7fff_ffff).expect("31 bits fit an i32");
    client
        .query_one(&format!("SELECT {function}($1, $2)"), &[&LOCK_CLASS, &key])
        .and_then(|row| row.try_get(0))
        .map_err(|e| error(name, &e))
}

impl PgTx<'_> {
    fn err(&self) -> impl Fn(postgres::Error) -> StoreError + '_ {
        |e| error(self.name, &e)
    }

    fn prepared(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql).map_err(|e| error(self.name, &e))?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Runs `sql` with `params`, for its effect.
    pub(super) fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.tx
            .execute(sql, params)
            .map_err(|e| error(self.name, &e))
    }

    /// The store's clock now, after any lock this transaction waited for.
    fn now_ms(&mut self) -> Result<i64, StoreError> {
        self.tx
            .query_one(&format!("SELECT {NOW_MS}"), &[])
            .and_then(|row| row.try_get(0))
            .map_err(|e| error(self.name, &e))
    }
}

impl Records for PgTx<'_> {
    fn name(&self) -> PathBuf {
        self.name.to_owned()
    }

    fn check_storage(&mut self) -> Result<(), StoreError> {
        // The server checks its own pages (data checksums, if enabled).
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[i64]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.tx.query(sql, &params).map_err(self.err())?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let cell = match *column.type_() {
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int)),
                    Type::INT4 => row
                        .try_get::<_, Option<i32>>(i)
                        .map(|v| v.map(|v| Cell::Int(v.into()))),
                    Type::INT2 => row
                        .try_get::<_, Option<i16>>(i)
                        .map(|v| v.map(|v| Cell::Int(v.into()))),
                    Type::TEXT | Type::VARCHAR | Type::NAME => row
                        .try_get::<_, Option<String>>(i)
                        .map(|v| v.map(Cell::Text)),
                    Type::BYTEA => row
                        .try_get::<_, Option<Vec<u8>>>(i)
                        .map(|v| v.map(Cell::Blob)),
                    ref other => {
                        return Err(self.corrupt(format!(
                            "column {} is of type {other}, not one of the store's",
                            column.name()
                        )));
                    }
                }
                .map_err(self.err())?;
                cells.push(cell.unwrap_or(Cell::Null));
            }
            out.push(cells);
        }
        Ok(out)
    }
}

impl Tx for PgTx<'_> {
    fn meta(&mut self) -> Result<Meta, StoreError> {
        let statement = self.prepared(if self.write { META_FOR_UPDATE } else { META })?;
        let Some(row) = self.tx.query_opt(&statement, &[]).map_err(self.err())? else {
            return Err(self.corrupt("the meta row is missing".into()));
        };
        let mut uints = [0_u64; 8];
        let mut pricing = [None; 4];
        for (i, value) in uints.iter_mut().enumerate() {
            let cell: Option<i64> = row.try_get(i).map_err(self.err())?;
            let cell = cell
                .map(|v| {
                    u64::try_from(v).map_err(|_| self.corrupt(format!("meta column {i} holds {v}")))
                })
                .transpose()?;
            if (1..=4).contains(&i) {
                pricing[i - 1] = cell;
            }
            *value = cell.unwrap_or(0);
        }
        let [epoch, _, _, _, _, holder, until_ms, mut now_ms] = uints;
        let pricing = pricing_of(pricing).map_err(|e| self.corrupt(e))?;
        if self.write {
            // The clock after the row lock: the read may have waited.
            now_ms = u64::try_from(self.now_ms()?).unwrap_or(0);
        }
        Ok(Meta {
            epoch: Epoch(epoch),
            pricing,
            lease: Lease {
                holder: PeerId(
                    u32::try_from(holder)
                        .map_err(|_| self.corrupt(format!("lease holder {holder}")))?,
                ),
                until_ms,
            },
            now_ms,
        })
    }

    fn last_seq(&mut self) -> Result<i64, StoreError> {
        let statement = self.prepared(LAST_SEQ)?;
        self.tx
            .query_one(&statement, &[])
            .and_then(|row| row.try_get(0))
            .map_err(self.err())
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        let statement = self.prepared(CHECKPOINT)?;
        let Some(row) = self.tx.query_opt(&statement, &[]).map_err(self.err())? else {
            return Ok(None);
        };
        Ok(Some(Checkpoint {
            seq: row.try_get(0).map_err(self.err())?,
            made_ms: row.try_get(1).map_err(self.err())?,
            book: row.try_get(2).map_err(self.err())?,
        }))
    }

    fn tail(&mut self, after: i64, each: &mut EachBatch<'_>) -> Result<(), StoreError> {
        let statement = self.prepared(TAIL)?;
        for row in self.tx.query(&statement, &[&after]).map_err(self.err())? {
            let seq: i64 = row.try_get(0).map_err(self.err())?;
            let blob: &[u8] = row.try_get(1).map_err(self.err())?;
            each(seq, blob)?;
        }
        Ok(())
    }

    fn set_pricing(&mut self, pricing: &Pricing) -> Result<(), StoreError> {
        let cents = |m: Money| int(self.name, m.cents(), "a price of");
        let params = [
            cents(pricing.fish)?,
            cents(pricing.salt)?,
            cents(pricing.boar)?,
            i64::from(pricing.commission_bps),
        ];
        self.execute(
            "UPDATE meta SET fish_cents = $1, salt_cents = $2, boar_cents = $3, \
             commission_bps = $4 WHERE id = 1",
            &[&params[0], &params[1], &params[2], &params[3]],
        )
        .map(drop)
    }

    fn claim(&mut self, claim: &Claim, until_ms: u64) -> Result<(), StoreError> {
        let epoch = int(self.name, claim.epoch.0, "epoch")?;
        let until = int(self.name, until_ms, "lease until")?;
        self.execute(
            "UPDATE meta SET epoch = $1, lease_holder = $2, lease_until_ms = $3 WHERE id = 1",
            &[&epoch, &i64::from(claim.trader.0), &until],
        )
        .map(drop)
    }

    fn holder_is_gone(&mut self, epoch: Epoch) -> Result<bool, StoreError> {
        // This session's own lock proves its holder alive.
        if self.held == Some(epoch) {
            return Ok(false);
        }
        if advisory(&mut self.tx, self.name, "pg_try_advisory_lock", epoch)? {
            advisory(&mut self.tx, self.name, "pg_advisory_unlock", epoch)?;
            return Ok(true);
        }
        Ok(false)
    }

    fn take_holder(&mut self, epoch: Epoch) -> Result<(), StoreError> {
        // A session-level lock: it outlives the transaction, and is given
        // back by `settle_claim` if the claim fails.
        *self.taking = advisory(&mut self.tx, self.name, "pg_try_advisory_lock", epoch)?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        let (name, warnings) = (self.name, self.warnings);
        self.tx.commit().map_err(|e| error(name, &e))?;
        warnings.confirm(name)
    }
}
