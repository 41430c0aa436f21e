//! The trader's books: stock in offer order, credits, commission, the ledger
//! and the replies already given.

use std::collections::{BTreeMap, VecDeque, btree_map};

use bazaar_protocol::{
    Buy, BuyReply, Fill, Money, Offer, OfferId, PeerId, Product, Quantity, RequestId, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::{AuditSummary, Batch, Ledger, LedgerEntry, MarketError, Pricing, Served, Violation};

/// What is left of one deposit on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The deposit; its `seller` owns the goods.
    pub offer: OfferId,
    /// Units not yet sold; never zero while the lot is on offer.
    pub remaining: Quantity,
}

/// A request the book has answered: where its sales sit in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Answer {
    served: Served,
    first_sale: usize,
}

/// The trader's books.
///
/// Stock is kept per product in offer order (earliest deposit sold first);
/// each request is answered once and its reply remembered, so a retry gets
/// the same reply and is never filled twice; deposits are recorded once per
/// [`OfferId`]. The whole book serializes, for snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    pricing: Pricing,
    offers: BTreeMap<OfferId, Offer>,
    stock: [VecDeque<Lot>; 3],
    credits: BTreeMap<PeerId, Money>,
    commission: Money,
    ledger: Ledger,
    replies: BTreeMap<RequestId, Answer>,
}

impl Book {
    /// An empty book with these prices.
    ///
    /// # Errors
    /// [`MarketError::CommissionTooHigh`] if the commission exceeds 100%.
    pub fn new(pricing: Pricing) -> Result<Self, MarketError> {
        pricing.validate()?;
        Ok(Self {
            pricing,
            offers: BTreeMap::new(),
            stock: Default::default(),
            credits: BTreeMap::new(),
            commission: Money::ZERO,
            ledger: Ledger::default(),
            replies: BTreeMap::new(),
        })
    }

