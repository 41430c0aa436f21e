//! The SQL both databases share: the `meta` table, the reports' views
//! over the `sales` view, and what an upgrade from version 2 adds and
//! drops.

/// The `meta` row's table: the fence (the newest epoch), the prices and
/// the lease. A new store inserts its one row beside it (epoch 0, no
/// pricing: no trader has opened the store yet). `BIGINT` is SQLite's
/// 64-bit integer too.
pub(super) const META_TABLE: &str = "
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
";

/// The reports' views, created after the `offers`, `requests` and `sales`
/// views each database defines in its own SQL.
pub(super) const REPORT_VIEWS: &str = "
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

/// Adds version 3's columns to version 2's `batches`, the JSON rows being
/// of the database's type `json` (`TEXT`, `JSONB`); the upgrade then fills
/// them from the batches and drops the plain tables
/// ([`DROP_PLAIN_TABLES`]).
pub(super) fn add_json_rows(json: &str) -> String {
    format!(
        "ALTER TABLE batches ADD COLUMN first_sale BIGINT NOT NULL DEFAULT 0; \
         ALTER TABLE batches ADD COLUMN offer_rows {json}; \
         ALTER TABLE batches ADD COLUMN request_rows {json}; \
         ALTER TABLE batches ADD COLUMN sale_rows {json};"
    )
}

/// Drops version 2's plain tables and the views over them, once their
/// rows are in the batches' JSON rows.
pub(super) const DROP_PLAIN_TABLES: &str = "
DROP VIEW ledger;
DROP VIEW commission;
DROP VIEW credits;
DROP TABLE sales;
DROP TABLE requests;
DROP TABLE offers;
";
