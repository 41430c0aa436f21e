//! A store that starts stocked: one big deposit per product, committed by
//! the first trader like any batch, so that buyers under load are filled
//! rather than told "out of stock". It also counts the trader's commits.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_protocol::{Epoch, Offer, OfferId, PeerId, Product, Quantity};

use bazaar_node::{
    Incarnation,
    store::{Claim, Store, StoreError},
};

/// Units in each stock lot: more than any run can sell.
const LOT: Quantity = 1_000_000_000;

/// Offer sequence numbers of the stock: deposits of its sellers' earlier
/// incarnation, numbered below anything they offer in
/// [`SELLERS_INCARNATION`]. Numbered
/// above, the sellers' own offers would be taken for copies of recorded
/// ones and acknowledged as sold out, and each seller would offer anew at
/// once, for ever: a loop of two frames as fast as the trader answers,
/// beside every experiment's buys.
const FIRST_SEQ: u64 = 1;

/// The incarnation the sellers of a stocked market run in: their second,
/// the stock holding their first's deposits.
pub const SELLERS_INCARNATION: Incarnation = Incarnation(1);

/// A [`Store`] that deposits the stock with the first trader that opens
/// it. The lots are in the sellers' names, so that each sale sends a sale
/// notice to a real peer as it would in a stocked market.
pub struct StockedStore {
    inner: Arc<dyn Store>,
    stock: Mutex<Option<Batch>>,
    commits: AtomicU64,
}

impl StockedStore {
    /// Wraps `inner`, stocking it in the names of `sellers` (none: the
    /// store is passed through unstocked).
    pub fn new(inner: Arc<dyn Store>, sellers: &[PeerId]) -> Self {
        let deposits: Vec<Offer> = Product::ALL
            .iter()
            .zip(sellers.iter().cycle())
            .zip(FIRST_SEQ..)
            .map(|((&product, &seller), seq)| Offer {
                id: OfferId { seller, seq },
                product,
                quantity: LOT,
            })
            .collect();
        let stock = (!deposits.is_empty()).then(|| Batch {
            deposits,
            ..Batch::default()
        });
        Self {
            inner,
            stock: Mutex::new(stock),
            commits: AtomicU64::new(0),
        }
    }

    /// Batches committed so far (the stock not counted).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

impl Store for StockedStore {
    fn open(&self, claim: Claim, pricing: &Pricing) -> Result<Book, StoreError> {
        let epoch = claim.epoch;
        let mut book = self.inner.open(claim, pricing)?;
        let mut stock = self.stock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(batch) = stock.as_ref() {
            self.inner.commit(epoch, batch)?;
            book.apply(batch)?;
            *stock = None;
        }
        Ok(book)
    }

    fn reload(&self, epoch: Epoch) -> Result<Book, StoreError> {
        self.inner.reload(epoch)
    }

    fn renew(&self, epoch: Epoch, lease: std::time::Duration) -> Result<(), StoreError> {
        self.inner.renew(epoch, lease)
    }

    fn commit(&self, epoch: Epoch, batch: &Batch) -> Result<(), StoreError> {
        self.inner.commit(epoch, batch)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn books(&self) -> Result<Option<Book>, StoreError> {
        self.inner.books()
    }

    /// As the store it wraps: a stocked store in memory is called in place,
    /// not on the blocking pool.
    fn blocks(&self) -> bool {
        self.inner.blocks()
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        self.inner.epoch()
    }
}
