//! Reports on a data directory's store: the audit and the ledger, for
//! `bazaar audit` and `bazaar ledger`. Both read the whole history from the
//! database as it streams by, in memory bounded by the live state.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use bazaar_market::{Batch, Book, LedgerEntry, Receipt, Served};
use bazaar_protocol::{Epoch, Money, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use rusqlite::{Connection, params};

use super::{
    SqliteStore, StoreError,
    sqlite::{latest_checkpoint, product, quick_check, read_meta, replay, sql_error},
};

/// Audits the books stored in `dir`, from the whole history:
///
/// - checks every page of the file (`PRAGMA quick_check`);
/// - replays every committed batch from an empty book, checking that each
///   fits, that batches follow each other in epoch order with none
///   missing, and that the plain rows (`offers`, `requests`, `sales`) of
///   each batch say what the batch says;
/// - checks the invariants of docs/ARCHITECTURE.md on the result
///   ([`Book::audit`]: goods and money conserved, answers sound);
/// - checks that the newest checkpoint and the batches after it make the
///   very same books (what a new trader opens);
/// - sums the rows in SQL and holds the books to them: every seller's and
///   product's units offered = sold + on offer, credits, commission and
///   each buyer's goods and payments as the sales add up, no sale outside
///   its request's batch, no request filled beyond what it asked, no offer
///   sold beyond its deposit.
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

/// Calls `each` with every sale stored in `dir`, one line at a time in
/// ledger order, in the lab's format after the sale's epoch and batch:
/// `epoch 2 batch 17: peer 3 bought 4 fish from peer 2`. Stops early, with
/// no error, when `each` returns false.
///
/// # Errors
/// [`StoreError::Io`] if `dir` holds no store or it cannot be read;
/// [`StoreError::Corrupt`] if a stored row is damaged.
pub fn for_each_ledger_line(
    dir: &Path,
    mut each: impl FnMut(&str) -> bool,
) -> Result<(), StoreError> {
    let store = SqliteStore::open_existing(dir)?;
    store.read(|conn, path| {
        let sql = |e| sql_error(path, e);
        let mut stmt = conn
            .prepare("SELECT epoch, batch, buyer, quantity, product, seller FROM sales ORDER BY id")
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        let mut line = String::new();
        while let Some(row) = rows.next().map_err(sql)? {
            let name: String = row.get(4).map_err(sql)?;
            line.clear();
            let _ = write!(
                line,
                "epoch {} batch {}: peer {} bought {} {} from peer {}",
                row.get::<_, u64>(0).map_err(sql)?,
                row.get::<_, i64>(1).map_err(sql)?,
                row.get::<_, u32>(2).map_err(sql)?,
                row.get::<_, u32>(3).map_err(sql)?,
                product(path, &name)?,
                row.get::<_, u32>(5).map_err(sql)?,
            );
            if !each(&line) {
                break;
            }
        }
        Ok(())
    })
}

/// Every ledger line stored in `dir` (see [`for_each_ledger_line`]): for
/// tests and small stores; the history may be long.
///
/// # Errors
/// As [`for_each_ledger_line`].
pub fn ledger_lines(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut lines = Vec::new();
    for_each_ledger_line(dir, |line| {
        lines.push(line.to_owned());
        true
    })?;
    Ok(lines)
}

fn audit(conn: &Connection, path: &Path) -> Result<(String, bool), StoreError> {
    quick_check(conn, path)?;
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
    let mut first_sale = 0usize;
    let mut rows_differ: Option<String> = None;
    replay(conn, path, 0, |seq, epoch, batch| {
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
        if rows_differ.is_none() {
            rows_differ = rows_of(conn, path, seq, first_sale, batch).map_err(|e| e.to_string())?;
        }
        first_sale += batch.sales.len();
        if replayable && let Err(e) = book.apply(batch) {
            violations.push(format!("batch {seq} does not fit the books: {e}"));
            replayable = false;
        }
        Ok(())
    })?;
    if let Some(difference) = rows_differ {
        violations.push(difference);
    }
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
    let _ = writeln!(
        out,
        "trades: {} sales filling {} requests",
        book.totals().sales,
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
    check_checkpoint(conn, path, &book, &mut violations)?;
    check_sums(conn, path, &book, &mut violations)?;
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

/// The books a new trader opens (the newest checkpoint and the batches
/// after it) must be those the whole history makes.
fn check_checkpoint(
    conn: &Connection,
    path: &Path,
    whole: &Book,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    let Some((seq, _, mut book)) = latest_checkpoint(conn, path)? else {
        return Ok(());
    };
    let mut fits = true;
    replay(conn, path, seq, |after, _, batch| {
        if fits && let Err(e) = book.apply(batch) {
            violations.push(format!(
                "batch {after} does not fit the checkpoint at batch {seq}: {e}"
            ));
            fits = false;
        }
        Ok(())
    })?;
    if fits && &book != whole {
        violations.push(format!(
            "the checkpoint at batch {seq} and the batches after it make other books than \
             the whole history"
        ));
    }
    Ok(())
}

/// Compares the rows of batch `seq` with the batch; returns the first
/// difference, if any.
fn rows_of(
    conn: &Connection,
    path: &Path,
    seq: i64,
    first_sale: usize,
    batch: &Batch,
) -> Result<Option<String>, StoreError> {
    let sql = |e| sql_error(path, e);
    let mut stmt = conn
        .prepare_cached(
            "SELECT seller, seq, product, quantity FROM offers WHERE batch = ?1 \
             ORDER BY seller, seq",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([seq]).map_err(sql)?;
    let mut offers = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(2).map_err(sql)?;
        offers.push(Offer {
            id: OfferId {
                seller: PeerId(row.get(0).map_err(sql)?),
                seq: row.get(1).map_err(sql)?,
            },
            product: product(path, &name)?,
            quantity: row.get(3).map_err(sql)?,
        });
    }
    let mut deposits = batch.deposits.clone();
    deposits.sort_by_key(|o| o.id);
    if let Some(difference) = differ("offers", seq, &offers, &deposits) {
        return Ok(Some(difference));
    }

    let mut stmt = conn
        .prepare_cached(
            "SELECT buyer, seq, at_time, at_peer, product, requested, sales, first_sale \
             FROM requests WHERE batch = ?1 ORDER BY first_sale, at_time, at_peer",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([seq]).map_err(sql)?;
    let mut requests = Vec::new();
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
        requests.push((served, first));
    }
    let mut next = first_sale;
    let expected: Vec<(Served, usize)> = batch
        .served
        .iter()
        .map(|served| {
            let first = next;
            next += served.sales as usize;
            (*served, first)
        })
        .collect();
    if let Some(difference) = differ("requests", seq, &requests, &expected) {
        return Ok(Some(difference));
    }

    let mut stmt = conn
        .prepare_cached(
            "SELECT buyer, request_seq, seller, offer_seq, product, quantity, unit_price, \
             credit, commission, id FROM sales WHERE batch = ?1 ORDER BY id",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([seq]).map_err(sql)?;
    let mut sales = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(4).map_err(sql)?;
        let id: usize = row.get(9).map_err(sql)?;
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
        sales.push((id, entry));
    }
    let expected: Vec<(usize, LedgerEntry)> =
        (first_sale..).zip(batch.sales.iter().copied()).collect();
    Ok(differ("sales", seq, &sales, &expected))
}

/// The first difference between the rows of `table` for batch `seq` and
/// what the batch says, in words.
fn differ<T: PartialEq + std::fmt::Debug>(
    table: &str,
    seq: i64,
    rows: &[T],
    batch: &[T],
) -> Option<String> {
    if rows == batch {
        return None;
    }
    let detail = match rows.iter().zip(batch).position(|(r, b)| r != b) {
        Some(i) => format!("row {:?}, the batch says {:?}", rows[i], batch[i]),
        None => format!("{} rows, the batch has {}", rows.len(), batch.len()),
    };
    Some(format!(
        "the {table} table disagrees with batch {seq}: {detail}"
    ))
}

/// Sums the rows in SQL and holds the replayed books to them.
fn check_sums(
    conn: &Connection,
    path: &Path,
    book: &Book,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    let sql = |e| sql_error(path, e);
    let per_seller = |query: &str| -> Result<BTreeMap<(PeerId, Product), u64>, StoreError> {
        let mut stmt = conn.prepare(query).map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        let mut sums = BTreeMap::new();
        while let Some(row) = rows.next().map_err(sql)? {
            let name: String = row.get(1).map_err(sql)?;
            let key = (PeerId(row.get(0).map_err(sql)?), product(path, &name)?);
            sums.insert(key, row.get(2).map_err(sql)?);
        }
        Ok(sums)
    };
    let offered = per_seller("SELECT seller, product, SUM(quantity) FROM offers GROUP BY 1, 2")?;
    let sold = per_seller("SELECT seller, product, SUM(quantity) FROM sales GROUP BY 1, 2")?;
    let mut on_offer: BTreeMap<(PeerId, Product), u64> = BTreeMap::new();
    for product in Product::ALL {
        for lot in book.lots(product) {
            *on_offer.entry((lot.offer.seller, product)).or_default() += u64::from(lot.remaining);
        }
    }
    for (&(seller, product), &offered) in &offered {
        let sold = sold.get(&(seller, product)).copied().unwrap_or(0);
        let left = on_offer.get(&(seller, product)).copied().unwrap_or(0);
        if offered != sold + left {
            violations.push(format!(
                "peer {seller}'s {product}: the rows offer {offered} but sell {sold} with {left} \
                 on offer"
            ));
        }
    }
    if let Some(key) = sold.keys().find(|k| !offered.contains_key(k)) {
        violations.push(format!(
            "peer {}'s {}: sold but never offered in the rows",
            key.0, key.1
        ));
    }
    if offered != book.totals().offered || sold != book.totals().sold {
        violations.push("the books' totals of goods disagree with the rows".into());
    }

    let mut stmt = conn
        .prepare("SELECT seller, SUM(credit) FROM sales GROUP BY seller")
        .map_err(sql)?;
    let credits: BTreeMap<PeerId, Money> = stmt
        .query_map([], |row| Ok((PeerId(row.get(0)?), Money(row.get(1)?))))
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    if &credits != book.credits() {
        violations.push("sellers' credits in the books disagree with the sales rows".into());
    }
    let commission: u64 = conn
        .query_row(
            "SELECT COALESCE(SUM(commission), 0) FROM sales",
            [],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if Money(commission) != book.commission() {
        violations.push(format!(
            "the commission in the books is {}, the sales rows add up to {}",
            book.commission(),
            Money(commission)
        ));
    }

    let mut stmt = conn
        .prepare(
            "SELECT buyer, product, SUM(quantity), SUM(quantity * unit_price) FROM sales \
             GROUP BY 1, 2",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut receipts: BTreeMap<PeerId, Receipt> = BTreeMap::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(1).map_err(sql)?;
        let receipt = receipts
            .entry(PeerId(row.get(0).map_err(sql)?))
            .or_default();
        receipt
            .goods
            .insert(product(path, &name)?, row.get(2).map_err(sql)?);
        receipt.paid += Money(row.get(3).map_err(sql)?);
    }
    if receipts != book.totals().receipts {
        violations
            .push("buyers' goods and payments in the books disagree with the sales rows".into());
    }

    for (query, what) in [
        (
            "SELECT COUNT(*) FROM sales s LEFT JOIN requests r \
             ON r.buyer = s.buyer AND r.seq = s.request_seq \
             WHERE r.batch IS NULL OR r.batch != s.batch",
            "sales outside their request's batch (a request filled twice)",
        ),
        (
            "SELECT COUNT(*) FROM requests r LEFT JOIN \
             (SELECT buyer, request_seq, COUNT(*) AS n, SUM(quantity) AS units FROM sales \
              GROUP BY 1, 2) s ON s.buyer = r.buyer AND s.request_seq = r.seq \
             WHERE COALESCE(s.n, 0) != r.sales OR COALESCE(s.units, 0) > r.requested",
            "requests whose sales are not theirs, or fill beyond what was asked",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT seller, offer_seq, SUM(quantity) AS units FROM sales \
             GROUP BY 1, 2) s LEFT JOIN offers o ON o.seller = s.seller AND o.seq = s.offer_seq \
             WHERE o.quantity IS NULL OR s.units > o.quantity",
            "offers sold beyond their deposit, or never deposited",
        ),
    ] {
        let count: i64 = conn
            .query_row(query, params![], |row| row.get(0))
            .map_err(sql)?;
        if count > 0 {
            violations.push(format!("{count} {what}"));
        }
    }
    Ok(())
}
