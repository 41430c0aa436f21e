//! The books in PostgreSQL, a database server that the peers of several
//! hosts reach.
//!
//! The fence is one transaction: every write locks the one `meta` row
//! (`SELECT … FOR UPDATE`), checks the epoch under that lock, and writes
//! the batch in the same transaction, so the check and the write cannot be
//! separated by another trader's open. The lock belongs to the
//! transaction, not to a connection: a trader that freezes or is cut off
//! mid-transaction loses its session to the server's timeouts
//! ([`PgTimeouts`]) and with it the lock, and nothing of its batch lands.
//! Leases run on the database's clock (`clock_timestamp()`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::{Epoch, Money, PeerId};
use postgres::{
    Client, GenericClient, IsolationLevel, NoTls, Statement, Transaction,
    config::Host,
    types::{ToSql, Type},
};

use super::{
    CheckpointPolicy, Claim, Lease, Meta, Store, StoreError, pg_schema,
    records::{Cell, Records},
    report,
};

/// The limits every session of a [`PgStore`] sets, so that a frozen or
/// cut-off trader cannot hold the fence's row lock for long, and a trader
/// whose server is gone learns it in seconds rather than minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgTimeouts {
    /// How long connecting may take.
    pub connect: Duration,
    /// `statement_timeout`: any one statement (zero: none).
    pub statement: Duration,
    /// `lock_timeout`: how long a statement waits for a lock, such as the
    /// `meta` row another trader holds (zero: forever).
    pub lock: Duration,
    /// `idle_in_transaction_session_timeout`: a session that stays idle
    /// inside a transaction this long (a frozen trader between two
    /// statements of a commit) is ended by the server, and its locks go
    /// with it (zero: never).
    pub idle_in_transaction: Duration,
    /// TCP keepalive, both ends: idle time before the first probe.
    pub keepalive_idle: Duration,
    /// TCP keepalive, both ends: time between probes.
    pub keepalive_interval: Duration,
    /// TCP keepalive, both ends: probes unanswered before the connection
    /// is declared dead.
    pub keepalive_retries: u32,
    /// `tcp_user_timeout`, both ends: how long sent data may stay
    /// unacknowledged before the connection is declared dead.
    pub tcp_user: Duration,
}

impl PgTimeouts {
    /// A trader's session. A commit takes milliseconds, so each limit is
    /// generous for a working trader and short for a dead one: a session
    /// idle mid-transaction for 1 s is ended (freeing the `meta` row well
    /// before a waiting trader's 2 s lock timeout); no statement runs past
    /// 5 s; a peer on either end that stops answering is declared dead
    /// after about 1 + 3 × 1 s of silence, or 5 s of unacknowledged data.
    pub const TRADER: Self = Self {
        connect: Duration::from_secs(5),
        statement: Duration::from_secs(5),
        lock: Duration::from_secs(2),
        idle_in_transaction: Duration::from_secs(1),
        keepalive_idle: Duration::from_secs(1),
        keepalive_interval: Duration::from_secs(1),
        keepalive_retries: 3,
        tcp_user: Duration::from_secs(5),
    };

    /// A report's session (`bazaar audit`, `bazaar ledger`): it reads the
    /// whole history in one snapshot and takes no lock a trader waits
    /// for, so its statements and pauses (a reader paging the ledger) are
    /// not limited; dead connections are found as for a trader.
    pub const REPORTS: Self = Self {
        statement: Duration::ZERO,
        lock: Duration::from_secs(10),
        idle_in_transaction: Duration::ZERO,
        ..Self::TRADER
    };

    /// The `SET` statements of a session on a server of version `version`
    /// (`server_version_num`): what every session of a [`PgStore`] runs
    /// first, and what a benchmark's floor session runs to compare like
    /// with like.
    pub fn session_sql(&self, version: i64) -> String {
        let ms = |d: Duration| d.as_millis();
        let s = |d: Duration| d.as_secs().max(1);
        let mut sql = format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; \
             SET idle_in_transaction_session_timeout = {}; \
             SET tcp_keepalives_idle = {}; SET tcp_keepalives_interval = {}; \
             SET tcp_keepalives_count = {}; SET tcp_user_timeout = {}; \
             SET application_name = 'bazaar';",
            ms(self.statement),
            ms(self.lock),
            ms(self.idle_in_transaction),
            s(self.keepalive_idle),
            s(self.keepalive_interval),
            self.keepalive_retries,
            ms(self.tcp_user),
        );
        if version >= 140_000 {
            // The server checks that the client is still there while it
            // runs (or waits in) a statement, not only when it next reads.
            sql.push_str(" SET client_connection_check_interval = 1000;");
        }
        sql
    }
}

