//! A batch's facts as plain rows, written beside the batch in the same
//! row: the offers, requests and sales it made, each as a JSON array of
//! rows (arrays of numbers and product names). The `offers`, `requests`
//! and `sales` views unnest them, so that `sqlite3`, `psql` and the audit
//! read the books as tables without decoding anything, while a commit
//! writes one row whatever the batch holds.

use bazaar_market::{Batch, Book, Pricing};

use super::{StoreError, backend::Tx};

/// The facts of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The ledger's number of the batch's first sale (sales are numbered
    /// from 0 across the whole history).
    pub first_sale: i64,
    /// Deposits accepted.
    pub deposits: i64,
    /// Requests served.
    pub served: i64,
    /// Sales made.
    pub sales: i64,
    /// `[[seller, seq, product, quantity], …]`, or `None` if empty.
    pub offer_rows: Option<String>,
    /// `[[buyer, seq, at_time, at_peer, product, requested, sales,
    /// first_sale], …]`, or `None` if empty.
    pub request_rows: Option<String>,
    /// `[[buyer, request_seq, seller, offer_seq, product, quantity,
    /// unit_price, credit, commission], …]` (a sale's number is the
    /// batch's `first_sale` plus its place), or `None` if empty.
    pub sale_rows: Option<String>,
}

impl Facts {
    /// The facts of `batch`, whose first sale is the ledger's sale number
    /// `first_sale`.
    pub fn of(batch: &Batch, first_sale: u64) -> Self {
        let offers: Vec<_> = batch
            .deposits
            .iter()
            .map(|o| (o.id.seller.0, o.id.seq, o.product.name(), o.quantity))
            .collect();
        let mut next = first_sale;
        let requests: Vec<_> = batch
            .served
            .iter()
            .map(|s| {
                let first = next;
                next += u64::from(s.sales);
                (
                    s.request.buyer.0,
                    s.request.seq,
                    s.at.time,
                    s.at.peer.0,
                    s.product.name(),
                    s.requested,
                    s.sales,
                    first,
                )
            })
            .collect();
        let sales: Vec<_> = batch
            .sales
            .iter()
            .map(|s| {
                (
                    s.request.buyer.0,
                    s.request.seq,
                    s.offer.seller.0,
                    s.offer.seq,
                    s.product.name(),
                    s.quantity,
                    s.unit_price.cents(),
                    s.credit.cents(),
                    s.commission.cents(),
                )
            })
            .collect();
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            first_sale: i64::try_from(first_sale).unwrap_or(i64::MAX),
            deposits: count(offers.len()),
            served: count(requests.len()),
            sales: count(sales.len()),
            offer_rows: json(&offers),
            request_rows: json(&requests),
            sale_rows: json(&sales),
        }
    }
}

/// The whole history replayed, for an upgrade that fills in the facts.
pub struct History {
    /// The store, as errors name it.
    pub name: std::path::PathBuf,
    /// The books after the last batch.
    pub book: Book,
    /// The last batch, 0 if none.
    pub last_seq: i64,
    /// Each batch's facts, by sequence number.
    pub facts: Vec<(i64, Facts)>,
}

impl History {
    /// The books encoded for a checkpoint at the last batch, if there is
    /// one.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the books do not encode.
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        if self.last_seq == 0 {
            return Ok(None);
        }
        postcard::to_stdvec(&self.book)
            .map(Some)
            .map_err(|e| StoreError::Io {
                path: self.name.clone(),
                detail: format!("cannot encode the books: {e}"),
            })
    }
}

/// Replays every batch in `tx` from empty books with `pricing`, and
/// derives each batch's facts.
///
/// # Errors
/// [`StoreError::Corrupt`] if a batch does not decode or fit the books.
pub fn replay_history(tx: &mut dyn Tx, pricing: Pricing) -> Result<History, StoreError> {
    let name = tx.name();
    let corrupt = |detail: String| StoreError::Corrupt {
        path: name.clone(),
        detail,
    };
    let mut book = Book::new(pricing).map_err(|e| corrupt(format!("stored pricing: {e}")))?;
    let mut facts = Vec::new();
    let mut last_seq = 0;
    tx.tail(0, &mut |seq, blob| {
        let batch: Batch = postcard::from_bytes(blob)
            .map_err(|e| corrupt(format!("batch {seq} does not decode: {e}")))?;
        facts.push((seq, Facts::of(&batch, book.totals().sales)));
        book.apply(&batch)
            .map_err(|e| corrupt(format!("batch {seq} does not fit the books: {e}")))?;
        last_seq = seq;
        Ok(())
    })?;
    Ok(History {
        name,
        book,
        last_seq,
        facts,
    })
}

/// `rows` as a JSON array, `None` if there are none.
fn json<T: serde::Serialize>(rows: &[T]) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    Some(serde_json::to_string(rows).expect("numbers and product names always encode"))
}

#[cfg(test)]
mod tests {
    use bazaar_market::{Book, Pricing};
    use bazaar_protocol::{Buy, Money, Offer, OfferId, PeerId, Product, RequestId, Timestamp};

    use super::*;

    #[test]
    fn a_batch_becomes_rows_numbered_from_its_first_sale() {
        let mut book = Book::new(Pricing {
            fish: Money(100),
            salt: Money(50),
            boar: Money(900),
            commission_bps: 1000,
        })
        .unwrap();
        let seller = PeerId(1);
        let mut offers = [(
            Timestamp::new(1, seller),
            Offer {
                id: OfferId { seller, seq: 7 },
                product: Product::Fish,
                quantity: 3,
            },
        )];
        let mut buys = [(
            Timestamp::new(2, PeerId(2)),
            Buy {
                id: RequestId {
                    buyer: PeerId(2),
                    seq: 4,
                },
                product: Product::Fish,
                quantity: 2,
            },
        )];
        let batch = book.serve(&mut offers, &mut buys);
        let facts = Facts::of(&batch, 40);
        assert_eq!(
            (facts.first_sale, facts.deposits, facts.served, facts.sales),
            (40, 1, 1, 1)
        );
        assert_eq!(facts.offer_rows.as_deref(), Some(r#"[[1,7,"fish",3]]"#));
        assert_eq!(
            facts.request_rows.as_deref(),
            Some(r#"[[2,4,2,2,"fish",2,1,40]]"#)
        );
        assert_eq!(
            facts.sale_rows.as_deref(),
            Some(r#"[[2,4,1,7,"fish",2,100,180,20]]"#)
        );
        assert_eq!(Facts::of(&Batch::default(), 0).sale_rows, None);
    }
}
