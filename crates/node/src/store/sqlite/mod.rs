//! The books in SQLite, in a data directory shared by the peers of a host.
//!
//! One file, `bazaar.db`, in WAL mode with `synchronous=FULL`: a commit is
//! durable when it returns, and a batch is one row in one transaction, so
//! a batch costs one fsync however many requests it serves (group
//! commit). Several processes may open the same directory; SQLite's locks
//! and a busy timeout let them take turns, and the epoch check of every
//! write sits in the write's own transaction (a commit's in its very
//! `INSERT`), so fencing holds across processes.

mod file;
mod holder;
mod schema;
mod tx;
mod wal;

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use bazaar_protocol::Epoch;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use self::{
    file::{connection, io_error, sql_error},
    holder::HolderLock,
    tx::SqliteTx,
    wal::WalCheckpointer,
};
use super::{
    CheckpointPolicy, DurableStore, StoreError,
    backend::{Append, Backend, Tx},
};

/// The SQLite side of a [`SqliteStore`](super::SqliteStore): the
/// connection, the statements, and the proof that the trader lives (a
/// lock file, see `holder`).
#[derive(Debug)]
pub struct SqliteBackend {
    path: PathBuf,
    conn: Connection,
    /// The proof of presence of the epoch this store last claimed, held
    /// while the process lives.
    held: Option<HolderLock>,
    /// The proof taken by a claim in progress.
    taking: Option<HolderLock>,
    /// The WAL checkpoint's thread, once this store commits.
    wal: Option<WalCheckpointer>,
    /// Commits by this store.
    commits: u64,
}

impl DurableStore<SqliteBackend> {
    /// Opens the store in `dir`, creating the folder and an empty database
    /// (`dir/bazaar.db`) if missing.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the folder or file if it cannot be created
    /// or opened; [`StoreError::Corrupt`] naming the file if it is not a
    /// bazaar database, is damaged, or has a newer schema version.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, CheckpointPolicy::default())
    }

    /// [`SqliteStore::open`](Self::open), checkpointing by `policy`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`](Self::open).
    pub fn open_with(dir: &Path, policy: CheckpointPolicy) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        let path = dir.join(schema::FILE_NAME);
        match fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => file::create(dir, &path)?,
            Err(e) => return Err(io_error(&path, &e)),
        }
        SqliteBackend::connect(path).map(|backend| Self::new(backend, policy))
    }

    /// Opens the store in `dir` only if it exists: what reports and audits
    /// do, so that a mistyped directory is an error, not a new empty market.
    ///
    /// # Errors
    /// [`StoreError::Io`] if `dir/bazaar.db` does not exist or cannot be
    /// opened; [`StoreError::Corrupt`] as for [`SqliteStore::open`](Self::open).
    pub fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(schema::FILE_NAME);
        match fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::Io {
                    path,
                    detail: "no bazaar store here (wrong --data-dir?)".into(),
                });
            }
            Err(e) => return Err(io_error(&path, &e)),
        }
        SqliteBackend::connect(path).map(|backend| Self::new(backend, CheckpointPolicy::default()))
    }

    /// The database file.
    pub fn path(&self) -> PathBuf {
        self.name()
    }
}

impl SqliteBackend {
    /// Opens an existing file, checks that it is a whole bazaar store, and
    /// upgrades an older schema.
    fn connect(path: PathBuf) -> Result<Self, StoreError> {
        let mut conn = connection(&path, false)?;
        if file::check(&conn, &path)? < schema::VERSION {
            file::upgrade(&mut conn, &path)?;
        }
        Ok(Self {
            path,
            conn,
            held: None,
            taking: None,
            wal: None,
            commits: 0,
        })
    }

    fn begin(&mut self, behavior: TransactionBehavior) -> Result<Box<dyn Tx + '_>, StoreError> {
        let Self {
            path, conn, taking, ..
        } = self;
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(|e| sql_error(path, e))?;
        Ok(Box::new(SqliteTx { tx, path, taking }))
    }

    /// Asks the thread for a WAL checkpoint every [`wal::EVERY`] commits
    /// (starting it the first time), and finishes one itself every
    /// [`wal::RESTART_EVERY`], so that the log starts over.
    fn count_commit(&mut self) {
        self.commits += 1;
        if !self.commits.is_multiple_of(wal::EVERY) {
            return;
        }
        if self.wal.is_none() {
            self.wal = WalCheckpointer::start(&self.path, &self.conn);
        }
        let Some(wal) = &self.wal else {
            return;
        };
        if self.commits.is_multiple_of(wal::RESTART_EVERY) {
            if let Err(e) = self
                .conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            {
                tracing::warn!("{}: WAL checkpoint failed: {e}", self.path.display());
            }
        } else {
            wal.poke();
        }
    }
}

/// The commit: the batch's row, written only if its epoch is the newest
/// (the fence, in the same statement), with the store's clock.
const APPEND: &str = "INSERT INTO batches (seq, epoch, committed_ms, deposits, served, sales, \
     batch, first_sale, offer_rows, request_rows, sale_rows) \
     SELECT ?1, epoch, CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), ?3, ?4, \
     ?5, ?6, ?7, ?8, ?9, ?10 FROM meta WHERE id = 1 AND epoch = ?2 \
     RETURNING committed_ms";

impl Backend for SqliteBackend {
    fn name(&self) -> &Path {
        &self.path
    }

    fn write(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin(TransactionBehavior::Immediate)
    }

    fn read(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin(TransactionBehavior::Deferred)
    }

    fn append(&mut self, epoch: Epoch, append: &Append<'_>) -> Result<Option<i64>, StoreError> {
        if self.commits == 0 {
            wal::write_out_log(&self.path, &self.conn);
        }
        let path = &self.path;
        let sql = |e| sql_error(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let facts = append.facts;
        let at_ms: Option<i64> = tx
            .prepare_cached(APPEND)
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        append.seq,
                        epoch.0,
                        facts.deposits,
                        facts.served,
                        facts.sales,
                        append.batch,
                        facts.first_sale,
                        facts.offer_rows,
                        facts.request_rows,
                        facts.sale_rows,
                    ],
                    |row| row.get(0),
                )
                .optional()
            })
            .map_err(sql)?;
        let Some(at_ms) = at_ms else {
            return Ok(None);
        };
        if let Some(book) = append.checkpoint {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO checkpoints (seq, epoch, made_ms, book) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut stmt| stmt.execute(params![append.seq, epoch.0, at_ms, book]))
            .and_then(|_| {
                tx.prepare_cached("DELETE FROM checkpoints WHERE seq < ?1")
                    .and_then(|mut stmt| stmt.execute([append.seq]))
            })
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        self.count_commit();
        Ok(Some(at_ms))
    }

    fn renew(&mut self, epoch: Epoch, lease_ms: u64) -> Result<bool, StoreError> {
        let renewed = self
            .conn
            .prepare_cached(&format!(
                "UPDATE meta SET lease_until_ms = {} + ?2 WHERE id = 1 AND epoch = ?1",
                schema::NOW_MS
            ))
            .and_then(|mut stmt| stmt.execute(params![epoch.0, lease_ms]))
            .map_err(|e| sql_error(&self.path, e))?;
        Ok(renewed == 1)
    }

    fn settle_claim(&mut self, epoch: Epoch, won: bool) {
        let taken = self.taking.take();
        if won {
            self.held = taken;
            holder::forget_before(self.path.parent().unwrap_or(Path::new(".")), epoch);
        }
    }
}
