//! Upgrades a PostgreSQL store of schema version 2 (plain tables written
//! by each commit) to version 3 (the batches' JSON rows under views), in
//! one transaction under the fence's row lock.

use std::path::Path;

use postgres::Client;

use super::{
    errors::{error, int},
    schema,
    tx::{PgTx, Prepared},
    warnings::Warnings,
};
use crate::store::{StoreError, backend::Tx, facts, views};

/// Upgrades the store: the new columns, each batch's rows replayed into
/// them, the plain tables replaced by views, a checkpoint of the books.
/// Another session may have upgraded it meanwhile: the version is read
/// again under the lock.
///
/// # Errors
/// [`StoreError::Corrupt`] if a batch does not replay; what the server
/// says.
pub(super) fn upgrade(
    client: &mut Client,
    statements: &mut Prepared,
    name: &Path,
    warnings: &Warnings,
) -> Result<(), StoreError> {
    let sql = |e: postgres::Error| error(name, &e);
    let tx = client.transaction().map_err(sql)?;
    let mut taking = false;
    let mut books = PgTx {
        tx,
        statements,
        name,
        warnings,
        write: true,
        held: None,
        taking: &mut taking,
    };
    let meta = books.meta()?;
    let version: i64 = books
        .tx
        .query_one("SELECT schema_version FROM meta WHERE id = 1", &[])
        .and_then(|row| row.try_get(0))
        .map_err(sql)?;
    if version >= schema::VERSION {
        return Box::new(books).finish();
    }
    books
        .tx
        .batch_execute(&views::add_json_rows("JSONB"))
        .map_err(sql)?;
    if let Some(pricing) = meta.pricing {
        let history = facts::replay_history(&mut books, pricing)?;
        for (seq, facts) in &history.facts {
            books.execute(
                "UPDATE batches SET first_sale = $1, offer_rows = $2::text::jsonb, \
                 request_rows = $3::text::jsonb, sale_rows = $4::text::jsonb WHERE seq = $5",
                &[
                    &facts.first_sale,
                    &facts.offer_rows,
                    &facts.request_rows,
                    &facts.sale_rows,
                    seq,
                ],
            )?;
        }
        if let Some(book) = history.checkpoint()? {
            let epoch = int(name, meta.epoch.0, "epoch")?;
            books.execute(
                &format!(
                    "INSERT INTO checkpoints (seq, epoch, made_ms, book) VALUES ($1, $2, {}, $3) \
                     ON CONFLICT (seq) DO UPDATE SET epoch = EXCLUDED.epoch, \
                     made_ms = EXCLUDED.made_ms, book = EXCLUDED.book",
                    schema::NOW_MS
                ),
                &[&history.last_seq, &epoch, &book],
            )?;
            books.execute(
                "DELETE FROM checkpoints WHERE seq < $1",
                &[&history.last_seq],
            )?;
        }
    }
    books
        .tx
        .batch_execute(views::DROP_PLAIN_TABLES)
        .and_then(|()| books.tx.batch_execute(schema::VIEWS))
        .and_then(|()| books.tx.batch_execute(views::REPORT_VIEWS))
        .map_err(sql)?;
    books.execute(
        "UPDATE meta SET schema_version = $1 WHERE id = 1",
        &[&schema::VERSION],
    )?;
    Box::new(books).finish()
}