    /// The book made by applying `batches`, in order, to an empty book.
    ///
    /// # Errors
    /// The first [`MarketError`] a batch raises in [`Book::apply`].
    pub fn from_batches<'a>(
        pricing: Pricing,
        batches: impl IntoIterator<Item = &'a Batch>,
    ) -> Result<Self, MarketError> {
        let mut book = Self::new(pricing)?;
        for batch in batches {
            book.apply(batch)?;
        }
        Ok(book)
    }

    /// The prices and commission.
    pub const fn pricing(&self) -> &Pricing {
        &self.pricing
    }

    /// Every deposit ever recorded, by id.
    pub const fn offers(&self) -> &BTreeMap<OfferId, Offer> {
        &self.offers
    }

    /// Whether the deposit `offer` is recorded.
    pub fn has_deposit(&self, offer: OfferId) -> bool {
        self.offers.contains_key(&offer)
    }

    /// Units of the deposit `offer` not yet sold (0 once sold out), or
    /// `None` if the book holds no such deposit.
    pub fn remaining(&self, offer: OfferId) -> Option<Quantity> {
        let product = self.offers.get(&offer)?.product;
        let lot = self.lots(product).find(|lot| lot.offer == offer);
        Some(lot.map_or(0, |lot| lot.remaining))
    }

    /// The lots of `product` on offer, first to be sold first.
    pub fn lots(&self, product: Product) -> impl DoubleEndedIterator<Item = &Lot> {
        self.stock[product.index()].iter()
    }

    /// Units of `product` on offer.
    pub fn on_offer(&self, product: Product) -> u64 {
        self.lots(product).map(|lot| u64::from(lot.remaining)).sum()
    }

    /// Each seller's credits.
    pub const fn credits(&self) -> &BTreeMap<PeerId, Money> {
        &self.credits
    }

    /// One seller's credits.
    pub fn credit(&self, seller: PeerId) -> Money {
        self.credits.get(&seller).copied().unwrap_or_default()
    }

    /// The trader's commission.
    pub const fn commission(&self) -> Money {
        self.commission
    }

    /// The sales so far.
    pub const fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// How many requests the book has answered.
    pub fn answered(&self) -> usize {
        self.replies.len()
    }

    /// How the book served `request`, if it has.
    pub fn served(&self, request: RequestId) -> Option<&Served> {
        self.replies.get(&request).map(|answer| &answer.served)
    }

    /// Every answered request with its sales, in request-id order.
    pub fn requests(&self) -> impl Iterator<Item = (&Served, usize, &[LedgerEntry])> {
        self.replies.values().map(|answer| {
            let end = answer.first_sale + answer.served.sales as usize;
            let sales = self
                .ledger
                .entries()
                .get(answer.first_sale..end)
                .unwrap_or_default();
            (&answer.served, answer.first_sale, sales)
        })
    }

    /// The reply given to `request`, if it was answered: the same reply every
    /// time. Consecutive sales from one seller at one price make one fill.
    pub fn reply(&self, request: RequestId) -> Option<BuyReply> {
        let answer = self.replies.get(&request)?;
        let end = answer.first_sale + answer.served.sales as usize;
        let sales = self
            .ledger
            .entries()
            .get(answer.first_sale..end)
            .unwrap_or_default();
        Some(reply_from(&answer.served, sales))
    }

    /// Serves a batch: stocks the new `offers` (in timestamp order), then
    /// serves the new `buys` in timestamp order, and returns what changed.
    ///
    /// Both slices are sorted in place by timestamp (stably, so equal
    /// timestamps keep arrival order). Deposits and requests the book already
    /// holds, or that appear twice in the slices, are skipped: they are
    /// answered from [`Book::reply`] and [`Book::has_deposit`]. A buy takes
    /// stock from the earliest lots first, possibly from several sellers,
    /// possibly partly; with no stock it is answered with no fills.
    pub fn serve(
        &mut self,
        offers: &mut [(Timestamp, Offer)],
        buys: &mut [(Timestamp, Buy)],
    ) -> Batch {
        let mut batch = Batch::default();
        self.serve_into(offers, buys, &mut batch);
        batch
    }

    /// [`Book::serve`], writing into `batch` (cleared first) to reuse its
    /// allocations.
    pub fn serve_into(
        &mut self,
        offers: &mut [(Timestamp, Offer)],
        buys: &mut [(Timestamp, Buy)],
        batch: &mut Batch,
    ) {
        batch.clear();
        offers.sort_by_key(|&(at, _)| at);
        buys.sort_by_key(|&(at, _)| at);
        for &(_, offer) in offers.iter() {
            if self.deposit(offer) {
                batch.deposits.push(offer);
            }
        }
        for &(at, buy) in buys.iter() {
            if let Some(served) = self.fill(at, buy, &mut batch.sales) {
                batch.served.push(served);
            }
        }
    }

    /// Applies a batch made by [`Book::serve`] on a book equal to this one,
    /// making this book equal to the one the batch was served on.
    ///
    /// # Errors
    /// A [`MarketError`] naming the first thing in the batch that does not
    /// fit this book (a deposit or request already recorded, a sale out of
    /// offer order or beyond the stock, a malformed batch). The book is then
    /// partly changed and should be discarded.
    pub fn apply(&mut self, batch: &Batch) -> Result<(), MarketError> {
        let claimed: usize = batch.served.iter().map(|s| s.sales as usize).sum();
        if claimed != batch.sales.len() {
            return Err(MarketError::SalesCount {
                listed: batch.sales.len(),
                claimed,
            });
        }
        for &offer in &batch.deposits {
            if !self.deposit(offer) {
                return Err(MarketError::DuplicateDeposit { offer: offer.id });
            }
        }
        for (served, sales) in batch.requests() {
            self.apply_served(served, sales)?;
        }
        Ok(())
    }

    /// Checks every invariant of the book: goods, money, no double fill.
    ///
    /// # Errors
    /// The first [`Violation`] found.
    pub fn audit(&self) -> Result<AuditSummary, Violation> {
        crate::audit::audit_book(self)
    }

    /// Records a deposit unless already recorded; returns whether it was new.
    fn deposit(&mut self, offer: Offer) -> bool {
        let btree_map::Entry::Vacant(slot) = self.offers.entry(offer.id) else {
            return false;
        };
        slot.insert(offer);
        if offer.quantity > 0 {
            self.stock[offer.product.index()].push_back(Lot {
                offer: offer.id,
                remaining: offer.quantity,
            });
        }
        true
    }

    /// Serves one new buy, appending its sales to `sales`; `None` if the
    /// request was already answered.
    fn fill(&mut self, at: Timestamp, buy: Buy, sales: &mut Vec<LedgerEntry>) -> Option<Served> {
        let btree_map::Entry::Vacant(slot) = self.replies.entry(buy.id) else {
            return None;
        };
        let first_sale = self.ledger.len();
        let stock = &mut self.stock[buy.product.index()];
        let unit_price = self.pricing.price(buy.product);
        let mut wanted = buy.quantity;
        let mut count = 0;
        while wanted > 0 {
            let Some(lot) = stock.front_mut() else { break };
            let quantity = wanted.min(lot.remaining);
            lot.remaining -= quantity;
            wanted -= quantity;
            let offer = lot.offer;
            if lot.remaining == 0 {
                stock.pop_front();
            }
            let (credit, commission) = self.pricing.split(unit_price, quantity);
            let entry = LedgerEntry {
                request: buy.id,
                offer,
                product: buy.product,
                quantity,
                unit_price,
                credit,
                commission,
            };
            *self.credits.entry(offer.seller).or_default() += credit;
            self.commission += commission;
            self.ledger.push(entry);
            sales.push(entry);
            count += 1;
        }
        let served = Served {
            at,
            request: buy.id,
            product: buy.product,
            requested: buy.quantity,
            sales: count,
        };
        slot.insert(Answer { served, first_sale });
        Some(served)
    }

    /// Replays one served request and its sales, checking they fit.
    fn apply_served(&mut self, served: &Served, sales: &[LedgerEntry]) -> Result<(), MarketError> {
        let request = served.request;
        let btree_map::Entry::Vacant(slot) = self.replies.entry(request) else {
            return Err(MarketError::DuplicateRequest { request });
        };
        let filled: u64 = sales.iter().map(|s| u64::from(s.quantity)).sum();
        if filled > u64::from(served.requested) {
            return Err(MarketError::Overfilled {
                request,
                requested: served.requested,
                filled,
            });
        }
        let first_sale = self.ledger.len();
        let stock = &mut self.stock[served.product.index()];
        for &sale in sales {
            if sale.request != request || sale.product != served.product {
                return Err(MarketError::MisfiledSale {
                    request,
                    product: served.product,
                    found: sale.request,
                    found_product: sale.product,
                });
            }
            let gross = sale.paid();
            if sale.credit + sale.commission != gross {
                return Err(MarketError::UnbalancedSale {
                    request,
                    credit: sale.credit,
                    commission: sale.commission,
                    gross,
                });
            }
            let lot = match stock.front_mut() {
                Some(lot) if lot.offer == sale.offer => lot,
                next => {
                    return Err(MarketError::OutOfOfferOrder {
                        request,
                        product: sale.product,
                        offer: sale.offer,
                        next: next.map(|lot| lot.offer),
                    });
                }
            };
            if lot.remaining < sale.quantity {
                return Err(MarketError::Oversold {
                    request,
                    offer: sale.offer,
                    quantity: sale.quantity,
                    remaining: lot.remaining,
                });
            }
            lot.remaining -= sale.quantity;
            if lot.remaining == 0 {
                stock.pop_front();
            }
            *self.credits.entry(sale.seller()).or_default() += sale.credit;
            self.commission += sale.commission;
            self.ledger.push(sale);
        }
        slot.insert(Answer {
            served: *served,
            first_sale,
        });
        Ok(())
    }
}

