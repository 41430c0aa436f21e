//! The PostgreSQL schema of the books, as documented in `docs/STORE.md`:
//! the same tables, columns and views as the SQLite store (schema version
//! 3), in PostgreSQL's types (`JSONB` for the batches' rows), so that one
//! page documents both and one audit reads both.

use std::path::Path;

use postgres::Client;

use super::errors::error;
use crate::store::{StoreError, views};

/// The version of the schema this code writes and reads: the SQLite
/// store's version 3. PostgreSQL stores began at version 2 (plain tables
/// written by each commit), which is upgraded in place.
pub(super) const VERSION: i64 = 3;

/// The tables (and, since version 3, views) of a bazaar store, all of
/// which a store has.
pub(super) const TABLES: [&str; 6] = [
    "meta",
    "batches",
    "offers",
    "requests",
    "sales",
    "checkpoints",
];

/// Creates the history's tables, after `views::META_TABLE`, and the one
/// `meta` row (epoch 0, no pricing: no trader has opened the store yet).
pub(super) const CREATE: &str = "
CREATE TABLE batches (
    seq          BIGINT PRIMARY KEY,
    epoch        BIGINT NOT NULL,
    committed_ms BIGINT NOT NULL,
    deposits     BIGINT NOT NULL,
    served       BIGINT NOT NULL,
    sales        BIGINT NOT NULL,
    batch        BYTEA NOT NULL,
    first_sale   BIGINT NOT NULL DEFAULT 0,
    offer_rows   JSONB,
    request_rows JSONB,
    sale_rows    JSONB
);

CREATE TABLE checkpoints (
    seq     BIGINT PRIMARY KEY,
    epoch   BIGINT NOT NULL,
    made_ms BIGINT NOT NULL,
    book    BYTEA NOT NULL
);

INSERT INTO meta (id, schema_version, epoch) VALUES (1, 3, 0);
";

/// The plain tables of the books, as views over the batches' JSON rows
/// (the reports' views follow: `views::REPORT_VIEWS`).
pub(super) const VIEWS: &str = "
CREATE VIEW offers AS
    SELECT (o.value ->> 0)::bigint AS seller, (o.value ->> 1)::bigint AS seq,
           o.value ->> 2 AS product, (o.value ->> 3)::bigint AS quantity,
           b.epoch AS epoch, b.seq AS batch
    FROM batches AS b CROSS JOIN LATERAL jsonb_array_elements(b.offer_rows) AS o (value);

CREATE VIEW requests AS
    SELECT (r.value ->> 0)::bigint AS buyer, (r.value ->> 1)::bigint AS seq,
           (r.value ->> 2)::bigint AS at_time, (r.value ->> 3)::bigint AS at_peer,
           r.value ->> 4 AS product, (r.value ->> 5)::bigint AS requested,
           (r.value ->> 6)::bigint AS sales, (r.value ->> 7)::bigint AS first_sale,
           b.epoch AS epoch, b.seq AS batch
    FROM batches AS b CROSS JOIN LATERAL jsonb_array_elements(b.request_rows) AS r (value);

CREATE VIEW sales AS
    SELECT b.first_sale + s.n - 1 AS id, (s.value ->> 0)::bigint AS buyer,
           (s.value ->> 1)::bigint AS request_seq, (s.value ->> 2)::bigint AS seller,
           (s.value ->> 3)::bigint AS offer_seq, s.value ->> 4 AS product,
           (s.value ->> 5)::bigint AS quantity, (s.value ->> 6)::bigint AS unit_price,
           (s.value ->> 7)::bigint AS credit, (s.value ->> 8)::bigint AS commission,
           b.epoch AS epoch, b.seq AS batch
    FROM batches AS b
    CROSS JOIN LATERAL jsonb_array_elements(b.sale_rows) WITH ORDINALITY AS s (value, n);

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
/// and creates one if it holds none of its tables and `create` is set;
/// returns the store's schema version (an older one is upgraded by the
/// caller).
///
/// # Errors
/// [`StoreError::Corrupt`] for a newer schema version, a foreign `meta`
/// table or some of the tables without the rest; [`StoreError::Io`] for a
/// database with no store when `create` is not set; what the server says.
pub(super) fn prepare(client: &mut Client, name: &Path, create: bool) -> Result<i64, StoreError> {
    let sql = |e: postgres::Error| error(name, &e);
    let corrupt = |detail: String| StoreError::Corrupt {
        path: name.to_owned(),
        detail,
    };
    let mut tx = client.transaction().map_err(sql)?;
    if create {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])
            .map_err(sql)?;
    }
    let mut present = Vec::new();
    for table in TABLES {
        let row = tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .map_err(sql)?;
        if row.get::<_, bool>(0) {
            present.push(table);
        }
    }
    if present.is_empty() {
        if !create {
            return Err(StoreError::Io {
                path: name.to_owned(),
                detail: "no bazaar store in this database (wrong --store?)".into(),
            });
        }
        tx.batch_execute(views::META_TABLE)
            .and_then(|()| tx.batch_execute(CREATE))
            .and_then(|()| tx.batch_execute(VIEWS))
            .and_then(|()| tx.batch_execute(views::REPORT_VIEWS))
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        return Ok(VERSION);
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
        Some(version @ 2..=VERSION) => {
            tx.commit().map_err(sql)?;
            Ok(version)
        }
        Some(other) => Err(corrupt(format!(
            "schema version {other}; this bazaar reads versions 2 to {VERSION}"
        ))),
        None => Err(corrupt("the meta row is missing".into())),
    }
}
