//! The books in PostgreSQL, a database server that the peers of several
//! hosts reach.
//!
//! The fence is the one `meta` row: every write locks it (`FOR UPDATE`)
//! and checks the epoch under that lock in the write's own transaction,
//! so the check and the write cannot be separated by another trader's
//! open. A commit is one statement in one round trip: it locks the row,
//! checks the epoch and appends the batch (and a checkpoint when due), in
//! a transaction of its own. The lock belongs to the transaction, not to
//! a connection: a trader that freezes or is cut off mid-transaction loses
//! its session to the server's timeouts ([`PgTimeouts`]) and with it the
//! lock, and nothing of its batch lands. Leases run on the database's
//! clock (`clock_timestamp()`).

mod errors;
mod schema;
mod timeouts;
mod tx;
mod upgrade;
mod url;
mod warnings;

use std::path::{Path, PathBuf};

use bazaar_protocol::Epoch;
use postgres::{Client, IsolationLevel, NoTls};

pub use self::timeouts::PgTimeouts;
use self::{
    errors::{error, int},
    tx::{PgTx, Prepared, advisory},
    warnings::Warnings,
};
use super::{
    CheckpointPolicy, DurableStore, StoreError,
    backend::{Append, Backend, Tx},
};

/// The PostgreSQL side of a [`PgStore`](super::PgStore): the URL, the
/// session and its prepared statements, and the advisory lock that proves
/// the trader's session alive.
///
/// A lost connection is not fatal: the call that lost it fails with
/// [`StoreError::Io`] (for a commit, the outcome is unknown: the peer
/// drops what the commit held and reloads the books), and the next call
/// connects again.
pub struct PgBackend {
    config: postgres::Config,
    /// The URL without its password, for errors and reports.
    name: PathBuf,
    timeouts: PgTimeouts,
    /// What the server warned of during the write in progress.
    warnings: Warnings,
    /// The session, while it lasts.
    conn: Option<Conn>,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("name", &self.name)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// One session and the statements prepared on it.
struct Conn {
    client: Client,
    statements: Prepared,
    /// The epoch whose advisory lock this session holds: the one this
    /// store last claimed. The lock goes with the session, so a trader
    /// whose process dies (or whose session breaks) stops vouching for
    /// its lease at once.
    held: Option<Epoch>,
    /// Whether a claim in progress took its epoch's lock.
    taking: bool,
}

impl DurableStore<PgBackend> {
    /// Checks a store URL without connecting: what every command does
    /// first, so that a mistyped URL is one line, not a failure later.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the URL (without its password) and what
    /// is wrong with it: not PostgreSQL's form, no host, ports that do not
    /// match the hosts, an unknown or read-only `target_session_attrs`.
    pub fn check_url(url: &str) -> Result<(), StoreError> {
        url::parse(url).map(drop)
    }

    /// Connects to the database at `url` (`postgres://user:password@host:port/db`,
    /// or several hosts in libpq's form:
    /// `postgres://user@h1:5432,h2:5432/db?target_session_attrs=read-write`,
    /// the first writable one of which is used, and sought again after a
    /// lost session), creating the bazaar's tables if it holds none of them, and
    /// upgrading a store of an older schema.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the URL (without its password) if it is
    /// not a PostgreSQL URL, the server cannot be reached or refuses the
    /// login; [`StoreError::Corrupt`] if the database holds a store of
    /// a newer schema version or tables that are not a whole store.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, CheckpointPolicy::default(), PgTimeouts::TRADER)
    }

    /// [`PgStore::connect`](Self::connect), checkpointing by `policy`,
    /// with `timeouts`.
    ///
    /// # Errors
    /// As [`PgStore::connect`](Self::connect).
    pub fn connect_with(
        url: &str,
        policy: CheckpointPolicy,
        timeouts: PgTimeouts,
    ) -> Result<Self, StoreError> {
        PgBackend::start(url, timeouts, true).map(|backend| Self::new(backend, policy))
    }

    /// Connects to an existing store only: what reports and audits do, so
    /// that a mistyped URL is an error, not a new empty market.
    ///
    /// # Errors
    /// As [`PgStore::connect`](Self::connect), and [`StoreError::Io`] if
    /// the database holds no bazaar store.
    pub fn open_existing(url: &str) -> Result<Self, StoreError> {
        PgBackend::start(url, PgTimeouts::REPORTS, false)
            .map(|backend| Self::new(backend, CheckpointPolicy::default()))
    }
}

