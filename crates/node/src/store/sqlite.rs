//! The books in SQLite, in a data directory shared by the peers of a host.
//!
//! One file, `bazaar.db`, in WAL mode with `synchronous=FULL`: a commit is
//! durable when it returns, and a batch is one transaction, so a batch costs
//! one fsync however many requests it serves (group commit). Several
//! processes may open the same directory; SQLite's locks and a busy timeout
//! let them take turns, and the epoch check of every write sits in the
//! write's own `BEGIN IMMEDIATE` transaction, so fencing holds across
//! processes.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::{Epoch, Money, PeerId};
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params,
    types::ValueRef,
};

use super::{
    CheckpointPolicy, Claim, Lease, Meta, Store, StoreError,
    holder::{self, HolderLock},
    records::{Cell, Records},
    schema,
};

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How long a process waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`] in a SQLite database, `bazaar.db` in a data directory.
///
/// The schema is documented in `docs/STORE.md`. The store keeps the books
/// it last loaded or committed in memory, so a commit checks the batch
/// against them without reading the database back; it reloads them when
/// another process has committed since, from the last checkpoint and the
/// batches after it. A commit writes a new checkpoint in its own
/// transaction when its [`CheckpointPolicy`] says so.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    policy: CheckpointPolicy,
    inner: Mutex<Inner>,
    /// The lock of the epoch this store last claimed, held while the
    /// process lives: see [`holder`].
    held: Mutex<Option<HolderLock>>,
}

#[derive(Debug)]
struct Inner {
    conn: Connection,
    /// The books as of batch `last_seq`, if known.
    cache: Option<Cached>,
}

#[derive(Debug)]
struct Cached {
    book: Book,
    last_seq: i64,
    /// The batch and the time (ms since the Unix epoch) of the newest
    /// checkpoint.
    checkpoint: (i64, i64),
    /// Sales committed since the newest checkpoint.
    tail_sales: u64,
}

impl SqliteStore {
    /// Opens the store in `dir`, creating the folder and an empty database
    /// (`dir/bazaar.db`) if missing.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the folder or file if it cannot be created
    /// or opened; [`StoreError::Corrupt`] naming the file if it is not a
    /// bazaar database, is damaged, or has another schema version.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, CheckpointPolicy::default())
    }

    /// [`SqliteStore::open`], checkpointing by `policy`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(dir: &Path, policy: CheckpointPolicy) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        let path = dir.join(schema::FILE_NAME);
        match fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => create(dir, &path)?,
            Err(e) => return Err(io_error(&path, &e)),
        }
        Self::connect(path, policy)
    }

    /// Opens the store in `dir` only if it exists: what reports and audits
    /// do, so that a mistyped directory is an error, not a new empty market.
    ///
    /// # Errors
    /// [`StoreError::Io`] if `dir/bazaar.db` does not exist or cannot be
    /// opened; [`StoreError::Corrupt`] as for [`SqliteStore::open`].
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
        Self::connect(path, CheckpointPolicy::default())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens an existing file, checks that it is a whole bazaar store, and
    /// upgrades an older schema.
    fn connect(path: PathBuf, policy: CheckpointPolicy) -> Result<Self, StoreError> {
        let mut conn = connection(&path, false)?;
        if check(&conn, &path)? < schema::VERSION {
            migrate(&mut conn, &path)?;
        }
        Ok(Self {
            path,
            policy,
            inner: Mutex::new(Inner { conn, cache: None }),
            held: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => {
                // A panic mid-commit rolled its transaction back, but may
                // have left the cached books half-changed: forget them.
                let mut inner = poisoned.into_inner();
                inner.cache = None;
                self.inner.clear_poison();
                inner
            }
        }
    }

    /// Runs `read` over the store's tables in one read transaction: a
    /// consistent view of the store even while another process commits.
    pub(super) fn records<T>(
        &self,
        read: impl FnOnce(&mut SqliteRecords<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| sql_error(&self.path, e))?;
        let value = read(&mut SqliteRecords {
            conn: &tx,
            path: &self.path,
        })?;
        tx.finish().map_err(|e| sql_error(&self.path, e))?;
        Ok(value)
    }
}

/// The tables of a SQLite store, for the reports.
pub(super) struct SqliteRecords<'a> {
    conn: &'a Connection,
    path: &'a Path,
}

impl Records for SqliteRecords<'_> {
    fn name(&self) -> PathBuf {
        self.path.to_owned()
    }

    fn check_storage(&mut self) -> Result<(), StoreError> {
        quick_check(self.conn, self.path)
    }

    fn query(&mut self, sql: &str, params: &[i64]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let err = |e| sql_error(self.path, e);
        let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
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
                        return Err(StoreError::Corrupt {
                            path: self.path.to_owned(),
                            detail: format!("column {i} holds the real number {v}"),
                        });
                    }
                });
            }
            out.push(cells);
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        let epoch = claim.epoch;
        let path = &self.path;
        let dir = path.parent().unwrap_or(Path::new("."));
        let sql = |e| sql_error(path, e);
        // Taken before the claim is written, so that the meta row never
        // names a trader that does not hold its epoch's lock.
        let mine = HolderLock::take(dir, epoch);
        let mut inner = self.lock();
        let Inner { conn, cache } = &mut *inner;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let meta = read_meta(&tx, path)?;
        if epoch <= meta.epoch {
            return Err(meta.fenced(epoch));
        }
        if let Err(leased) = meta.lease.admits(claim.trader, meta.now_ms) {
            // A live trader holds the books unless its process is gone.
            if !holder::is_gone(dir, meta.epoch) {
                return Err(leased);
            }
            tracing::info!(
                "{}: the lease of peer {} (epoch {}) is void: its process is gone",
                path.display(),
                meta.lease.holder,
                meta.epoch.0,
            );
        }
        let pricing = match meta.pricing {
            Some(stored) => stored,
            None => {
                pricing.validate()?;
                tx.execute(
                    "UPDATE meta SET fish_cents = ?1, salt_cents = ?2, boar_cents = ?3, \
                     commission_bps = ?4 WHERE id = 1",
                    params![
                        pricing.fish.cents(),
                        pricing.salt.cents(),
                        pricing.boar.cents(),
                        pricing.commission_bps,
                    ],
                )
                .map_err(sql)?;
                *pricing
            }
        };
        tx.execute(
            "UPDATE meta SET epoch = ?1, lease_holder = ?2, lease_until_ms = ?3 WHERE id = 1",
            params![
                epoch.0,
                claim.trader.0,
                meta.now_ms.saturating_add(millis(claim.lease))
            ],
        )
        .map_err(sql)?;
        let book = current(&tx, path, pricing, cache)?.book.clone();
        tx.commit().map_err(sql)?;
        drop(inner);
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = mine;
        holder::forget_before(dir, epoch);
        Ok(book)
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        let path = &self.path;
        let sql = |e| sql_error(path, e);
        let mut inner = self.lock();
        let Inner { conn, cache } = &mut *inner;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(sql)?;
        let meta = read_meta(&tx, path)?;
        let pricing = meta.term(epoch)?;
        // The commit whose outcome is unknown left the cache behind or
        // ahead: read the books from the database.
        *cache = None;
        let book = current(&tx, path, pricing, cache)?.book.clone();
        tx.finish().map_err(sql)?;
        Ok(book)
    }

    fn renew(&self, epoch: Epoch, lease: Duration) -> Result<(), StoreError> {
        let path = &self.path;
        let sql = |e| sql_error(path, e);
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let meta = read_meta(&tx, path)?;
        if epoch != meta.epoch {
            return Err(meta.fenced(epoch));
        }
        tx.execute(
            "UPDATE meta SET lease_until_ms = ?1 WHERE id = 1",
            [meta.now_ms.saturating_add(millis(lease))],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        let path = &self.path;
        let sql = |e| sql_error(path, e);
        let mut inner = self.lock();
        let Inner { conn, cache } = &mut *inner;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let meta = read_meta(&tx, path)?;
        let pricing = meta.term(epoch)?;
        if batch.is_empty() {
            return Ok(());
        }
        let cached = current(&tx, path, pricing, cache)?;
        let first_sale = usize::try_from(cached.book.totals().sales).unwrap_or(usize::MAX);
        let seq = cached.last_seq + 1;
        let now = now_ms();
        let since = |a: i64, b: i64| u64::try_from(a - b).unwrap_or(0);
        let tail_sales = cached.tail_sales + batch.sales.len() as u64;
        let due = self.policy.due(
            since(seq, cached.checkpoint.0),
            tail_sales,
            since(now, cached.checkpoint.1),
        );
        let written = cached
            .book
            .apply(batch)
            .map_err(StoreError::from)
            .and_then(|()| insert(&tx, path, epoch, seq, first_sale, batch))
            .and_then(|()| {
                if due {
                    write_checkpoint(&tx, path, seq, epoch, now, &cached.book)?;
                }
                Ok(())
            })
            .and_then(|()| tx.commit().map_err(sql));
        match written {
            Ok(()) => {
                cached.last_seq = seq;
                cached.tail_sales = tail_sales;
                if due {
                    cached.checkpoint = (seq, now);
                    cached.tail_sales = 0;
                }
            }
            // The cached books are ahead of the database, or half-changed.
            Err(_) => *cache = None,
        }
        written
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        let path = &self.path;
        let mut inner = self.lock();
        let Inner { conn, cache } = &mut *inner;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| sql_error(path, e))?;
        let Some(pricing) = read_meta(&tx, path)?.pricing else {
            return Ok(None);
        };
        let book = current(&tx, path, pricing, cache)?.book.clone();
        tx.finish().map_err(|e| sql_error(path, e))?;
        Ok(Some(book))
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        let inner = self.lock();
        Ok(read_meta(&inner.conn, &self.path)?.epoch)
    }
}

/// Creates `path` whole or not at all: the schema is written to a private
/// file that is then linked into place, so a crash or a second process
/// never sees a half-made store (and an empty `bazaar.db` is an error, not
/// a new market).
fn create(dir: &Path, path: &Path) -> Result<(), StoreError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{}.{}.{nanos}.tmp",
        schema::FILE_NAME,
        std::process::id()
    ));
    let made = (|| {
        let mut conn = connection(&tmp, true)?;
        let tx = conn.transaction().map_err(|e| sql_error(&tmp, e))?;
        tx.execute_batch(schema::CREATE)
            .and_then(|()| tx.execute_batch(schema::CHECKPOINTS))
            .map_err(|e| sql_error(&tmp, e))?;
        tx.execute(
            "INSERT INTO meta (id, schema_version, epoch) VALUES (1, ?1, 0)",
            [schema::VERSION],
        )
        .map_err(|e| sql_error(&tmp, e))?;
        tx.commit().map_err(|e| sql_error(&tmp, e))?;
        // Closing the last connection checkpoints the WAL into the file.
        conn.close().map_err(|(_, e)| sql_error(&tmp, e))?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => {}
            // Another process made it first: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(path, &e)),
        }
        // Make the new name durable too (best effort: not every system
        // lets a folder be opened for syncing).
        if let Ok(folder) = fs::File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(())
    })();
    for leftover in ["", "-wal", "-shm"] {
        let mut name = tmp.clone().into_os_string();
        name.push(leftover);
        let _ = fs::remove_file(name);
    }
    made
}

/// A connection in WAL mode, durable at commit, waiting on other processes'
/// locks.
fn connection(path: &Path, create: bool) -> Result<Connection, StoreError> {
    let sql = |e| sql_error(path, e);
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io {
            path: path.to_owned(),
            detail: format!("cannot use WAL mode (journal mode is {mode})"),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sql)?;
    Ok(conn)
}

/// The largest file whose every page is checked when a store is opened.
/// `PRAGMA quick_check` reads the whole file: on a long history that would
/// make every start of a peer cost the history, so a larger file is checked
/// page by page as it is read (SQLite reports a damaged page it meets), and
/// whole by `bazaar audit`.
const CHECK_WHOLE_UP_TO: u64 = 64 << 20;

/// Checks that the file is an undamaged bazaar store of this schema or an
/// older one; returns its version.
fn check(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let sql = |e| sql_error(path, e);
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_owned(),
        detail,
    };
    let size = fs::metadata(path).map_or(0, |m| m.len());
    if size <= CHECK_WHOLE_UP_TO {
        quick_check(conn, path)?;
    }
    let has_meta: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
            [],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if !has_meta {
        return Err(corrupt(
            "not a bazaar store: no meta table (an empty or foreign database)".into(),
        ));
    }
    let version: Option<i64> = conn
        .query_row("SELECT schema_version FROM meta WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()
        .map_err(sql)?;
    match version {
        Some(version @ 1..=schema::VERSION) => Ok(version),
        Some(other) => Err(corrupt(format!(
            "schema version {other}; this bazaar reads versions 1 to {}",
            schema::VERSION
        ))),
        None => Err(corrupt("the meta row is missing".into())),
    }
}

/// Upgrades the store to this schema, in one transaction: from version 1,
/// the checkpoints table and the indexes, and a first checkpoint of the
/// books replayed from every batch. Another process may have upgraded it
/// meanwhile: the version is read again under the write lock.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sql = |e| sql_error(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let version: i64 = tx
        .query_row("SELECT schema_version FROM meta WHERE id = 1", [], |row| {
            row.get(0)
        })
        .map_err(sql)?;
    if version == 1 {
        tx.execute_batch(schema::MIGRATE_1_TO_2)
            .and_then(|()| tx.execute_batch(schema::CHECKPOINTS))
            .map_err(sql)?;
        let meta = read_meta(&tx, path)?;
        if let Some(pricing) = meta.pricing {
            let mut book = fresh_book(path, pricing)?;
            let last = replay(&tx, path, 0, |_, _, batch| {
                book.apply(batch).map_err(|e| e.to_string())
            })?;
            write_checkpoint(&tx, path, last, meta.epoch, now_ms(), &book)?;
        }
    }
    tx.commit().map_err(sql)
}

/// Writes the books as of batch `seq` as the newest checkpoint, and drops
/// the older ones: opening needs only the newest.
fn write_checkpoint(
    conn: &Connection,
    path: &Path,
    seq: i64,
    epoch: Epoch,
    now: i64,
    book: &Book,
) -> Result<(), StoreError> {
    let sql = |e| sql_error(path, e);
    let blob = postcard::to_stdvec(book).map_err(|e| StoreError::Io {
        path: path.to_owned(),
        detail: format!("cannot encode the checkpoint at batch {seq}: {e}"),
    })?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO checkpoints (seq, epoch, made_ms, book) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![seq, epoch.0, now, blob]))
    .map_err(sql)?;
    conn.prepare_cached("DELETE FROM checkpoints WHERE seq < ?1")
        .and_then(|mut stmt| stmt.execute([seq]))
        .map_err(sql)?;
    Ok(())
}

/// The newest checkpoint: the batch it includes up to, when it was made,
/// and the books.
fn latest_checkpoint(
    conn: &Connection,
    path: &Path,
) -> Result<Option<(i64, i64, Book)>, StoreError> {
    let sql = |e| sql_error(path, e);
    let mut stmt = conn
        .prepare_cached("SELECT seq, made_ms, book FROM checkpoints ORDER BY seq DESC LIMIT 1")
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let Some(row) = rows.next().map_err(sql)? else {
        return Ok(None);
    };
    let seq: i64 = row.get(0).map_err(sql)?;
    let made: i64 = row.get(1).map_err(sql)?;
    let blob = row
        .get_ref(2)
        .and_then(|value| value.as_blob().map_err(Into::into))
        .map_err(sql)?;
    let book: Book = postcard::from_bytes(blob).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        detail: format!("the checkpoint at batch {seq} does not decode: {e}"),
    })?;
    Ok(Some((seq, made, book)))
}

/// An empty book with the stored prices.
fn fresh_book(path: &Path, pricing: Pricing) -> Result<Book, StoreError> {
    Book::new(pricing).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        detail: format!("stored pricing: {e}"),
    })
}

/// Milliseconds since the Unix epoch, by the system clock.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Checks every page of the file (`PRAGMA quick_check`).
///
/// # Errors
/// [`StoreError::Corrupt`] naming the file and the first damage found.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let sql = |e| sql_error(path, e);
    let problems = {
        let mut stmt = conn.prepare("PRAGMA quick_check(5)").map_err(sql)?;
        stmt.query_map([], |row| row.get::<_, String>(0))
            .map_err(sql)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql)?
    };
    if problems != ["ok"] {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("damaged: {}", problems.join("; ")),
        });
    }
    Ok(())
}

/// Reads the one `meta` row.
fn read_meta(conn: &Connection, path: &Path) -> Result<Meta, StoreError> {
    let query = format!(
        "SELECT epoch, fish_cents, salt_cents, boar_cents, commission_bps, lease_holder, \
         lease_until_ms, {} FROM meta WHERE id = 1",
        schema::NOW_MS
    );
    let row = conn
        .query_row(&query, [], |row| {
            Ok((
                (
                    row.get::<_, u64>(0)?,
                    row.get::<_, Option<u64>>(1)?,
                    row.get::<_, Option<u64>>(2)?,
                    row.get::<_, Option<u64>>(3)?,
                    row.get::<_, Option<u32>>(4)?,
                ),
                (
                    row.get::<_, u32>(5)?,
                    row.get::<_, u64>(6)?,
                    row.get::<_, u64>(7)?,
                ),
            ))
        })
        .optional()
        .map_err(|e| sql_error(path, e))?;
    let Some(((epoch, fish, salt, boar, bps), (holder, until_ms, now_ms))) = row else {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: "the meta row is missing".into(),
        });
    };
    let pricing = match (fish, salt, boar, bps) {
        (Some(fish), Some(salt), Some(boar), Some(commission_bps)) => Some(Pricing {
            fish: Money(fish),
            salt: Money(salt),
            boar: Money(boar),
            commission_bps,
        }),
        (None, None, None, None) => None,
        _ => {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                detail: "the pricing in the meta row is incomplete".into(),
            });
        }
    };
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

/// The books as of the last committed batch: the cached ones if no batch
/// was committed since (by this or another process), else reloaded from
/// the newest checkpoint and the batches after it.
fn current<'c>(
    conn: &Connection,
    path: &Path,
    pricing: Pricing,
    cache: &'c mut Option<Cached>,
) -> Result<&'c mut Cached, StoreError> {
    let last_seq: i64 = conn
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM batches", [], |row| {
            row.get(0)
        })
        .map_err(|e| sql_error(path, e))?;
    match cache {
        Some(cached) if cached.last_seq == last_seq => {}
        _ => {
            *cache = None;
            let (from, made, mut book) = match latest_checkpoint(conn, path)? {
                Some(checkpoint) => checkpoint,
                // No checkpoint yet: time counts from now.
                None => (0, now_ms(), fresh_book(path, pricing)?),
            };
            if from > last_seq {
                return Err(StoreError::Corrupt {
                    path: path.to_owned(),
                    detail: format!("a checkpoint at batch {from} but batches end at {last_seq}"),
                });
            }
            let mut tail_sales = 0;
            let replayed = replay(conn, path, from, |_, _, batch| {
                tail_sales += batch.sales.len() as u64;
                book.apply(batch).map_err(|e| e.to_string())
            })?;
            *cache = Some(Cached {
                book,
                last_seq: replayed.max(from),
                checkpoint: (from, made),
                tail_sales,
            });
        }
    }
    Ok(cache.as_mut().expect("the cache was just filled"))
}

/// Decodes every stored batch after batch `after`, in order, and hands it
/// to `each` with its sequence number and epoch; returns the last sequence
/// number (0 if none).
///
/// # Errors
/// [`StoreError::Corrupt`] if a batch does not decode, or `each` refuses it.
fn replay(
    conn: &Connection,
    path: &Path,
    after: i64,
    mut each: impl FnMut(i64, Epoch, &Batch) -> Result<(), String>,
) -> Result<i64, StoreError> {
    let sql = |e| sql_error(path, e);
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_owned(),
        detail,
    };
    let mut stmt = conn
        .prepare_cached("SELECT seq, epoch, batch FROM batches WHERE seq > ?1 ORDER BY seq")
        .map_err(sql)?;
    let mut rows = stmt.query([after]).map_err(sql)?;
    let mut last = 0;
    while let Some(row) = rows.next().map_err(sql)? {
        let seq: i64 = row.get(0).map_err(sql)?;
        let epoch: u64 = row.get(1).map_err(sql)?;
        let blob = row
            .get_ref(2)
            .and_then(|value| value.as_blob().map_err(Into::into))
            .map_err(sql)?;
        let batch: Batch = postcard::from_bytes(blob)
            .map_err(|e| corrupt(format!("batch {seq} does not decode: {e}")))?;
        each(seq, Epoch(epoch), &batch)
            .map_err(|e| corrupt(format!("batch {seq} does not fit the books: {e}")))?;
        last = seq;
    }
    Ok(last)
}

/// Writes one batch: its blob and its rows.
fn insert(
    conn: &Connection,
    path: &Path,
    epoch: Epoch,
    seq: i64,
    first_sale: usize,
    batch: &Batch,
) -> Result<(), StoreError> {
    let sql = |e| sql_error(path, e);
    let blob = postcard::to_stdvec(batch).map_err(|e| StoreError::Io {
        path: path.to_owned(),
        detail: format!("cannot encode batch {seq}: {e}"),
    })?;
    let epoch = epoch.0;
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO batches (seq, epoch, committed_ms, deposits, served, sales, batch) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            seq,
            epoch,
            now,
            batch.deposits.len(),
            batch.served.len(),
            batch.sales.len(),
            blob
        ])
    })
    .map_err(sql)?;
    let mut offers = conn
        .prepare_cached(
            "INSERT INTO offers (seller, seq, product, quantity, epoch, batch) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(sql)?;
    for offer in &batch.deposits {
        offers
            .execute(params![
                offer.id.seller.0,
                offer.id.seq,
                offer.product.name(),
                offer.quantity,
                epoch,
                seq
            ])
            .map_err(sql)?;
    }
    let mut requests = conn
        .prepare_cached(
            "INSERT INTO requests (buyer, seq, at_time, at_peer, product, requested, sales, \
             first_sale, epoch, batch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(sql)?;
    let mut sales = conn
        .prepare_cached(
            "INSERT INTO sales (id, buyer, request_seq, seller, offer_seq, product, quantity, \
             unit_price, credit, commission, epoch, batch) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(sql)?;
    let mut next_sale = first_sale;
    for (served, filled) in batch.requests() {
        requests
            .execute(params![
                served.request.buyer.0,
                served.request.seq,
                served.at.time,
                served.at.peer.0,
                served.product.name(),
                served.requested,
                served.sales,
                next_sale,
                epoch,
                seq
            ])
            .map_err(sql)?;
        for sale in filled {
            sales
                .execute(params![
                    next_sale,
                    sale.request.buyer.0,
                    sale.request.seq,
                    sale.offer.seller.0,
                    sale.offer.seq,
                    sale.product.name(),
                    sale.quantity,
                    sale.unit_price.cents(),
                    sale.credit.cents(),
                    sale.commission.cents(),
                    epoch,
                    seq
                ])
                .map_err(sql)?;
            next_sale += 1;
        }
    }
    Ok(())
}

/// What SQLite said, as a store error naming the file: damage is
/// [`StoreError::Corrupt`], anything else [`StoreError::Io`].
fn sql_error(path: &Path, error: rusqlite::Error) -> StoreError {
    let corrupt = match &error {
        rusqlite::Error::SqliteFailure(failure, _) => matches!(
            failure.code,
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase
        ),
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => true,
        _ => false,
    };
    let path = path.to_owned();
    let detail = error.to_string();
    if corrupt {
        StoreError::Corrupt { path, detail }
    } else {
        StoreError::Io { path, detail }
    }
}

/// What the system said about `path`.
fn io_error(path: &Path, error: &io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        detail: error.to_string(),
    }
}
