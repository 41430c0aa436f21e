//! What one batch changed in the books: the unit of persistence.

use bazaar_protocol::{Offer, Product, Quantity, RequestId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::LedgerEntry;

/// A buy request served in a batch: what was asked, when, and how many
/// sales (ledger entries) filled it. Zero sales means out of stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Served {
    /// The request's Lamport timestamp; a batch serves in this order.
    pub at: Timestamp,
    /// The request.
    pub request: RequestId,
    /// The product asked for.
    pub product: Product,
    /// Units asked for.
    pub requested: Quantity,
    /// How many consecutive sales of the batch (or of the ledger) filled it.
    pub sales: u32,
}

/// A self-contained record of everything one batch changed: the deposits it
/// accepted, the requests it served and the sales it made.
///
/// [`Book::apply`](crate::Book::apply) on the book as it was before the batch
/// reproduces the book after it, so a store that logs batches (or rows made
/// from them) can rebuild the books. `sales` are in order: the first
/// `served[0].sales` of them belong to `served[0]`, the next ones to
/// `served[1]`, and so on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Deposits accepted, in the order they were stocked.
    pub deposits: Vec<Offer>,
    /// Requests served, in timestamp order.
    pub served: Vec<Served>,
    /// Sales made, grouped by request in the order of `served`.
    pub sales: Vec<LedgerEntry>,
}

impl Batch {
    /// Whether the batch changed nothing.
    pub fn is_empty(&self) -> bool {
        self.deposits.is_empty() && self.served.is_empty() && self.sales.is_empty()
    }

    /// Each request served with its own sales. Stops early if `sales` is
    /// shorter than `served` claims (a malformed batch).
    pub fn requests(&self) -> impl Iterator<Item = (&Served, &[LedgerEntry])> {
        let mut start = 0;
        self.served.iter().map_while(move |served| {
            let end = start + served.sales as usize;
            let sales = self.sales.get(start..end)?;
            start = end;
            Some((served, sales))
        })
    }

    /// Empties the batch, keeping its allocations for reuse.
    pub fn clear(&mut self) {
        self.deposits.clear();
        self.served.clear();
        self.sales.clear();
    }
}
