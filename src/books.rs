//! Where a command finds the trader's books: the SQLite file in a data
//! directory (one host), or a PostgreSQL database (several hosts); and
//! the kind of store that keeps them, where only the kind matters (the
//! bench's experiments, which also keep books in memory).

use std::{fmt, path::PathBuf, sync::Arc};

use bazaar_node::store::{PgStore, SqliteStore, Store, StoreError};
use serde::Serialize;

/// The books a command reads or a peer trades with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Books {
    /// `bazaar.db` in this data directory.
    Sqlite(PathBuf),
    /// The database at this PostgreSQL URL.
    Postgres(String),
}

/// The kind of store that keeps the books, without saying where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BooksKind {
    /// In memory: no commit survives the process (the bench's "store off").
    Mem,
    /// SQLite on disk, a commit per batch.
    Sqlite,
    /// PostgreSQL, a commit per batch.
    Postgres,
}

impl BooksKind {
    /// Its name in reports and JSON: `mem`, `sqlite`, `postgres`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mem => "mem",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for BooksKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Books {
    /// The kind of store that keeps these books.
    pub const fn kind(&self) -> BooksKind {
        match self {
            Self::Sqlite(_) => BooksKind::Sqlite,
            Self::Postgres(_) => BooksKind::Postgres,
        }
    }

    /// The books a `--store URL` names, or else those of a data directory.
    /// The URL is checked whole here, before anything connects.
    ///
    /// # Errors
    /// A URL that is not PostgreSQL's (one host or several), naming it
    /// without its password and saying what is wrong.
    pub fn from_flags(store: Option<&str>, data_dir: PathBuf) -> Result<Self, StoreError> {
        match store {
            Some(url) => {
                PgStore::check_url(url)?;
                Ok(Self::Postgres(url.to_owned()))
            }
            None => Ok(Self::Sqlite(data_dir)),
        }
    }

    /// Opens the books for a peer, creating an empty store if there is
    /// none. Blocks: call it off any async runtime's workers.
    ///
    /// # Errors
    /// The [`StoreError`], naming the file or the database.
    pub fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Self::Sqlite(dir) => Arc::new(SqliteStore::open(dir)?),
            Self::Postgres(url) => Arc::new(PgStore::connect(url)?),
        })
    }

    /// The audit of the stored books (`bazaar audit`): the report and
    /// whether it passed. Never creates a store. Blocks.
    ///
    /// # Errors
    /// No store there, or one that cannot be read.
    pub fn audit(&self) -> Result<(String, bool), StoreError> {
        match self {
            Self::Sqlite(dir) => SqliteStore::open_existing(dir)?.audit_report(),
            Self::Postgres(url) => PgStore::open_existing(url)?.audit_report(),
        }
    }

    /// Streams the ledger a line at a time (`bazaar ledger`) until `each`
    /// returns false. Never creates a store. Blocks.
    ///
    /// # Errors
    /// No store there, or one that cannot be read.
    pub fn for_each_ledger_line(&self, each: impl FnMut(&str) -> bool) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(dir) => SqliteStore::open_existing(dir)?.for_each_ledger_line(each),
            Self::Postgres(url) => PgStore::open_existing(url)?.for_each_ledger_line(each),
        }
    }
}

impl fmt::Display for Books {
    /// The data directory, or the URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(dir) => write!(f, "{}", dir.join("bazaar.db").display()),
            Self::Postgres(url) => {
                let redacted = url.split_once("://").and_then(|(scheme, rest)| {
                    let (login, host) = rest.split_once('@')?;
                    let user = login.split(':').next().unwrap_or_default();
                    Some(format!("{scheme}://{user}@{host}"))
                });
                f.write_str(redacted.as_deref().unwrap_or(url))
            }
        }
    }
}
