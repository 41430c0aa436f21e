//! Reports on a durable store: the audit and the ledger, for `bazaar
//! audit` and `bazaar ledger`. Both read the whole history as it streams
//! by, a page at a time, in memory bounded by the live state; both are
//! written once against [`Records`] and read SQLite and PostgreSQL alike.

use std::fmt::Write as _;

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::Epoch;

use super::{
    StoreError,
    lease::pricing_of,
    records::{Records, Row},
    sums::{check_sums, rows_of},
};

/// Batches read at a time: a page of history, never the whole of it.
const PAGE: i64 = 256;

/// The ledger of any durable store, the sales of a page of batches at a
/// time (the `sales` view unnests each batch's rows: a page is found by
/// the batches' key, never by scanning the history).
pub(super) fn ledger<R: Records + ?Sized>(
    records: &mut R,
    mut each: impl FnMut(&str) -> bool,
) -> Result<(), StoreError> {
    let last = records.query("SELECT COALESCE(MAX(seq), 0) FROM batches", &[])?;
    let last = match last.first() {
        Some(cells) => Row {
            records: &*records,
            cells,
        }
        .int(0)?,
        None => 0,
    };
    let mut line = String::new();
    let mut after = 0;
    while after < last {
        let page = records.query(
            "SELECT id, epoch, batch, buyer, quantity, product, seller FROM sales \
             WHERE batch > $1 AND batch <= $2 ORDER BY id",
            &[after, after + PAGE],
        )?;
        for cells in &page {
            let row = Row {
                records: &*records,
                cells,
            };
            line.clear();
            let _ = write!(
                line,
                "epoch {} batch {}: peer {} bought {} {} from peer {}",
                row.uint::<u64>(1)?,
                row.int(2)?,
                row.uint::<u32>(3)?,
                row.uint::<u32>(4)?,
                row.product(5)?,
                row.uint::<u32>(6)?,
            );
            if !each(&line) {
                return Ok(());
            }
        }
        after += PAGE;
    }
    Ok(())
}

/// The epoch and prices of the store, from its `meta` row.
fn meta<R: Records + ?Sized>(records: &mut R) -> Result<(Epoch, Option<Pricing>), StoreError> {
    let rows = records.query(
        "SELECT epoch, fish_cents, salt_cents, boar_cents, commission_bps FROM meta WHERE id = 1",
        &[],
    )?;
    let Some(cells) = rows.first() else {
        return Err(records.corrupt("the meta row is missing".into()));
    };
    let row = Row {
        records: &*records,
        cells,
    };
    let prices = [
        row.opt_uint::<u64>(1)?,
        row.opt_uint::<u64>(2)?,
        row.opt_uint::<u64>(3)?,
        row.opt_uint::<u64>(4)?,
    ];
    let pricing = pricing_of(prices).map_err(|e| records.corrupt(e))?;
    Ok((Epoch(row.uint(0)?), pricing))
}

/// Up to [`PAGE`] batches after batch `after`, decoded, in order.
pub(super) fn batches<R: Records + ?Sized>(
    records: &mut R,
    after: i64,
) -> Result<Vec<(i64, Epoch, Batch)>, StoreError> {
    let rows = records.query(
        "SELECT seq, epoch, batch FROM batches WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[after, PAGE],
    )?;
    rows.iter()
        .map(|cells| {
            let row = Row {
                records: &*records,
                cells,
            };
            let seq = row.int(0)?;
            let batch = postcard::from_bytes(row.blob(2)?)
                .map_err(|e| records.corrupt(format!("batch {seq} does not decode: {e}")))?;
            Ok((seq, Epoch(row.uint(1)?), batch))
        })
        .collect()
}

/// Hands every batch after `after` to `each`, in order, a page at a time.
fn replay<R: Records + ?Sized>(
    records: &mut R,
    after: i64,
    mut each: impl FnMut(&mut R, i64, Epoch, &Batch) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut after = after;
    loop {
        let page = batches(records, after)?;
        for (seq, epoch, batch) in &page {
            each(records, *seq, *epoch, batch)?;
            after = *seq;
        }
        if page.len() < PAGE as usize {
            return Ok(());
        }
    }
}