/// A [`Store`] in a PostgreSQL database: the books of peers on several
/// hosts.
///
/// The schema (the SQLite store's tables and columns, in PostgreSQL's
/// types) is documented in `docs/STORE.md`; the store creates it in an
/// empty database and refuses a database of another schema version. Like
/// [`SqliteStore`](super::SqliteStore) it keeps the books it last loaded or
/// committed, reloads them when another trader committed since, and writes
/// a checkpoint in a commit's own transaction when its
/// [`CheckpointPolicy`] says so.
///
/// A lost connection is not fatal: the call that lost it fails with
/// [`StoreError::Io`] (for a commit, the outcome is unknown: the peer
/// drops what the commit held and reloads the books), and the next call
/// connects again. Its calls block: run them off an async runtime's
/// workers ([`Store::blocks`] is true).
pub struct PgStore {
    config: postgres::Config,
    /// The URL without its password, for errors and reports.
    name: PathBuf,
    policy: CheckpointPolicy,
    timeouts: PgTimeouts,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    /// The session, while it lasts.
    conn: Option<Conn>,
    /// The books as of batch `last_seq`, if known.
    cache: Option<Cached>,
}

/// One session and the statements prepared on it.
struct Conn {
    client: Client,
    statements: BTreeMap<&'static str, Statement>,
    /// The epoch whose advisory lock this session holds: the one this
    /// store last claimed. The lock goes with the session, so a trader
    /// whose process dies (or whose session breaks) stops vouching for
    /// its lease at once; see [`PgStore::holder_is_gone`].
    held: Option<Epoch>,
}

