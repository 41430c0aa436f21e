//! Reports on a data directory's store: the audit and the ledger, for
//! `bazaar audit` and `bazaar ledger`.

use std::{fmt::Write as _, path::Path};

use bazaar_market::{Book, LedgerEntry, Served};
use bazaar_protocol::{Epoch, Money, OfferId, PeerId, RequestId, Timestamp};
use rusqlite::Connection;

use super::{
    SqliteStore, StoreError,
    sqlite::{product, read_meta, replay, sql_error},
};

/// Audits the books stored in `dir`: replays every committed batch, checks
/// the invariants of docs/ARCHITECTURE.md on the result ([`Book::audit`]: goods and
/// money conserved, no request filled twice), checks that batches follow
/// each other in epoch order with none missing, and that the plain rows
/// (`offers`, `requests`, `sales`) say what the batches say.
///
/// Returns the report, one finding a line (trades, goods per product,
/// money, then each violation by name), and whether the audit passed.
///
/// # Errors
/// [`StoreError::Io`] if `dir` holds no store or it cannot be read;
/// [`StoreError::Corrupt`] if it is damaged beyond auditing (a batch that
/// does not decode, a file that is not a database).
pub fn audit_report(dir: &Path) -> Result<(String, bool), StoreError> {
    let store = SqliteStore::open_existing(dir)?;
    store.read(audit)
}

/// The ledger stored in `dir`, one sale a line in ledger order, in the lab's
/// format after the sale's epoch and batch:
/// `epoch 2 batch 17: peer 3 bought 4 fish from peer 2`.
///
/// # Errors
/// [`StoreError::Io`] if `dir` holds no store or it cannot be read;
/// [`StoreError::Corrupt`] if a stored batch does not decode.
pub fn ledger_lines(dir: &Path) -> Result<Vec<String>, StoreError> {
    let store = SqliteStore::open_existing(dir)?;
    store.read(|conn, path| {
        let mut lines = Vec::new();
        replay(conn, path, |seq, epoch, batch| {
            lines.extend(
                batch
                    .sales
                    .iter()
                    .map(|sale| format!("epoch {epoch} batch {seq}: {sale}")),
            );
            Ok(())
        })?;
        Ok(lines)
    })
}

fn audit(conn: &Connection, path: &Path) -> Result<(String, bool), StoreError> {
    let meta = read_meta(conn, path)?;
    let mut out = String::new();
    let Some(pricing) = meta.pricing else {
        let _ = writeln!(
            out,
            "store {}: epoch {}, never opened by a trader: nothing to audit",
            path.display(),
            meta.epoch
        );
        out.push_str("audit passed\n");
        return Ok((out, true));
    };
    let mut violations = Vec::new();
    let mut book = Book::new(pricing).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        detail: format!("stored pricing: {e}"),
    })?;
    let mut batches = 0u64;
    let mut last = (0i64, Epoch(0));
    let mut replayable = true;
    replay(conn, path, |seq, epoch, batch| {
        batches += 1;
        let (last_seq, last_epoch) = last;
        if seq != last_seq + 1 {
            violations.push(format!(
                "batches missing: batch {seq} follows batch {last_seq}"
            ));
        }
        if epoch < last_epoch {
            violations.push(format!(
                "fencing: batch {seq} of epoch {epoch} follows a batch of epoch {last_epoch}"
            ));
        }
        if epoch > meta.epoch {
            violations.push(format!(
                "fencing: batch {seq} of epoch {epoch} is newer than the store's epoch {}",
                meta.epoch
            ));
        }
        last = (seq, epoch);
        if replayable && let Err(e) = book.apply(batch) {
            violations.push(format!("batch {seq} does not fit the books: {e}"));
            replayable = false;
        }
        Ok(())
    })?;
    let _ = writeln!(
        out,
        "store {}: epoch {}, {batches} batches",
        path.display(),
        meta.epoch
    );
    if !replayable {
        // The books stop at the batch that did not fit: nothing more to
        // check against them.
        return Ok(finish(out, &violations));
    }
    let ledger = book.ledger();
    let _ = writeln!(
        out,
        "trades: {} sales filling {} requests",
        ledger.len(),
        book.answered()
    );
    match book.audit() {
        Ok(summary) => {
            for (product, goods) in &summary.goods {
                let _ = writeln!(
                    out,
                    "{product}: offered {}, sold {}, on offer {}",
                    goods.offered, goods.sold, goods.on_offer
                );
            }
            let _ = writeln!(
                out,
                "money: buyers paid {} = sellers' credits {} + commission {}",
                summary.paid, summary.credits, summary.commission
            );
        }
        Err(violation) => violations.push(violation.to_string()),
    }
    check_rows(conn, path, &book, &mut violations)?;
    Ok(finish(out, &violations))
}