impl PgBackend {
    fn start(url: &str, timeouts: PgTimeouts, create: bool) -> Result<Self, StoreError> {
        let mut config = url::parse(url)?;
        timeouts.configure(&mut config);
        let warnings = Warnings::default();
        warnings.listen(&mut config);
        let mut backend = Self {
            name: url::name_of(&config).into(),
            config,
            timeouts,
            warnings,
            conn: None,
        };
        backend.conn = Some(backend.session(create)?);
        Ok(backend)
    }

    /// A new session: connect, set its limits, check (or create, or
    /// upgrade) the schema.
    fn session(&self, create: bool) -> Result<Conn, StoreError> {
        let name = &self.name;
        let mut client = self.config.connect(NoTls).map_err(|e| error(name, &e))?;
        let version: i64 = client
            .query_one("SELECT current_setting('server_version_num')::bigint", &[])
            .and_then(|row| row.try_get(0))
            .map_err(|e| error(name, &e))?;
        client
            .batch_execute(&self.timeouts.session_sql(version))
            .map_err(|e| error(name, &e))?;
        let mut conn = Conn {
            client,
            statements: Prepared::new(),
            held: None,
            taking: false,
        };
        if schema::prepare(&mut conn.client, name, create)? < schema::VERSION {
            upgrade::upgrade(&mut conn.client, &mut conn.statements, name, &self.warnings)?;
        }
        Ok(conn)
    }

    /// The session, connecting first if there is none (or it was lost).
    /// Never creates a store under a running trader: a database emptied
    /// meanwhile is an error, not a new market.
    fn conn(&mut self) -> Result<&mut Conn, StoreError> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = Some(self.session(false)?);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    fn begin(&mut self, write: bool) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.conn()?;
        self.warnings.clear();
        let Self {
            conn,
            name,
            warnings,
            ..
        } = self;
        let Conn {
            client,
            statements,
            held,
            taking,
        } = conn.as_mut().expect("connected above");
        let tx = if write {
            client.transaction()
        } else {
            client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
        }
        .map_err(|e| error(name, &e))?;
        Ok(Box::new(PgTx {
            tx,
            statements,
            name,
            warnings,
            write,
            held: *held,
            taking,
        }))
    }
}

/// The commit, one statement in its own transaction: the fence's row lock
/// and epoch check, then the batch's row, with the store's clock.
const APPEND: &str = "WITH fence AS (SELECT epoch FROM meta WHERE id = 1 AND epoch = $2 FOR UPDATE), \
     appended AS (INSERT INTO batches (seq, epoch, committed_ms, deposits, served, sales, batch, \
         first_sale, offer_rows, request_rows, sale_rows) \
         SELECT $1, epoch, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT), \
         $3, $4, $5, $6, $7, $8::text::jsonb, $9::text::jsonb, $10::text::jsonb FROM fence \
         RETURNING committed_ms) \
     SELECT committed_ms FROM appended";

/// [`APPEND`] with the books' checkpoint as of the batch, replacing the
/// older ones.
const APPEND_WITH_CHECKPOINT: &str = "WITH fence AS (SELECT epoch FROM meta WHERE id = 1 AND epoch = $2 FOR UPDATE), \
     appended AS (INSERT INTO batches (seq, epoch, committed_ms, deposits, served, sales, batch, \
         first_sale, offer_rows, request_rows, sale_rows) \
         SELECT $1, epoch, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT), \
         $3, $4, $5, $6, $7, $8::text::jsonb, $9::text::jsonb, $10::text::jsonb FROM fence \
         RETURNING committed_ms), \
     checkpoint AS (INSERT INTO checkpoints (seq, epoch, made_ms, book) \
         SELECT $1, $2, committed_ms, $11 FROM appended \
         ON CONFLICT (seq) DO UPDATE SET epoch = EXCLUDED.epoch, made_ms = EXCLUDED.made_ms, \
         book = EXCLUDED.book), \
     older AS (DELETE FROM checkpoints WHERE seq < $1 AND EXISTS (SELECT 1 FROM appended)) \
     SELECT committed_ms FROM appended";

impl PgBackend {
    /// After a lost session (a restarted or promoted server), the first
    /// renewal of the term takes its proof of presence again: until then
    /// the lease is void, as its holder may have died with its session.
    fn hold_again(&mut self, epoch: Epoch) -> Result<(), StoreError> {
        let name = self.name.clone();
        let conn = self.conn()?;
        if conn.held == Some(epoch) {
            return Ok(());
        }
        if advisory(&mut conn.client, &name, "pg_try_advisory_lock", epoch)?
            && let Some(previous) = conn.held.replace(epoch)
        {
            let _ = advisory(&mut conn.client, &name, "pg_advisory_unlock", previous);
        }
        Ok(())
    }
}

