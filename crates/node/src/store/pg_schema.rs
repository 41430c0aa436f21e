//! The PostgreSQL schema of the books, as documented in `docs/STORE.md`:
//! the same tables, columns and views as the SQLite store (schema version
//! 2), in PostgreSQL's types, so that one page documents both and one
//! audit reads both.

use postgres::Client;

use super::StoreError;

/// The version of the schema this code writes and reads. PostgreSQL stores
/// began at version 2, the SQLite store's version with checkpoints and
/// leases: there is no older PostgreSQL schema to upgrade.
pub(super) const VERSION: i64 = 2;

/// The tables of a bazaar store, all of which a store has.
pub(super) const TABLES: [&str; 6] = [
    "meta",
    "batches",
    "offers",
    "requests",
    "sales",
    "checkpoints",
];

/// Creates every table and view, and the one `meta` row (epoch 0, no
/// pricing: no trader has opened the store yet).
pub(super) const CREATE: &str = "
CREATE TABLE meta (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
    schema_version BIGINT NOT NULL,
    epoch          BIGINT NOT NULL,
    fish_cents     BIGINT,
    salt_cents     BIGINT,
    boar_cents     BIGINT,
    commission_bps BIGINT,
    lease_holder   BIGINT NOT NULL DEFAULT 0,
    lease_until_ms BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE batches (
    seq          BIGINT PRIMARY KEY,
    epoch        BIGINT NOT NULL,
    committed_ms BIGINT NOT NULL,
    deposits     BIGINT NOT NULL,
    served       BIGINT NOT NULL,
    sales        BIGINT NOT NULL,
    batch        BYTEA NOT NULL
);

CREATE TABLE offers (
    seller   BIGINT NOT NULL,
    seq      BIGINT NOT NULL,
    product  TEXT NOT NULL CHECK (product IN ('fish', 'salt', 'boar')),
    quantity BIGINT NOT NULL,
    epoch    BIGINT NOT NULL,
    batch    BIGINT NOT NULL REFERENCES batches (seq),
    PRIMARY KEY (seller, seq)
);

CREATE TABLE requests (
    buyer      BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    at_time    BIGINT NOT NULL,
    at_peer    BIGINT NOT NULL,
    product    TEXT NOT NULL CHECK (product IN ('fish', 'salt', 'boar')),
    requested  BIGINT NOT NULL,
    sales      BIGINT NOT NULL,
    first_sale BIGINT NOT NULL,
    epoch      BIGINT NOT NULL,
    batch      BIGINT NOT NULL REFERENCES batches (seq),
    PRIMARY KEY (buyer, seq)
);

CREATE TABLE sales (
    id          BIGINT PRIMARY KEY,
    buyer       BIGINT NOT NULL,
    request_seq BIGINT NOT NULL,
    seller      BIGINT NOT NULL,
    offer_seq   BIGINT NOT NULL,
    product     TEXT NOT NULL CHECK (product IN ('fish', 'salt', 'boar')),
    quantity    BIGINT NOT NULL,
    unit_price  BIGINT NOT NULL,
    credit      BIGINT NOT NULL,
    commission  BIGINT NOT NULL,
    epoch       BIGINT NOT NULL,
    batch       BIGINT NOT NULL REFERENCES batches (seq)
);

CREATE INDEX offers_by_batch ON offers (batch);
CREATE INDEX requests_by_batch ON requests (batch);
CREATE INDEX sales_by_batch ON sales (batch);

CREATE TABLE checkpoints (
    seq     BIGINT PRIMARY KEY,
    epoch   BIGINT NOT NULL,
    made_ms BIGINT NOT NULL,
    book    BYTEA NOT NULL
);

CREATE VIEW credits AS
    SELECT seller, SUM(credit) AS cents FROM sales GROUP BY seller;

CREATE VIEW commission AS
    SELECT COALESCE(SUM(commission), 0) AS cents FROM sales;

CREATE VIEW ledger AS
    SELECT id, epoch, batch,
           'peer ' || buyer || ' bought ' || quantity || ' ' || product
               || ' from peer ' || seller AS line
    FROM sales ORDER BY id;

INSERT INTO meta (id, schema_version, epoch) VALUES (1, 2, 0);
";

/// The store's clock, the database's own: milliseconds since the Unix
/// epoch. `clock_timestamp()`, not `now()`: `now()` is the start of the
/// transaction, which may have waited for the fence's row lock.
pub(super) const NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

/// A lock key that only serialises the creation of the tables by two
/// processes starting at once ("bazaar" in ASCII). Not the fence: the
/// fence is the `meta` row, locked in each write's own transaction.
const CREATE_LOCK: i64 = 0x0000_6261_7a61_6172;

/// Whether the database holds a bazaar store, checks its schema version,
/// and creates one if it holds none of its tables and `create` is set.
///
/// # Errors
/// [`StoreError::Corrupt`] for another schema version, a foreign `meta`
/// table or some of the tables without the rest; [`StoreError::Io`] for a
/// database with no store when `create` is not set; what the server says.
pub(super) fn prepare(
    client: &mut Client,
    create: bool,
    corrupt: impl Fn(String) -> StoreError,
    io: impl Fn(String) -> StoreError,
    sql: impl Fn(postgres::Error) -> StoreError,
) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(&sql)?;
    if create {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])
            .map_err(&sql)?;
    }
    let mut present = Vec::new();
    for table in TABLES {
        let row = tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .map_err(&sql)?;
        if row.get::<_, bool>(0) {
            present.push(table);
        }
    }
    if present.is_empty() {
        if !create {
            return Err(io(
                "no bazaar store in this database (wrong --store?)".into()
            ));
        }
        tx.batch_execute(CREATE).map_err(&sql)?;
        return tx.commit().map_err(&sql);
    }
    if present.len() < TABLES.len() {
        let missing: Vec<&str> = TABLES
            .into_iter()
            .filter(|t| !present.contains(t))
            .collect();
        return Err(corrupt(format!(
            "not a whole bazaar store: it lacks the table(s) {}",
            missing.join(", ")
        )));
    }
    let version = tx
        .query_opt("SELECT schema_version FROM meta WHERE id = 1", &[])
        .map_err(|e| match e.code() {
            Some(code) if code.code().starts_with("42") => corrupt(format!(
                "not a bazaar store: its meta table is another program's ({})",
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |db| db.message().to_owned())
            )),
            _ => sql(e),
        })?
        .map(|row| row.try_get::<_, i64>(0))
        .transpose()
        .map_err(|e| {
            corrupt(format!(
                "not a bazaar store: its schema version is not a number: {e}"
            ))
        })?;
    match version {
        Some(VERSION) => tx.commit().map_err(&sql),
        Some(other) => Err(corrupt(format!(
            "schema version {other}; this bazaar reads version {VERSION}"
        ))),
        None => Err(corrupt("the meta row is missing".into())),
    }
}
