//! The ledger of sales: one entry per lot a buy took goods from.

use std::{collections::BTreeMap, fmt};

use bazaar_protocol::{Money, OfferId, PeerId, Product, Quantity, RequestId};
use serde::{Deserialize, Serialize};

/// One sale: units of one seller's offer sold to one buy request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The buy that took the goods; its `buyer` is the buyer.
    pub request: RequestId,
    /// The deposit the goods came from; its `seller` is the seller.
    pub offer: OfferId,
    /// What was sold.
    pub product: Product,
    /// How many units.
    pub quantity: Quantity,
    /// The price per unit the buyer paid.
    pub unit_price: Money,
    /// What the seller is credited.
    pub credit: Money,
    /// What the trader keeps.
    pub commission: Money,
}

impl LedgerEntry {
    /// The buyer.
    pub const fn buyer(&self) -> PeerId {
        self.request.buyer
    }

    /// The seller.
    pub const fn seller(&self) -> PeerId {
        self.offer.seller
    }

    /// What the buyer paid for this sale: `unit_price * quantity`.
    pub fn paid(&self) -> Money {
        self.unit_price * self.quantity
    }
}

impl fmt::Display for LedgerEntry {
    /// The lab's log line: `peer 3 bought 4 fish from peer 2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "peer {} bought {} {} from peer {}",
            self.buyer(),
            self.quantity,
            self.product,
            self.seller()
        )
    }
}

/// What one buyer got from the market: units per product and money paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Units received per product (products never received are absent).
    pub goods: BTreeMap<Product, u64>,
    /// Money paid in all.
    pub paid: Money,
}

/// Sales in the order the trader made them: the history that a store keeps
/// and a test may gather, never the trader's books (which keep
/// [`Totals`](crate::Totals) instead).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
}

impl Ledger {
    /// The sales, oldest first.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// How many sales.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing has sold.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What buyers paid in all.
    pub fn paid(&self) -> Money {
        self.entries.iter().map(LedgerEntry::paid).sum()
    }

    /// The trader's commission in all.
    pub fn commission(&self) -> Money {
        self.entries.iter().map(|e| e.commission).sum()
    }

    /// Each seller's credits in all.
    pub fn credits(&self) -> BTreeMap<PeerId, Money> {
        let mut credits = BTreeMap::new();
        for e in &self.entries {
            *credits.entry(e.seller()).or_default() += e.credit;
        }
        credits
    }

    /// What each buyer received and paid.
    pub fn receipts(&self) -> BTreeMap<PeerId, Receipt> {
        self.receipts_where(|_| true)
    }

    /// What each buyer received and paid in the entries `keep` accepts:
    /// for instance, all but the requests whose replies are still in flight.
    pub fn receipts_where(&self, keep: impl Fn(&LedgerEntry) -> bool) -> BTreeMap<PeerId, Receipt> {
        let mut receipts: BTreeMap<PeerId, Receipt> = BTreeMap::new();
        for e in self.entries.iter().filter(|e| keep(e)) {
            let receipt = receipts.entry(e.buyer()).or_default();
            *receipt.goods.entry(e.product).or_default() += u64::from(e.quantity);
            receipt.paid += e.paid();
        }
        receipts
    }

    /// Units sold from each offer.
    pub fn sold_per_offer(&self) -> BTreeMap<OfferId, u64> {
        let mut sold = BTreeMap::new();
        for e in &self.entries {
            *sold.entry(e.offer).or_default() += u64::from(e.quantity);
        }
        sold
    }

    /// Units sold of one product.
    pub fn sold(&self, product: Product) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.product == product)
            .map(|e| u64::from(e.quantity))
            .sum()
    }

    /// Appends a sale.
    pub fn push(&mut self, entry: LedgerEntry) {
        self.entries.push(entry);
    }
}

impl FromIterator<LedgerEntry> for Ledger {
    fn from_iter<I: IntoIterator<Item = LedgerEntry>>(iter: I) -> Self {
        Self {
            entries: iter.into_iter().collect(),
        }
    }
}

impl Extend<LedgerEntry> for Ledger {
    fn extend<I: IntoIterator<Item = LedgerEntry>>(&mut self, iter: I) {
        self.entries.extend(iter);
    }
}