impl Backend for PgBackend {
    fn name(&self) -> &Path {
        &self.name
    }

    fn write(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin(true)
    }

    fn read(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin(false)
    }

    fn append(&mut self, epoch: Epoch, append: &Append<'_>) -> Result<Option<i64>, StoreError> {
        let name = self.name.clone();
        let err = |e: postgres::Error| error(&name, &e);
        let epoch_param = int(&name, epoch.0, "epoch")?;
        self.warnings.clear();
        let conn = self.conn()?;
        let sql = match append.checkpoint {
            Some(_) => APPEND_WITH_CHECKPOINT,
            None => APPEND,
        };
        let statement = match conn.statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = conn.client.prepare(sql).map_err(err)?;
                conn.statements.insert(sql, statement.clone());
                statement
            }
        };
        let facts = append.facts;
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![
            &append.seq,
            &epoch_param,
            &facts.deposits,
            &facts.served,
            &facts.sales,
            &append.batch,
            &facts.first_sale,
            &facts.offer_rows,
            &facts.request_rows,
            &facts.sale_rows,
        ];
        if let Some(book) = &append.checkpoint {
            params.push(book);
        }
        let committed = conn
            .client
            .query_opt(&statement, &params)
            .and_then(|row| row.map(|row| row.try_get(0)).transpose())
            .map_err(err)?;
        self.warnings.confirm(&name)?;
        Ok(committed)
    }

    fn renew(&mut self, epoch: Epoch, lease_ms: u64) -> Result<bool, StoreError> {
        let name = self.name.clone();
        let params = [
            int(&name, epoch.0, "epoch")?,
            int(&name, lease_ms, "lease")?,
        ];
        // One statement: the row lock it takes re-checks the epoch on the
        // newest row, so a renewal never outlives a newer open.
        self.warnings.clear();
        let renewed = self
            .conn()?
            .client
            .execute(
                &format!(
                    "UPDATE meta SET lease_until_ms = {} + $2 WHERE id = 1 AND epoch = $1",
                    schema::NOW_MS
                ),
                &[&params[0], &params[1]],
            )
            .map_err(|e| error(&name, &e))?;
        self.warnings.confirm(&name)?;
        if renewed == 1 {
            self.hold_again(epoch)?;
        }
        Ok(renewed == 1)
    }

    fn confirm(&mut self, epoch: Epoch) -> Result<bool, StoreError> {
        let name = self.name.clone();
        let epoch = int(&name, epoch.0, "epoch")?;
        // A write of nothing new, committed after the read: its commit is
        // confirmed only once the standbys hold the log up to it, and so
        // every commit the read saw.
        self.warnings.clear();
        let touched = self
            .conn()?
            .client
            .execute(
                "UPDATE meta SET epoch = epoch WHERE id = 1 AND epoch = $1",
                &[&epoch],
            )
            .map_err(|e| error(&name, &e))?;
        self.warnings.confirm(&name)?;
        Ok(touched == 1)
    }

    fn settle_claim(&mut self, epoch: Epoch, won: bool) {
        let name = self.name.clone();
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let taken = std::mem::take(&mut conn.taking);
        // Best effort: a broken session has given every lock back.
        let mut release = |epoch: Epoch| {
            let _ = advisory(&mut conn.client, &name, "pg_advisory_unlock", epoch);
        };
        if !won {
            if taken {
                release(epoch);
            }
            return;
        }
        if let Some(previous) = conn.held.take() {
            release(previous);
        }
        conn.held = taken.then_some(epoch);
    }

    fn failed(&mut self, error: &StoreError) {
        if matches!(error, StoreError::Io { .. }) {
            self.conn = None;
        }
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        // The sync client runs a small tokio runtime of its own, which may
        // not be dropped on an async runtime's worker: if this store goes
        // away there (the last handle of a driver), its session is closed
        // on a thread of its own.
        if tokio::runtime::Handle::try_current().is_ok()
            && let Some(conn) = self.conn.take()
        {
            let _ = std::thread::Builder::new()
                .name("bazaar-pg-close".into())
                .spawn(move || drop(conn));
        }
    }
}