/// The report's verdict.
fn finish(mut out: String, violations: &[String]) -> (String, bool) {
    for violation in violations {
        let _ = writeln!(out, "VIOLATION: {violation}");
    }
    if violations.is_empty() {
        out.push_str("audit passed\n");
    } else {
        let _ = writeln!(out, "audit FAILED: {} violation(s)", violations.len());
    }
    (out, violations.is_empty())
}

/// Checks the `offers`, `requests` and `sales` rows against the books the
/// batches rebuilt.
fn check_rows(
    conn: &Connection,
    path: &Path,
    book: &Book,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    let sql = |e| sql_error(path, e);

    let mut stmt = conn
        .prepare(
            "SELECT buyer, request_seq, seller, offer_seq, product, quantity, unit_price, \
             credit, commission, id FROM sales ORDER BY id",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut stored = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(4).map_err(sql)?;
        let id: i64 = row.get(9).map_err(sql)?;
        let entry = LedgerEntry {
            request: RequestId {
                buyer: PeerId(row.get(0).map_err(sql)?),
                seq: row.get(1).map_err(sql)?,
            },
            offer: OfferId {
                seller: PeerId(row.get(2).map_err(sql)?),
                seq: row.get(3).map_err(sql)?,
            },
            product: product(path, &name)?,
            quantity: row.get(5).map_err(sql)?,
            unit_price: Money(row.get(6).map_err(sql)?),
            credit: Money(row.get(7).map_err(sql)?),
            commission: Money(row.get(8).map_err(sql)?),
        };
        stored.push((id, entry));
    }
    let expected = book.ledger().entries().iter().enumerate();
    let expected = expected.map(|(i, e)| (i64::try_from(i).unwrap_or(i64::MAX), *e));
    compare("sales", stored, expected, violations);

    let mut stmt = conn
        .prepare("SELECT seller, seq, product, quantity FROM offers ORDER BY seller, seq")
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut stored = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(2).map_err(sql)?;
        stored.push(bazaar_protocol::Offer {
            id: OfferId {
                seller: PeerId(row.get(0).map_err(sql)?),
                seq: row.get(1).map_err(sql)?,
            },
            product: product(path, &name)?,
            quantity: row.get(3).map_err(sql)?,
        });
    }
    compare(
        "offers",
        stored,
        book.offers().values().copied(),
        violations,
    );

    let mut stmt = conn
        .prepare(
            "SELECT buyer, seq, at_time, at_peer, product, requested, sales, first_sale \
             FROM requests ORDER BY buyer, seq",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut stored = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(4).map_err(sql)?;
        let served = Served {
            at: Timestamp::new(row.get(2).map_err(sql)?, PeerId(row.get(3).map_err(sql)?)),
            request: RequestId {
                buyer: PeerId(row.get(0).map_err(sql)?),
                seq: row.get(1).map_err(sql)?,
            },
            product: product(path, &name)?,
            requested: row.get(5).map_err(sql)?,
            sales: row.get(6).map_err(sql)?,
        };
        let first: usize = row.get(7).map_err(sql)?;
        stored.push((served, first));
    }
    compare(
        "requests",
        stored,
        book.requests().map(|(served, first, _)| (*served, first)),
        violations,
    );
    Ok(())
}

/// Records a violation if the rows of `table` differ from what the batches
/// say, naming the first difference.
fn compare<T: PartialEq + std::fmt::Debug>(
    table: &str,
    stored: Vec<T>,
    expected: impl Iterator<Item = T>,
    violations: &mut Vec<String>,
) {
    let expected: Vec<T> = expected.collect();
    if stored == expected {
        return;
    }
    let detail = match stored.iter().zip(&expected).position(|(s, e)| s != e) {
        Some(i) => format!(
            "row {i} is {:?}, the batches say {:?}",
            stored[i], expected[i]
        ),
        None => format!("{} rows, the batches make {}", stored.len(), expected.len()),
    };
    violations.push(format!(
        "the {table} table disagrees with the batches: {detail}"
    ));
}
