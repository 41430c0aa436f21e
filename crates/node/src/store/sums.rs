//! The audit's checks of the plain rows: each batch's rows against the
//! batch, and the sums of all rows against the replayed books. The SQL is
//! shared by SQLite and PostgreSQL (sums cast to `BIGINT`, since
//! PostgreSQL sums integers as `NUMERIC`).

use std::collections::BTreeMap;

use bazaar_market::{Batch, Book, LedgerEntry, Receipt, Served};
use bazaar_protocol::{Money, Offer, OfferId, PeerId, Product, RequestId, Timestamp};

use super::{
    StoreError,
    records::{Records, Row},
};

/// Compares the rows of batch `seq` with the batch; returns the first
/// difference, if any.
pub(super) fn rows_of<R: Records + ?Sized>(
    records: &mut R,
    seq: i64,
    first_sale: usize,
    batch: &Batch,
) -> Result<Option<String>, StoreError> {
    let rows = records.query(
        "SELECT seller, seq, product, quantity FROM offers WHERE batch = $1 \
         ORDER BY seller, seq",
        &[seq],
    )?;
    let mut offers = Vec::with_capacity(rows.len());
    for cells in &rows {
        let row = Row {
            records: &*records,
            cells,
        };
        offers.push(Offer {
            id: OfferId {
                seller: PeerId(row.uint(0)?),
                seq: row.uint(1)?,
            },
            product: row.product(2)?,
            quantity: row.uint(3)?,
        });
    }
    let mut deposits = batch.deposits.clone();
    deposits.sort_by_key(|o| o.id);
    if let Some(difference) = differ("offers", seq, &offers, &deposits) {
        return Ok(Some(difference));
    }

    let rows = records.query(
        "SELECT buyer, seq, at_time, at_peer, product, requested, sales, first_sale \
         FROM requests WHERE batch = $1 ORDER BY first_sale, at_time, at_peer",
        &[seq],
    )?;
    let mut requests = Vec::with_capacity(rows.len());
    for cells in &rows {
        let row = Row {
            records: &*records,
            cells,
        };
        let served = Served {
            at: Timestamp::new(row.uint(2)?, PeerId(row.uint(3)?)),
            request: RequestId {
                buyer: PeerId(row.uint(0)?),
                seq: row.uint(1)?,
            },
            product: row.product(4)?,
            requested: row.uint(5)?,
            sales: row.uint(6)?,
        };
        requests.push((served, row.uint::<usize>(7)?));
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

    let rows = records.query(
        "SELECT buyer, request_seq, seller, offer_seq, product, quantity, unit_price, \
         credit, commission, id FROM sales WHERE batch = $1 ORDER BY id",
        &[seq],
    )?;
    let mut sales = Vec::with_capacity(rows.len());
    for cells in &rows {
        let row = Row {
            records: &*records,
            cells,
        };
        let entry = LedgerEntry {
            request: RequestId {
                buyer: PeerId(row.uint(0)?),
                seq: row.uint(1)?,
            },
            offer: OfferId {
                seller: PeerId(row.uint(2)?),
                seq: row.uint(3)?,
            },
            product: row.product(4)?,
            quantity: row.uint(5)?,
            unit_price: Money(row.uint(6)?),
            credit: Money(row.uint(7)?),
            commission: Money(row.uint(8)?),
        };
        sales.push((row.uint::<usize>(9)?, entry));
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

/// Units per seller and product, summed in SQL by `sql`.
fn per_seller<R: Records + ?Sized>(
    records: &mut R,
    sql: &str,
) -> Result<BTreeMap<(PeerId, Product), u64>, StoreError> {
    let rows = records.query(sql, &[])?;
    let mut sums = BTreeMap::new();
    for cells in &rows {
        let row = Row {
            records: &*records,
            cells,
        };
        sums.insert((PeerId(row.uint(0)?), row.product(1)?), row.uint(2)?);
    }
    Ok(sums)
}

/// Counts of rows that no sound history has, and what each means.
const ANOMALIES: [(&str, &str); 3] = [
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
];

/// Sums the rows in SQL and holds the replayed books to them.
pub(super) fn check_sums<R: Records + ?Sized>(
    records: &mut R,
    book: &Book,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    let offered = per_seller(
        records,
        "SELECT seller, product, CAST(SUM(quantity) AS BIGINT) FROM offers GROUP BY 1, 2",
    )?;
    let sold = per_seller(
        records,
        "SELECT seller, product, CAST(SUM(quantity) AS BIGINT) FROM sales GROUP BY 1, 2",
    )?;
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

    let rows = records.query(
        "SELECT seller, CAST(SUM(credit) AS BIGINT) FROM sales GROUP BY seller",
        &[],
    )?;
    let mut credits = BTreeMap::new();
    for cells in &rows {
        let row = Row {
            records: &*records,
            cells,
        };
        credits.insert(PeerId(row.uint(0)?), Money(row.uint(1)?));
    }
    if &credits != book.credits() {
        violations.push("sellers' credits in the books disagree with the sales rows".into());
    }
    let rows = records.query(
        "SELECT CAST(COALESCE(SUM(commission), 0) AS BIGINT) FROM sales",
        &[],
    )?;
    let commission = match rows.first() {
        Some(cells) => Row {
            records: &*records,
            cells,
        }
        .uint::<u64>(0)?,
        None => 0,
    };
    if Money(commission) != book.commission() {
        violations.push(format!(
            "the commission in the books is {}, the sales rows add up to {}",
            book.commission(),
            Money(commission)
        ));
    }

    let rows = records.query(
        "SELECT buyer, product, CAST(SUM(quantity) AS BIGINT), \
         CAST(SUM(quantity * unit_price) AS BIGINT) FROM sales GROUP BY 1, 2",
        &[],
    )?;
    let mut receipts: BTreeMap<PeerId, Receipt> = BTreeMap::new();
    for cells in &rows {
        let row = Row {
            records: &*records,
            cells,
        };
        let receipt = receipts.entry(PeerId(row.uint(0)?)).or_default();
        receipt.goods.insert(row.product(1)?, row.uint(2)?);
        receipt.paid += Money(row.uint(3)?);
    }
    if receipts != book.totals().receipts {
        violations
            .push("buyers' goods and payments in the books disagree with the sales rows".into());
    }

    for (sql, what) in ANOMALIES {
        let rows = records.query(sql, &[])?;
        let count = match rows.first() {
            Some(cells) => Row {
                records: &*records,
                cells,
            }
            .int(0)?,
            None => 0,
        };
        if count > 0 {
            violations.push(format!("{count} {what}"));
        }
    }
    Ok(())
}