/// The reply to a served request, from its sales. Consecutive sales from one
/// seller at one price make one fill.
pub(crate) fn reply_from(served: &Served, sales: &[LedgerEntry]) -> BuyReply {
    let mut fills: Vec<Fill> = Vec::with_capacity(sales.len());
    for sale in sales {
        match fills.last_mut() {
            Some(f) if f.seller == sale.seller() && f.unit_price == sale.unit_price => {
                f.quantity += sale.quantity;
            }
            _ => fills.push(Fill {
                seller: sale.seller(),
                quantity: sale.quantity,
                unit_price: sale.unit_price,
            }),
        }
    }
    BuyReply {
        id: served.request,
        product: served.product,
        requested: served.requested,
        fills,
    }
}

#[cfg(test)]
mod tests {
    //! The audit catches books broken behind the API's back.

    use bazaar_protocol::Product;

    use super::*;

    /// A book with 3 fish offered by peer 2, 2 of them sold to peer 1.
    fn book() -> Book {
        let mut book = Book::new(Pricing::default()).unwrap();
        let id = OfferId {
            seller: PeerId(2),
            seq: 1,
        };
        let offer = Offer {
            id,
            product: Product::Fish,
            quantity: 3,
        };
        let buy = Buy {
            id: RequestId {
                buyer: PeerId(1),
                seq: 1,
            },
            product: Product::Fish,
            quantity: 2,
        };
        book.serve(
            &mut [(Timestamp::new(1, PeerId(2)), offer)],
            &mut [(Timestamp::new(2, PeerId(1)), buy)],
        );
        book.audit().unwrap();
        book
    }

    #[test]
    fn audit_catches_goods_appearing_from_nowhere() {
        let mut book = book();
        book.stock[0][0].remaining += 1;
        let offer = OfferId {
            seller: PeerId(2),
            seq: 1,
        };
        let expected = Violation::OfferNotConserved {
            offer,
            offered: 3,
            sold: 2,
            on_offer: 2,
        };
        assert_eq!(book.audit(), Err(expected));
    }

    #[test]
    fn audit_catches_money_going_missing() {
        let mut book = book();
        book.commission += Money(1);
        let expected = Violation::CommissionMismatch {
            held: Money(201),
            ledger: Money(200),
        };
        assert_eq!(book.audit(), Err(expected));
    }

    #[test]
    fn audit_catches_a_request_filled_twice() {
        let mut book = book();
        let sale = book.ledger.entries()[0];
        book.ledger.push(LedgerEntry {
            quantity: 1,
            credit: Money(900),
            commission: Money(100),
            ..sale
        });
        book.stock[0][0].remaining -= 1;
        book.stock[0].pop_front();
        *book.credits.get_mut(&PeerId(2)).unwrap() += Money(900);
        book.commission += Money(100);
        let expected = Violation::FilledTwice {
            request: sale.request,
            index: 1,
        };
        assert_eq!(book.audit(), Err(expected));
    }
}
