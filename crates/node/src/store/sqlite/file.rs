//! The database file: made whole or not at all, opened in WAL mode,
//! checked, and upgraded from older schemas.

use std::{
    fs, io,
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{schema, tx::SqliteTx};
use crate::store::{StoreError, backend::Tx, facts, views};

/// How long a process waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates `path` whole or not at all: the schema is written to a private
/// file that is then linked into place, so a crash or a second process
/// never sees a half-made store (and an empty `bazaar.db` is an error, not
/// a new market).
pub(super) fn create(dir: &Path, path: &Path) -> Result<(), StoreError> {
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
        tx.execute_batch(views::META_TABLE)
            .and_then(|()| tx.execute_batch(schema::HISTORY))
            .and_then(|()| tx.execute_batch(schema::VIEWS))
            .and_then(|()| tx.execute_batch(views::REPORT_VIEWS))
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
pub(super) fn connection(path: &Path, create: bool) -> Result<Connection, StoreError> {
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
pub(super) fn check(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
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

/// Upgrades the store to this schema, in one transaction. From version 1,
/// the lease and the checkpoints; from version 1 or 2, the batches' JSON
/// rows, filled by replaying every batch, in place of the plain tables,
/// and a checkpoint of the books. Another process may have upgraded it
/// meanwhile: the version is read again under the write lock.
pub(super) fn upgrade(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sql = |e| sql_error(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let version: i64 = tx
        .query_row("SELECT schema_version FROM meta WHERE id = 1", [], |row| {
            row.get(0)
        })
        .map_err(sql)?;
    if version >= schema::VERSION {
        return tx.commit().map_err(sql);
    }
    if version == 1 {
        tx.execute_batch(schema::UPGRADE_1_TO_2).map_err(sql)?;
    }
    tx.execute_batch(&views::add_json_rows("TEXT"))
        .map_err(sql)?;
    let mut taking = None;
    let mut books = SqliteTx {
        tx,
        path,
        taking: &mut taking,
    };
    let meta = books.meta()?;
    if let Some(pricing) = meta.pricing {
        let history = facts::replay_history(&mut books, pricing)?;
        for (seq, facts) in &history.facts {
            books.execute(
                "UPDATE batches SET first_sale = ?1, offer_rows = ?2, request_rows = ?3, \
                 sale_rows = ?4 WHERE seq = ?5",
                params![
                    facts.first_sale,
                    facts.offer_rows,
                    facts.request_rows,
                    facts.sale_rows,
                    seq
                ],
            )?;
        }
        if let Some(book) = history.checkpoint()? {
            books.execute(
                &format!(
                    "INSERT OR REPLACE INTO checkpoints (seq, epoch, made_ms, book) \
                     VALUES (?1, ?2, {}, ?3)",
                    schema::NOW_MS
                ),
                params![history.last_seq, meta.epoch.0, book],
            )?;
            books.execute("DELETE FROM checkpoints WHERE seq < ?1", [history.last_seq])?;
        }
    }
    let tx = books.tx;
    tx.execute_batch(views::DROP_PLAIN_TABLES)
        .and_then(|()| tx.execute_batch(schema::VIEWS))
        .and_then(|()| tx.execute_batch(views::REPORT_VIEWS))
        .and_then(|()| {
            tx.execute(
                "UPDATE meta SET schema_version = ?1 WHERE id = 1",
                [schema::VERSION],
            )
        })
        .map_err(sql)?;
    tx.commit().map_err(sql)
}

/// Checks every page of the file (`PRAGMA quick_check`).
///
/// # Errors
/// [`StoreError::Corrupt`] naming the file and the first damage found.
pub(super) fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
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

/// What SQLite said, as a store error naming the file: damage is
/// [`StoreError::Corrupt`], anything else [`StoreError::Io`].
pub(super) fn sql_error(path: &Path, error: rusqlite::Error) -> StoreError {
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
pub(super) fn io_error(path: &Path, error: &io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        detail: error.to_string(),
    }
}
