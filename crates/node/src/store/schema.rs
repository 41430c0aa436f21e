//! The SQLite schema of the books, as documented in `docs/STORE.md`.
//!
//! The `batches` table is the history: each row holds one committed
//! [`Batch`](bazaar_market::Batch), postcard-encoded, and replaying them in
//! `seq` order rebuilds the [`Book`](bazaar_market::Book) exactly. The
//! `checkpoints` table holds the books (the live state) as of one batch,
//! written in the same transaction as that batch, so that opening the books
//! costs the checkpoint and the batches after it, not the whole history.
//! The `offers`, `requests` and `sales` tables hold the batches' facts as
//! plain rows, written in the same transaction, so that `sqlite3` (and the
//! audit) can read the books without decoding anything.

/// The version of the schema this code writes and reads.
pub(super) const VERSION: i64 = 2;

/// The name of the database file inside the data directory.
pub(super) const FILE_NAME: &str = "bazaar.db";

/// Creates every table and view of version 1's shape, with the lease in
/// `meta`; [`CHECKPOINTS`] completes it. The one `meta` row is inserted beside it
/// (epoch 0, no pricing: no trader has opened the store yet).
pub(super) const CREATE: &str = "
CREATE TABLE meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL,
    epoch          INTEGER NOT NULL,
    fish_cents     INTEGER,
    salt_cents     INTEGER,
    boar_cents     INTEGER,
    commission_bps INTEGER,
    lease_holder   INTEGER NOT NULL DEFAULT 0,
    lease_until_ms INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE batches (
    seq          INTEGER PRIMARY KEY,
    epoch        INTEGER NOT NULL,
    committed_ms INTEGER NOT NULL,
    deposits     INTEGER NOT NULL,
    served       INTEGER NOT NULL,
    sales        INTEGER NOT NULL,
    batch        BLOB NOT NULL
);

CREATE TABLE offers (
    seller   INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    product  TEXT NOT NULL CHECK (product IN ('fish', 'salt', 'boar')),
    quantity INTEGER NOT NULL,
    epoch    INTEGER NOT NULL,
    batch    INTEGER NOT NULL REFERENCES batches (seq),
    PRIMARY KEY (seller, seq)
) WITHOUT ROWID;

CREATE TABLE requests (
    buyer      INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    at_time    INTEGER NOT NULL,
    at_peer    INTEGER NOT NULL,
    product    TEXT NOT NULL CHECK (product IN ('fish', 'salt', 'boar')),
    requested  INTEGER NOT NULL,
    sales      INTEGER NOT NULL,
    first_sale INTEGER NOT NULL,
    epoch      INTEGER NOT NULL,
    batch      INTEGER NOT NULL REFERENCES batches (seq),
    PRIMARY KEY (buyer, seq)
) WITHOUT ROWID;

CREATE TABLE sales (
    id          INTEGER PRIMARY KEY,
    buyer       INTEGER NOT NULL,
    request_seq INTEGER NOT NULL,
    seller      INTEGER NOT NULL,
    offer_seq   INTEGER NOT NULL,
    product     TEXT NOT NULL CHECK (product IN ('fish', 'salt', 'boar')),
    quantity    INTEGER NOT NULL,
    unit_price  INTEGER NOT NULL,
    credit      INTEGER NOT NULL,
    commission  INTEGER NOT NULL,
    epoch       INTEGER NOT NULL,
    batch       INTEGER NOT NULL REFERENCES batches (seq)
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
";

/// What version 2 added to version 1's tables: the indexes by batch and
/// the checkpoints. Part of a new store, and of the upgrade.
pub(super) const CHECKPOINTS: &str = "
CREATE INDEX offers_by_batch ON offers (batch);
CREATE INDEX requests_by_batch ON requests (batch);
CREATE INDEX sales_by_batch ON sales (batch);

CREATE TABLE checkpoints (
    seq     INTEGER PRIMARY KEY,
    epoch   INTEGER NOT NULL,
    made_ms INTEGER NOT NULL,
    book    BLOB NOT NULL
);
";

/// Upgrades a store of schema version 1 (no checkpoints, no lease) to
/// version 2, before [`CHECKPOINTS`]; the caller writes the first
/// checkpoint in the same transaction.
pub(super) const MIGRATE_1_TO_2: &str = "
ALTER TABLE meta ADD COLUMN lease_holder INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meta ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;

UPDATE meta SET schema_version = 2 WHERE id = 1;
";

/// The store's clock, the database's own: milliseconds since the Unix
/// epoch, as SQLite reads the host's clock.
pub(super) const NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