/// The newest checkpoint: the batch it includes up to, and the books.
fn checkpoint<R: Records + ?Sized>(records: &mut R) -> Result<Option<(i64, Book)>, StoreError> {
    let rows = records.query(
        "SELECT seq, book FROM checkpoints ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    let Some(cells) = rows.first() else {
        return Ok(None);
    };
    let row = Row {
        records: &*records,
        cells,
    };
    let seq = row.int(0)?;
    let book = postcard::from_bytes(row.blob(1)?).map_err(|e| {
        records.corrupt(format!(
            "the checkpoint at batch {seq} does not decode: {e}"
        ))
    })?;
    Ok(Some((seq, book)))
}

/// The audit of any durable store (see
/// [`DurableStore::audit_report`](super::DurableStore::audit_report)).
pub(super) fn audit<R: Records + ?Sized>(records: &mut R) -> Result<(String, bool), StoreError> {
    records.check_storage()?;
    let name = records.name();
    let (epoch, pricing) = meta(records)?;
    let mut out = String::new();
    let Some(pricing) = pricing else {
        let _ = writeln!(
            out,
            "store {}: epoch {epoch}, never opened by a trader: nothing to audit",
            name.display(),
        );
        out.push_str("audit passed\n");
        return Ok((out, true));
    };
    let Replayed {
        book,
        batches,
        replayable,
        mut violations,
    } = replay_history(records, epoch, pricing)?;
    let _ = writeln!(
        out,
        "store {}: epoch {epoch}, {batches} batches",
        name.display()
    );
    if !replayable {
        // The books stop at the batch that did not fit: nothing more to
        // check against them.
        return Ok(finish(out, &violations));
    }
    write_totals(&mut out, &book, &mut violations);
    check_checkpoint(records, &book, &mut violations)?;
    check_sums(records, &book, &mut violations)?;
    Ok(finish(out, &violations))
}

/// The whole history as the audit replays it.
struct Replayed {
    /// The books the batches make, up to the first that does not fit.
    book: Book,
    /// How many batches the store holds.
    batches: u64,
    /// Whether every batch fit the books.
    replayable: bool,
    /// What the replay found broken.
    violations: Vec<String>,
}

/// Replays every batch into new books at `pricing`, checking that the
/// batches follow each other, respect the fence of the store's `epoch`,
/// and match their plain rows.
fn replay_history<R: Records + ?Sized>(
    records: &mut R,
    epoch: Epoch,
    pricing: Pricing,
) -> Result<Replayed, StoreError> {
    let mut violations = Vec::new();
    let mut book =
        Book::new(pricing).map_err(|e| records.corrupt(format!("stored pricing: {e}")))?;
    let mut batches = 0u64;
    let mut last = (0i64, Epoch(0));
    let mut replayable = true;
    let mut first_sale = 0usize;
    let mut rows_differ: Option<String> = None;
    replay(records, 0, |records, seq, batch_epoch, batch| {
        batches += 1;
        check_order(&mut violations, last, (seq, batch_epoch), epoch);
        last = (seq, batch_epoch);
        if rows_differ.is_none() {
            rows_differ = rows_of(records, seq, first_sale, batch)?;
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
    Ok(Replayed {
        book,
        batches,
        replayable,
        violations,
    })
}

/// Batch `seq` of `batch_epoch` must follow the `last` one with no gap,
/// in no older epoch, and in none newer than the store's `epoch`.
fn check_order(
    violations: &mut Vec<String>,
    last: (i64, Epoch),
    (seq, batch_epoch): (i64, Epoch),
    epoch: Epoch,
) {
    let (last_seq, last_epoch) = last;
    if seq != last_seq + 1 {
        violations.push(format!(
            "batches missing: batch {seq} follows batch {last_seq}"
        ));
    }
    if batch_epoch < last_epoch {
        violations.push(format!(
            "fencing: batch {seq} of epoch {batch_epoch} follows a batch of epoch {last_epoch}"
        ));
    }
    if batch_epoch > epoch {
        violations.push(format!(
            "fencing: batch {seq} of epoch {batch_epoch} is newer than the store's epoch {epoch}"
        ));
    }
}

/// The trades, goods and money of the replayed books, or what their own
/// audit finds broken.
fn write_totals(out: &mut String, book: &Book, violations: &mut Vec<String>) {
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
fn check_checkpoint<R: Records + ?Sized>(
    records: &mut R,
    whole: &Book,
    violations: &mut Vec<String>,
) -> Result<(), StoreError> {
    let Some((seq, mut book)) = checkpoint(records)? else {
        return Ok(());
    };
    let mut fits = true;
    replay(records, seq, |_, after, _, batch| {
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