#[derive(Debug)]
struct Cached {
    book: Book,
    last_seq: i64,
    /// The batch and the time (database clock, ms) of the newest
    /// checkpoint.
    checkpoint: (i64, i64),
    /// Sales committed since the newest checkpoint.
    tail_sales: u64,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`),
    /// creating the bazaar's tables if it holds none of them.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the URL (without its password) if it is
    /// not a PostgreSQL URL, the server cannot be reached or refuses the
    /// login; [`StoreError::Corrupt`] if the database holds a store of
    /// another schema version or tables that are not a whole store.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, CheckpointPolicy::default(), PgTimeouts::TRADER)
    }

    /// [`PgStore::connect`], checkpointing by `policy`, with `timeouts`.
    ///
    /// # Errors
    /// As [`PgStore::connect`].
    pub fn connect_with(
        url: &str,
        policy: CheckpointPolicy,
        timeouts: PgTimeouts,
    ) -> Result<Self, StoreError> {
        Self::start(url, policy, timeouts, true)
    }

    /// Connects to an existing store only: what reports and audits do, so
    /// that a mistyped URL is an error, not a new empty market.
    ///
    /// # Errors
    /// As [`PgStore::connect`], and [`StoreError::Io`] if the database
    /// holds no bazaar store.
    pub fn open_existing(url: &str) -> Result<Self, StoreError> {
        Self::start(url, CheckpointPolicy::default(), PgTimeouts::REPORTS, false)
    }

    fn start(
        url: &str,
        policy: CheckpointPolicy,
        timeouts: PgTimeouts,
        create: bool,
    ) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url.parse().map_err(|e| StoreError::Io {
            path: redact(url).into(),
            detail: format!(
                "not a PostgreSQL URL (postgres://user@host:port/database): {}",
                chain(&e)
            ),
        })?;
        config
            .connect_timeout(timeouts.connect)
            .keepalives(true)
            .keepalives_idle(timeouts.keepalive_idle)
            .keepalives_interval(timeouts.keepalive_interval)
            .keepalives_retries(timeouts.keepalive_retries)
            .tcp_user_timeout(timeouts.tcp_user)
            .application_name("bazaar");
        let store = Self {
            name: name_of(&config).into(),
            config,
            policy,
            timeouts,
            inner: Mutex::new(Inner::default()),
        };
        let conn = store.session(create)?;
        store.lock().conn = Some(conn);
        Ok(store)
    }

    /// The database, as errors and reports name it: its URL without the
    /// password.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// Audits the books, from the whole history, as `audit_report` does
    /// for a SQLite store (the same checks, the same report), in one
    /// snapshot of the database.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the database cannot be read;
    /// [`StoreError::Corrupt`] if it is damaged beyond auditing.
    pub fn audit_report(&self) -> Result<(String, bool), StoreError> {
        self.records(|records| report::audit(records))
    }

    /// Calls `each` with every sale, one line at a time in ledger order,
    /// as `for_each_ledger_line` does for a SQLite store; a page of sales
    /// at a time, however long the history. Stops when `each` returns
    /// false.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the database cannot be read;
    /// [`StoreError::Corrupt`] if a stored row is damaged.
    pub fn for_each_ledger_line(&self, each: impl FnMut(&str) -> bool) -> Result<(), StoreError> {
        self.records(|records| report::ledger(records, each))
    }

    /// Every ledger line (see [`PgStore::for_each_ledger_line`]): for
    /// tests and small stores.
    ///
    /// # Errors
    /// As [`PgStore::for_each_ledger_line`].
    pub fn ledger_lines(&self) -> Result<Vec<String>, StoreError> {
        let mut lines = Vec::new();
        self.for_each_ledger_line(|line| {
            lines.push(line.to_owned());
            true
        })?;
        Ok(lines)
    }

    /// A new session: connect, set its limits, check (or create) the
    /// schema.
    fn session(&self, create: bool) -> Result<Conn, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(|e| self.error(&e))?;
        let version: i64 = client
            .query_one("SELECT current_setting('server_version_num')::bigint", &[])
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.error(&e))?;
        client
            .batch_execute(&self.timeouts.session_sql(version))
            .map_err(|e| self.error(&e))?;
        pg_schema::prepare(
            &mut client,
            create,
            |detail| self.corrupt(detail),
            |detail| StoreError::Io {
                path: self.name.clone(),
                detail,
            },
            |e| self.error(&e),
        )?;
        Ok(Conn {
            held: None,
            client,
            statements: BTreeMap::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => {
                // A panic mid-call rolled its transaction back (or lost the
                // session), but may have left the cache half-changed.
                let mut inner = poisoned.into_inner();
                inner.cache = None;
                inner.conn = None;
                self.inner.clear_poison();
                inner
            }
        }
    }

    /// Runs `call` on the session, connecting first if there is none (or
    /// it was lost). A call that fails with [`StoreError::Io`] drops the
    /// session: the next call connects again.
    fn call<T>(
        &self,
        call: impl FnOnce(&Self, &mut Conn, &mut Option<Cached>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.lock();
        let Inner { conn, cache } = &mut *inner;
        if conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            *conn = None;
        }
        if conn.is_none() {
            // Never create a store under a running trader: a database
            // emptied meanwhile is an error, not a new market.
            *conn = Some(self.session(false)?);
        }
        let session = conn.as_mut().expect("connected above");
        let result = call(self, session, cache);
        if let Err(StoreError::Io { .. }) = result {
            *conn = None;
            *cache = None;
        }
        result
    }

    /// Calls `function` (`pg_try_advisory_lock` or `pg_advisory_unlock`)
    /// on the advisory lock of `epoch` in this session.
    fn advisory(
        &self,
        client: &mut impl GenericClient,
        function: &str,
        epoch: Epoch,
    ) -> Result<bool, StoreError> {
        client
            .query_one(
                &format!("SELECT {function}($1, $2)"),
                &[&LOCK_CLASS, &lock_key(epoch)],
            )
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.error(&e))
    }

    /// Whether the trader of `epoch` is gone: the session that claimed it
    /// took the epoch's advisory lock, and nobody holds it now, so that
    /// session has ended (its process died, or its connection broke). A
    /// trader of a version that took no lock counts as gone too: run one
    /// version of the bazaar per database.
    fn holder_is_gone(&self, tx: &mut Transaction<'_>, epoch: Epoch) -> Result<bool, StoreError> {
        if self.advisory(tx, "pg_try_advisory_lock", epoch)? {
            self.advisory(tx, "pg_advisory_unlock", epoch)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Runs `read` over the store's tables in one read-only snapshot.
    fn records<T>(
        &self,
        read: impl FnOnce(&mut PgRecords<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.call(|store, conn, _| {
            let tx = conn
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(|e| store.error(&e))?;
            let mut records = PgRecords { tx, store };
            let value = read(&mut records)?;
            records.tx.commit().map_err(|e| store.error(&e))?;
            Ok(value)
        })
    }

    /// What the server or the client library said, as a store error naming
    /// the database: data that breaks the schema's rules or a schema not
    /// ours is [`StoreError::Corrupt`]; anything else (refused, lost,
    /// timed out, terminated, login refused) is [`StoreError::Io`].
    fn error(&self, error: &postgres::Error) -> StoreError {
        let corrupt = error.code().is_some_and(|code| {
            let code = code.code();
            // Data exceptions, integrity violations, syntax errors and
            // undefined objects, internal damage.
            ["22", "23", "42", "XX001", "XX002"]
                .iter()
                .any(|class| code.starts_with(class))
        });
        let detail = match error.as_db_error() {
            Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
            None => chain(error),
        };
        if corrupt {
            self.corrupt(detail)
        } else {
            StoreError::Io {
                path: self.name.clone(),
                detail,
            }
        }
    }

    fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.name.clone(),
            detail: detail.into(),
        }
    }

    /// An unsigned number as the database's `BIGINT`.
    fn int(&self, value: u64, what: &str) -> Result<i64, StoreError> {
        i64::try_from(value).map_err(|_| self.corrupt(format!("{what} {value} exceeds BIGINT")))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // The sync client runs a small tokio runtime of its own, which may
        // not be dropped on an async runtime's worker: if this store goes
        // away there (the last handle of a driver), its session is closed
        // on a thread of its own.
        if tokio::runtime::Handle::try_current().is_ok() {
            let inner = self
                .inner
                .get_mut()
                .map_or_else(|p| p.into_inner().conn.take(), |i| i.conn.take());
            if let Some(conn) = inner {
                let _ = std::thread::Builder::new()
                    .name("bazaar-pg-close".into())
                    .spawn(move || drop(conn));
            }
        }
    }
}

impl Store for PgStore {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        self.call(|store, conn, cache| {
            let Conn {
                client,
                statements,
                held,
            } = conn;
            let mut tx = client.transaction().map_err(|e| store.error(&e))?;
            let meta = store.meta(&mut tx, statements, true)?;
            if claim.epoch <= meta.epoch {
                return Err(meta.fenced(claim.epoch));
            }
            // The clock after the row lock: the meta read may have waited.
            let now: i64 = tx
                .query_one(&format!("SELECT {}", pg_schema::NOW_MS), &[])
                .and_then(|row| row.try_get(0))
                .map_err(|e| store.error(&e))?;
            let now = u64::try_from(now).unwrap_or(0);
            if let Err(leased) = meta.lease.admits(claim.trader, now) {
                // A live trader holds the books unless its session is gone.
                if *held == Some(meta.epoch) || !store.holder_is_gone(&mut tx, meta.epoch)? {
                    return Err(leased);
                }
                tracing::info!(
                    "{}: the lease of peer {} (epoch {}) is void: its session is gone",
                    store.name.display(),
                    meta.lease.holder,
                    meta.epoch.0,
                );
            }
            // Taken before the claim is written, so that the meta row
            // never names a trader whose session does not hold its lock;
            // a session-level lock outlives the transaction, and one taken
            // by a claim that fails is given back below.
            let locked = store.advisory(&mut tx, "pg_try_advisory_lock", claim.epoch)?;
            let pricing = match meta.pricing {
                Some(stored) => stored,
                None => {
                    pricing.validate()?;
                    let cents = |m: Money| store.int(m.cents(), "a price of");
                    tx.execute(
                        "UPDATE meta SET fish_cents = $1, salt_cents = $2, boar_cents = $3, \
                         commission_bps = $4 WHERE id = 1",
                        &[
                            &cents(pricing.fish)?,
                            &cents(pricing.salt)?,
                            &cents(pricing.boar)?,
                            &i64::from(pricing.commission_bps),
                        ],
                    )
                    .map_err(|e| store.error(&e))?;
                    *pricing
                }
            };
            let until = now.saturating_add(millis(claim.lease));
            let claimed = (|| {
                tx.execute(
                    "UPDATE meta SET epoch = $1, lease_holder = $2, lease_until_ms = $3 \
                     WHERE id = 1",
                    &[
                        &store.int(claim.epoch.0, "epoch")?,
                        &i64::from(claim.trader.0),
                        &store.int(until, "lease until")?,
                    ],
                )
                .map_err(|e| store.error(&e))?;
                store.read_books(tx, statements, pricing, cache)
            })();
            // Best effort: a broken session has given every lock back.
            let release = |client: &mut Client, epoch: Epoch| {
                let _ = store.advisory(client, "pg_advisory_unlock", epoch);
            };
            match claimed {
                Ok(book) => {
                    if let Some(previous) = held.take() {
                        release(client, previous);
                    }
                    *held = locked.then_some(claim.epoch);
                    Ok(book)
                }
                Err(e) => {
                    if locked {
                        release(client, claim.epoch);
                    }
                    Err(e)
                }
            }
        })
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        self.call(|store, conn, cache| {
            let Conn {
                client, statements, ..
            } = conn;
            let mut tx = snapshot(client).map_err(|e| store.error(&e))?;
            let meta = store.meta(&mut tx, statements, false)?;
            let pricing = meta.term(epoch)?;
            // The commit whose outcome is unknown left the cache behind or
            // ahead: read the books from the database.
            *cache = None;
            store.read_books(tx, statements, pricing, cache)
        })
    }

    fn renew(&self, epoch: Epoch, lease: Duration) -> Result<(), StoreError> {
        self.call(|store, conn, _| {
            // One statement: the row lock it takes re-checks the epoch on
            // the newest row, so a renewal never outlives a newer open.
            let renewed = conn
                .client
                .execute(
                    &format!(
                        "UPDATE meta SET lease_until_ms = {} + $2 WHERE id = 1 AND epoch = $1",
                        pg_schema::NOW_MS
                    ),
                    &[
                        &store.int(epoch.0, "epoch")?,
                        &store.int(millis(lease), "lease")?,
                    ],
                )
                .map_err(|e| store.error(&e))?;
            if renewed == 1 {
                return Ok(());
            }
            let newest = store.read_epoch(&mut conn.client)?;
            Err(StoreError::Fenced { epoch, newest })
        })
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        self.call(|store, conn, cache| {
            let written = store.write(conn, cache, epoch, batch);
            if written.is_err() {
                // The cached books are ahead of the database, or
                // half-changed.
                *cache = None;
            }
            written
        })
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        self.call(|store, conn, cache| {
            let Conn {
                client, statements, ..
            } = conn;
            let mut tx = snapshot(client).map_err(|e| store.error(&e))?;
            let Some(pricing) = store.meta(&mut tx, statements, false)?.pricing else {
                return Ok(None);
            };
            store.read_books(tx, statements, pricing, cache).map(Some)
        })
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        self.call(|store, conn, _| store.read_epoch(&mut conn.client))
    }
}

/// A read-only transaction over one snapshot of the database.
fn snapshot(client: &mut Client) -> Result<Transaction<'_>, postgres::Error> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
}

/// Milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A statement prepared once per session.
fn prepared(
    tx: &mut Transaction<'_>,
    statements: &mut BTreeMap<&'static str, Statement>,
    sql: &'static str,
) -> Result<Statement, postgres::Error> {
    if let Some(statement) = statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = tx.prepare(sql)?;
    statements.insert(sql, statement.clone());
    Ok(statement)
}

/// The first key of the bazaar's advisory locks, the second being the
/// epoch: "bzar" in ASCII, so that other users of the database's advisory
/// locks are unlikely to collide.
const LOCK_CLASS: i32 = 0x627a_6172;

/// The second key of an epoch's advisory lock: its low 31 bits.
fn lock_key(epoch: Epoch) -> i32 {
    i32::try_from(epoch.0 & 0x7fff_ffff).expect("31 bits fit an i32")
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
/// A batch's blob and all its rows in one statement, one round trip: each
/// table's rows come in as one array per column, unnested (an empty array
/// inserts nothing), and the rows' references to the batch are checked at
/// the statement's end, after the batch's own row.
const INSERT_BATCH: &str = "WITH \
     batch AS (INSERT INTO batches (seq, epoch, committed_ms, deposits, served, sales, batch) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)), \
     offer AS (INSERT INTO offers (seller, seq, product, quantity, epoch, batch) \
         SELECT s, q, p, n, $2, $1 FROM UNNEST($8::bigint[], $9::bigint[], $10::text[], \
         $11::bigint[]) AS t (s, q, p, n)), \
     request AS (INSERT INTO requests (buyer, seq, at_time, at_peer, product, requested, \
         sales, first_sale, epoch, batch) \
         SELECT b, q, t, a, p, r, s, f, $2, $1 FROM UNNEST($12::bigint[], $13::bigint[], \
         $14::bigint[], $15::bigint[], $16::text[], $17::bigint[], $18::bigint[], \
         $19::bigint[]) AS x (b, q, t, a, p, r, s, f)), \
     sale AS (INSERT INTO sales (id, buyer, request_seq, seller, offer_seq, product, \
         quantity, unit_price, credit, commission, epoch, batch) \
         SELECT i, b, r, s, o, p, q, u, c, m, $2, $1 FROM UNNEST($20::bigint[], $21::bigint[], \
         $22::bigint[], $23::bigint[], $24::bigint[], $25::text[], $26::bigint[], \
         $27::bigint[], $28::bigint[], $29::bigint[]) AS x (i, b, r, s, o, p, q, u, c, m)) \
     SELECT 1";
const UPSERT_CHECKPOINT: &str = "INSERT INTO checkpoints (seq, epoch, made_ms, book) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (seq) DO UPDATE SET epoch = EXCLUDED.epoch, made_ms = EXCLUDED.made_ms, \
     book = EXCLUDED.book";
const DROP_CHECKPOINTS: &str = "DELETE FROM checkpoints WHERE seq < $1";

impl PgStore {
    /// Reads the one `meta` row; with `lock`, takes its row lock until the
    /// transaction ends: the fence.
    fn meta(
        &self,
        tx: &mut Transaction<'_>,
        statements: &mut BTreeMap<&'static str, Statement>,
        lock: bool,
    ) -> Result<Meta, StoreError> {
        let sql = if lock { META_FOR_UPDATE } else { META };
        let statement = prepared(tx, statements, sql).map_err(|e| self.error(&e))?;
        let Some(row) = tx.query_opt(&statement, &[]).map_err(|e| self.error(&e))? else {
            return Err(self.corrupt("the meta row is missing"));
        };
        let int = |i: usize| -> Result<Option<i64>, StoreError> {
            row.try_get::<_, Option<i64>>(i).map_err(|e| self.error(&e))
        };
        let uint = |i: usize| -> Result<Option<u64>, StoreError> {
            int(i)?
                .map(|v| {
                    u64::try_from(v)
                        .map_err(|_| self.corrupt(format!("meta column {i} holds {v}, below 0")))
                })
                .transpose()
        };
        let pricing = match (uint(1)?, uint(2)?, uint(3)?, uint(4)?) {
            (Some(fish), Some(salt), Some(boar), Some(bps)) => Some(Pricing {
                fish: Money(fish),
                salt: Money(salt),
                boar: Money(boar),
                commission_bps: u32::try_from(bps)
                    .map_err(|_| self.corrupt(format!("commission of {bps} bps")))?,
            }),
            (None, None, None, None) => None,
            _ => return Err(self.corrupt("the pricing in the meta row is incomplete")),
        };
        let holder = uint(5)?.unwrap_or(0);
        Ok(Meta {
            epoch: Epoch(uint(0)?.unwrap_or(0)),
            pricing,
            lease: Lease {
                holder: PeerId(
                    u32::try_from(holder)
                        .map_err(|_| self.corrupt(format!("lease holder {holder}")))?,
                ),
                until_ms: uint(6)?.unwrap_or(0),
            },
            now_ms: uint(7)?.unwrap_or(0),
        })
    }

    /// The highest epoch opened, outside any transaction.
    fn read_epoch(&self, client: &mut Client) -> Result<Epoch, StoreError> {
        let Some(row) = client
            .query_opt("SELECT epoch FROM meta WHERE id = 1", &[])
            .map_err(|e| self.error(&e))?
        else {
            return Err(self.corrupt("the meta row is missing"));
        };
        let epoch: i64 = row.try_get(0).map_err(|e| self.error(&e))?;
        u64::try_from(epoch)
            .map(Epoch)
            .map_err(|_| self.corrupt(format!("epoch {epoch}")))
    }

    /// A copy of the [`current`](Self::current) books, then the end of
    /// `tx`.
    fn read_books(
        &self,
        mut tx: Transaction<'_>,
        statements: &mut BTreeMap<&'static str, Statement>,
        pricing: Pricing,
        cache: &mut Option<Cached>,
    ) -> Result<Book, StoreError> {
        let book = self
            .current(&mut tx, statements, pricing, cache)?
            .book
            .clone();
        tx.commit().map_err(|e| self.error(&e))?;
        Ok(book)
    }

    /// The books as of the last committed batch: the cached ones if no
    /// batch was committed since (by this or another trader), else
    /// reloaded from the newest checkpoint and the batches after it.
    fn current<'c>(
        &self,
        tx: &mut Transaction<'_>,
        statements: &mut BTreeMap<&'static str, Statement>,
        pricing: Pricing,
        cache: &'c mut Option<Cached>,
    ) -> Result<&'c mut Cached, StoreError> {
        let err = |e: postgres::Error| self.error(&e);
        let statement = prepared(tx, statements, LAST_SEQ).map_err(err)?;
        let last_seq: i64 = tx
            .query_one(&statement, &[])
            .and_then(|row| row.try_get(0))
            .map_err(err)?;
        if cache.as_ref().is_some_and(|c| c.last_seq == last_seq) {
            return Ok(cache.as_mut().expect("just checked"));
        }
        *cache = None;
        let statement = prepared(tx, statements, CHECKPOINT).map_err(err)?;
        let (from, made, mut book) = match tx.query_opt(&statement, &[]).map_err(err)? {
            Some(row) => {
                let seq: i64 = row.try_get(0).map_err(err)?;
                let made: i64 = row.try_get(1).map_err(err)?;
                let blob: &[u8] = row.try_get(2).map_err(err)?;
                let book: Book = postcard::from_bytes(blob).map_err(|e| {
                    self.corrupt(format!(
                        "the checkpoint at batch {seq} does not decode: {e}"
                    ))
                })?;
                (seq, made, book)
            }
            None => {
                // No checkpoint yet: time counts from now.
                let now: i64 = tx
                    .query_one(&format!("SELECT {}", pg_schema::NOW_MS), &[])
                    .and_then(|row| row.try_get(0))
                    .map_err(err)?;
                let book =
                    Book::new(pricing).map_err(|e| self.corrupt(format!("stored pricing: {e}")))?;
                (0, now, book)
            }
        };
        if from > last_seq {
            return Err(self.corrupt(format!(
                "a checkpoint at batch {from} but batches end at {last_seq}"
            )));
        }
        let statement = prepared(tx, statements, TAIL).map_err(err)?;
        let mut tail_sales = 0;
        let mut replayed = from;
        for row in tx.query(&statement, &[&from]).map_err(err)? {
            let seq: i64 = row.try_get(0).map_err(err)?;
            let blob: &[u8] = row.try_get(1).map_err(err)?;
            let batch: Batch = postcard::from_bytes(blob)
                .map_err(|e| self.corrupt(format!("batch {seq} does not decode: {e}")))?;
            tail_sales += batch.sales.len() as u64;
            book.apply(&batch)
                .map_err(|e| self.corrupt(format!("batch {seq} does not fit the books: {e}")))?;
            replayed = seq;
        }
        Ok(cache.insert(Cached {
            book,
            last_seq: replayed,
            checkpoint: (from, made),
            tail_sales,
        }))
    }

    /// Commits one batch in one transaction, under the fence's row lock.
    fn write(
        &self,
        conn: &mut Conn,
        cache: &mut Option<Cached>,
        epoch: Epoch,
        batch: &Batch,
    ) -> Result<(), StoreError> {
        let err = |e: postgres::Error| self.error(&e);
        let Conn {
            client, statements, ..
        } = conn;
        let mut tx = client.transaction().map_err(err)?;
        let meta = self.meta(&mut tx, statements, true)?;
        let pricing = meta.term(epoch)?;
        if batch.is_empty() {
            return Ok(());
        }
        let now = i64::try_from(meta.now_ms).unwrap_or(i64::MAX);
        let cached = self.current(&mut tx, statements, pricing, cache)?;
        let first_sale = i64::try_from(cached.book.totals().sales).unwrap_or(i64::MAX);
        let seq = cached.last_seq + 1;
        let since = |a: i64, b: i64| u64::try_from(a - b).unwrap_or(0);
        let tail_sales = cached.tail_sales + batch.sales.len() as u64;
        let due = self.policy.due(
            since(seq, cached.checkpoint.0),
            tail_sales,
            since(now, cached.checkpoint.1),
        );
        cached.book.apply(batch)?;
        self.insert(&mut tx, statements, epoch, seq, now, first_sale, batch)?;
        if due {
            let blob = postcard::to_stdvec(&cached.book).map_err(|e| StoreError::Io {
                path: self.name.clone(),
                detail: format!("cannot encode the checkpoint at batch {seq}: {e}"),
            })?;
            let epoch = self.int(epoch.0, "epoch")?;
            let statement = prepared(&mut tx, statements, UPSERT_CHECKPOINT).map_err(err)?;
            tx.execute(&statement, &[&seq, &epoch, &now, &blob])
                .map_err(err)?;
            let statement = prepared(&mut tx, statements, DROP_CHECKPOINTS).map_err(err)?;
            tx.execute(&statement, &[&seq]).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        cached.last_seq = seq;
        cached.tail_sales = tail_sales;
        if due {
            cached.checkpoint = (seq, now);
            cached.tail_sales = 0;
        }
        Ok(())
    }

    /// Writes one batch, its blob and its rows, in one statement.
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &self,
        tx: &mut Transaction<'_>,
        statements: &mut BTreeMap<&'static str, Statement>,
        epoch: Epoch,
        seq: i64,
        now: i64,
        first_sale: i64,
        batch: &Batch,
    ) -> Result<(), StoreError> {
        let err = |e: postgres::Error| self.error(&e);
        let blob = postcard::to_stdvec(batch).map_err(|e| StoreError::Io {
            path: self.name.clone(),
            detail: format!("cannot encode batch {seq}: {e}"),
        })?;
        let epoch = self.int(epoch.0, "epoch")?;
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);

        let mut offers: [Vec<i64>; 3] = Default::default();
        let mut offer_products = Vec::new();
        for offer in &batch.deposits {
            for (column, value) in offers.iter_mut().zip([
                i64::from(offer.id.seller.0),
                self.int(offer.id.seq, "offer sequence")?,
                i64::from(offer.quantity),
            ]) {
                column.push(value);
            }
            offer_products.push(offer.product.name());
        }

        let mut requests: [Vec<i64>; 7] = Default::default();
        let mut products = Vec::new();
        let mut sales: [Vec<i64>; 9] = Default::default();
        let mut sale_products = Vec::new();
        let mut next_sale = first_sale;
        for (served, filled) in batch.requests() {
            for (column, value) in requests.iter_mut().zip([
                i64::from(served.request.buyer.0),
                self.int(served.request.seq, "request sequence")?,
                self.int(served.at.time, "Lamport time")?,
                i64::from(served.at.peer.0),
                i64::from(served.requested),
                i64::from(served.sales),
                next_sale,
            ]) {
                column.push(value);
            }
            products.push(served.product.name());
            for sale in filled {
                for (column, value) in sales.iter_mut().zip([
                    next_sale,
                    i64::from(sale.request.buyer.0),
                    self.int(sale.request.seq, "request sequence")?,
                    i64::from(sale.offer.seller.0),
                    self.int(sale.offer.seq, "offer sequence")?,
                    i64::from(sale.quantity),
                    self.int(sale.unit_price.cents(), "unit price")?,
                    self.int(sale.credit.cents(), "credit")?,
                    self.int(sale.commission.cents(), "commission")?,
                ]) {
                    column.push(value);
                }
                sale_products.push(sale.product.name());
                next_sale += 1;
            }
        }

        let [seller, offer_seq, quantity] = &offers;
        let [buyer, request_seq, at_time, at_peer, requested, sold, first] = &requests;
        let [
            sale_id,
            sale_buyer,
            sale_request_seq,
            sale_seller,
            sale_offer_seq,
            sale_quantity,
            price,
            credit,
            commission,
        ] = &sales;
        let statement = prepared(tx, statements, INSERT_BATCH).map_err(err)?;
        let params: [&(dyn ToSql + Sync); 29] = [
            &seq,
            &epoch,
            &now,
            &count(batch.deposits.len()),
            &count(batch.served.len()),
            &count(batch.sales.len()),
            &blob,
            seller,
            offer_seq,
            &offer_products,
            quantity,
            buyer,
            request_seq,
            at_time,
            at_peer,
            &products,
            requested,
            sold,
            first,
            sale_id,
            sale_buyer,
            sale_request_seq,
            sale_seller,
            sale_offer_seq,
            &sale_products,
            sale_quantity,
            price,
            credit,
            commission,
        ];
        tx.execute(&statement, &params).map_err(err)?;
        Ok(())
    }
}

/// The tables of a PostgreSQL store in one snapshot, for the reports.
struct PgRecords<'t, 's> {
    tx: Transaction<'t>,
    store: &'s PgStore,
}

impl Records for PgRecords<'_, '_> {
    fn name(&self) -> PathBuf {
        self.store.name.clone()
    }

    fn check_storage(&mut self) -> Result<(), StoreError> {
        // The server checks its own pages (data checksums, if enabled).
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[i64]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let err = |e: postgres::Error| self.store.error(&e);
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.tx.query(sql, &params).map_err(err)?;
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
                        return Err(self.store.corrupt(format!(
                            "column {} is of type {other}, not one of the store's",
                            column.name()
                        )));
                    }
                }
                .map_err(err)?;
                cells.push(cell.unwrap_or(Cell::Null));
            }
            out.push(cells);
        }
        Ok(out)
    }
}

/// An error and its causes, in one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !detail.contains(&cause_text) {
            detail = format!("{detail}: {cause_text}");
        }
        source = cause.source();
    }
    detail
}

/// How errors and reports name the database: its URL without the
/// password.
fn name_of(config: &postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{host}:{port}/{db}")
}

/// A URL that did not parse, with anything between `://user:` and `@`
/// (a password) blanked out.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((login, host)) => match login.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}
