//! The SQLite schema of the books, as documented in `docs/STORE.md`.
//!
//! The `batches` table is the history: each row holds one committed
//! [`Batch`](bazaar_market::Batch), postcard-encoded, and replaying them in
//! `seq` order rebuilds the [`Book`](bazaar_market::Book) exactly. Beside
//! it, in the same row, the batch's facts as JSON rows; the `offers`,
//! `requests` and `sales` views unnest them, so that `sqlite3` (and the
//! audit) read the books as plain tables while a commit writes one row.
//! The `checkpoints` table holds the books (the live state) as of one
//! batch, written in the same transaction as that batch, so that opening
//! the books costs the checkpoint and the batches after it.

/// The version of the schema this code writes and reads.
pub(super) const VERSION: i64 = 3;

/// The name of the database file inside the data directory.
pub(super) const FILE_NAME: &str = "bazaar.db";

/// The history, one row a batch, and the checkpoints.
pub(super) const HISTORY: &str = "
CREATE TABLE batches (
    seq          INTEGER PRIMARY KEY,
    epoch        INTEGER NOT NULL,
    committed_ms INTEGER NOT NULL,
    deposits     INTEGER NOT NULL,
    served       INTEGER NOT NULL,
    sales        INTEGER NOT NULL,
    batch        BLOB NOT NULL,
    first_sale   INTEGER NOT NULL DEFAULT 0,
    offer_rows   TEXT,
    request_rows TEXT,
    sale_rows    TEXT
);

CREATE TABLE checkpoints (
    seq     INTEGER PRIMARY KEY,
    epoch   INTEGER NOT NULL,
    made_ms INTEGER NOT NULL,
    book    BLOB NOT NULL
);
";

/// The plain tables of the books, as views over the batches' JSON rows
/// (the reports' views follow: `views::REPORT_VIEWS`).
pub(super) const VIEWS: &str = "
CREATE VIEW offers AS
    SELECT o.value ->> 0 AS seller, o.value ->> 1 AS seq, o.value ->> 2 AS product,
           o.value ->> 3 AS quantity, b.epoch AS epoch, b.seq AS batch
    FROM batches AS b, json_each(b.offer_rows) AS o;

CREATE VIEW requests AS
    SELECT r.value ->> 0 AS buyer, r.value ->> 1 AS seq, r.value ->> 2 AS at_time,
           r.value ->> 3 AS at_peer, r.value ->> 4 AS product, r.value ->> 5 AS requested,
           r.value ->> 6 AS sales, r.value ->> 7 AS first_sale,
           b.epoch AS epoch, b.seq AS batch
    FROM batches AS b, json_each(b.request_rows) AS r;

CREATE VIEW sales AS
    SELECT b.first_sale + s.key AS id, s.value ->> 0 AS buyer, s.value ->> 1 AS request_seq,
           s.value ->> 2 AS seller, s.value ->> 3 AS offer_seq, s.value ->> 4 AS product,
           s.value ->> 5 AS quantity, s.value ->> 6 AS unit_price, s.value ->> 7 AS credit,
           s.value ->> 8 AS commission, b.epoch AS epoch, b.seq AS batch
    FROM batches AS b, json_each(b.sale_rows) AS s;

";

/// Upgrades a store of schema version 1 (no checkpoints, no lease) to
/// version 2's `meta` and `checkpoints`; `views::add_json_rows` follows.
pub(super) const UPGRADE_1_TO_2: &str = "
ALTER TABLE meta ADD COLUMN lease_holder INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meta ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;

CREATE TABLE checkpoints (
    seq     INTEGER PRIMARY KEY,
    epoch   INTEGER NOT NULL,
    made_ms INTEGER NOT NULL,
    book    BLOB NOT NULL
);
";

/// The store's clock, the database's own: milliseconds since the Unix
/// epoch, as SQLite reads the host's clock.
pub(super) const NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
