//! The audit's checks of the plain rows: each batch's rows against the
//! batch, and the sums of all rows against the replayed books. The SQL is
//! shared by SQLite and PostgreSQL (sums cast to `BIGINT`, since
//! PostgreSQL sums integers as `NUMERIC`).

use std::collections::BTreeMap;

use bazaar_market::{Batch, Book, LedgerEntry, Receipt, Served};
use bazaar_protocol::{Money, Offer, OfferId, PeerId, Product, RequestId, Timestamp};

use super::{
    StoreError,
    records::{Records, read_rows},
};

/// Compares the rows of batch `seq` with the batch; returns the first
/// difference, if any.
pub(super) fn rows_of<R: Records + ?Sized>(
    records: &mut R,
    seq: i64,
    first_sale: usize,
    batch: &Batch,
) -> Result<Option<String>, StoreError> {
    if let Some(difference) = offers_differ(records, seq, batch)? {
        return Ok(Some(difference));
    }
    if let Some(difference) = requests_differ(records, seq, first_sale, batch)? {
        return Ok(Some(difference));
    }
    sales_differ(records, seq, first_sale, batch)
}

/// The `offers` rows of batch `seq` against its deposits.
fn offers_differ<R: Records + ?Sized>(
    records: &mut R,
    seq: i64,
    batch: &Batch,
) -> Result<Option<String>, StoreError> {
    let offers = read_rows(
        records,
        "SELECT seller, seq, product, quantity FROM offers WHERE batch = $1 \
         ORDER BY seller, seq",
        &[seq],
        |row| {
            Ok(Offer {
                id: OfferId {
                    seller: PeerId(row.uint(0)?),
                    seq: row.uint(1)?,
                },
                product: row.product(2)?,
                quantity: row.uint(3)?,
            })
        },
    )?;
    let mut deposits = batch.deposits.clone();
    deposits.sort_by_key(|o| o.id);
    Ok(differ("offers", seq, &offers, &deposits))
}

/// The `requests` rows of batch `seq` against the requests it served,
/// each with the first of its sales (counted from `first_sale`).
fn requests_differ<R: Records + ?Sized>(
    records: &mut R,
    seq: i64,
    first_sale: usize,
    batch: &Batch,
) -> Result<Option<String>, StoreError> {
    let requests = read_rows(
        records,
        "SELECT buyer, seq, at_time, at_peer, product, requested, sales, first_sale \
         FROM requests WHERE batch = $1 ORDER BY first_sale, at_time, at_peer",
        &[seq],
        |row| {
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
            Ok((served, row.uint::<usize>(7)?))
        },
    )?;
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
    Ok(differ("requests", seq, &requests, &expected))
}

/// The `sales` rows of batch `seq` against its sales, numbered from
/// `first_sale`.
fn sales_differ<R: Records + ?Sized>(
    records: &mut R,
    seq: i64,
    first_sale: usize,
    batch: &Batch,
) -> Result<Option<String>, StoreError> {
    let sales = read_rows(
        records,
        "SELECT buyer, request_seq, seller, offer_seq, product, quantity, unit_price, \
         credit, commission, id FROM sales WHERE batch = $1 ORDER BY id",
        &[seq],
        |row| {
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
            Ok((row.uint::<usize>(9)?, entry))
        },
    )?;
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
    let sums = read_rows(records, sql, &[], |row| {
        Ok(((PeerId(row.uint(0)?), row.product(1)?), row.uint(2)?))
    })?;
    Ok(sums.into_iter().collect())
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
    check_goods(records, book, violations)?;
    check_money(records, book, violations)?;
    check_receipts(records, book, violations)?;
    check_anomalies(records, violations)
}

/// Each seller's goods: offered in the rows = sold in the rows + on offer
/// in the books, and the books' totals as the rows say.
fn check_goods<R: Records + ?Sized>(
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
    Ok(())
}

/// The sellers' credits and the commission in the books, as the sales
/// rows add them up.
fn check_money<R: Records + ?Sized>(
    records: &mut R,
    book: &Book,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    let credits: BTreeMap<PeerId, Money> = read_rows(
        records,
        "SELECT seller, CAST(SUM(credit) AS BIGINT) FROM sales GROUP BY seller",
        &[],
        |row| Ok((PeerId(row.uint(0)?), Money(row.uint(1)?))),
    )?
    .into_iter()
    .collect();
    if &credits != book.credits() {
        violations.push("sellers' credits in the books disagree with the sales rows".into());
    }
    let commission = read_rows(
        records,
        "SELECT CAST(COALESCE(SUM(commission), 0) AS BIGINT) FROM sales",
        &[],
        |row| row.uint::<u64>(0),
    )?;
    let commission = Money(commission.first().copied().unwrap_or(0));
    if commission != book.commission() {
        violations.push(format!(
            "the commission in the books is {}, the sales rows add up to {commission}",
            book.commission(),
        ));
    }
    Ok(())
}

/// Each buyer's goods and payments in the books, as the sales rows add
/// them up.
fn check_receipts<R: Records + ?Sized>(
    records: &mut R,
    book: &Book,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    let rows = read_rows(
        records,
        "SELECT buyer, product, CAST(SUM(quantity) AS BIGINT), \
         CAST(SUM(quantity * unit_price) AS BIGINT) FROM sales GROUP BY 1, 2",
        &[],
        |row| {
            Ok((
                PeerId(row.uint(0)?),
                row.product(1)?,
                row.uint(2)?,
                Money(row.uint(3)?),
            ))
        },
    )?;
    let mut receipts: BTreeMap<PeerId, Receipt> = BTreeMap::new();
    for (buyer, product, units, paid) in rows {
        let receipt = receipts.entry(buyer).or_default();
        receipt.goods.insert(product, units);
        receipt.paid += paid;
    }
    if receipts != book.totals().receipts {
        violations
            .push("buyers' goods and payments in the books disagree with the sales rows".into());
    }
    Ok(())
}

/// Rows that no sound history has (see [`ANOMALIES`]), counted.
fn check_anomalies<R: Records + ?Sized>(
    records: &mut R,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    for (sql, what) in ANOMALIES {
        let counts = read_rows(records, sql, &[], |row| row.int(0))?;
        let count = counts.first().copied().unwrap_or(0);
        if count > 0 {
            violations.push(format!("{count} {what}"));
        }
    }
    Ok(())
}
