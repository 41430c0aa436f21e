//! The trader's books: the live state of the market. Stock in offer order,
//! credits, commission, each buyer's last answer, and running totals for the
//! audits. The ledger of every sale lives in the store, not here.

use std::collections::{BTreeMap, VecDeque, btree_map};

use bazaar_protocol::{
    Buy, BuyReply, Fill, Money, Offer, OfferId, PeerId, Product, Quantity, RequestId, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::{AuditSummary, Batch, LedgerEntry, MarketError, Pricing, Receipt, Served, Violation};

/// What is left of one deposit on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The deposit; its `seller` owns the goods.
    pub offer: OfferId,
    /// Units deposited.
    pub quantity: Quantity,
    /// Units not yet sold; never zero while the lot is on offer.
    pub remaining: Quantity,
}

/// The book's last answer to one buyer: the request and the sales that
/// filled it, so that a retry gets the same reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// How the request was served.
    pub served: Served,
    /// Its sales, in the order they were made.
    pub sales: Vec<LedgerEntry>,
}

impl Answer {
    /// The reply it makes.
    pub fn reply(&self) -> BuyReply {
        reply_from(&self.served, &self.sales)
    }
}

/// What the book knows of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestState {
    /// Answered: a retry gets this reply again.
    Answered(BuyReply),
    /// Older than the buyer's last answered request. A buyer asks its next
    /// request only once its last one is answered, so it holds this reply
    /// already: a copy of it (a duplicate, a delayed retry) is dropped,
    /// never filled again.
    Superseded,
    /// Never served: it waits for the next batch.
    New,
}

/// Sums over the whole history of the book, kept up to date as it trades:
/// what the audits hold the live state to, without the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Units deposited, per seller and product.
    pub offered: BTreeMap<(PeerId, Product), u64>,
    /// Units sold, per seller and product.
    pub sold: BTreeMap<(PeerId, Product), u64>,
    /// What each buyer received and paid.
    pub receipts: BTreeMap<PeerId, Receipt>,
    /// Requests served.
    pub requests: u64,
    /// Sales made.
    pub sales: u64,
}

impl Totals {
    /// Units of `product` deposited, by every seller.
    pub fn offered_of(&self, product: Product) -> u64 {
        of(&self.offered, product)
    }

    /// Units of `product` sold.
    pub fn sold_of(&self, product: Product) -> u64 {
        of(&self.sold, product)
    }

    /// What buyers paid in all.
    pub fn paid(&self) -> Money {
        self.receipts.values().map(|r| r.paid).sum()
    }

    pub(crate) fn record_sale(&mut self, sale: &LedgerEntry) {
        *self.sold.entry((sale.seller(), sale.product)).or_default() += u64::from(sale.quantity);
        let receipt = self.receipts.entry(sale.buyer()).or_default();
        *receipt.goods.entry(sale.product).or_default() += u64::from(sale.quantity);
        receipt.paid += sale.paid();
        self.sales += 1;
    }
}

fn of(per_seller: &BTreeMap<(PeerId, Product), u64>, product: Product) -> u64 {
    per_seller
        .iter()
        .filter(|((_, p), _)| *p == product)
        .map(|(_, n)| n)
        .sum()
}

/// The trader's books: the live state of the market, and nothing that
/// grows with its history.
///
/// - Stock is kept per product in offer order (earliest deposit sold
///   first). A seller offers one lot at a time, numbered upwards, so the
///   book remembers each seller's highest recorded offer: any offer at or
///   below it is a copy of one recorded, acknowledged with what is left of
///   it (nothing, once sold out), never stocked twice.
/// - A buyer has one request out at a time, numbered upwards, and retries
///   it under the same id (a restarted buyer numbers past its earlier
///   incarnations); so the book keeps each buyer's last answer: a retry of it gets
///   the same reply, an older request is [`RequestState::Superseded`], and
///   no request is ever filled twice.
/// - [`Totals`] sum the history (offered, sold, received, paid) for the
///   audits; the ledger of every sale is the store's.
///
/// Its memory depends on the number of peers and lots on offer, not on
/// how long the market has traded. The whole book serializes, for
/// checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    pricing: Pricing,
    stock: [VecDeque<Lot>; 3],
    /// Each seller's highest recorded offer.
    deposited: BTreeMap<PeerId, u64>,
    credits: BTreeMap<PeerId, Money>,
    commission: Money,
    /// Each buyer's last answered request.
    answers: BTreeMap<PeerId, Answer>,
    totals: Totals,
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
            stock: Default::default(),
            deposited: BTreeMap::new(),
            credits: BTreeMap::new(),
            commission: Money::ZERO,
            answers: BTreeMap::new(),
            totals: Totals::default(),
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

    /// Whether the deposit `offer` is recorded (on offer or sold out).
    pub fn has_deposit(&self, offer: OfferId) -> bool {
        self.deposited
            .get(&offer.seller)
            .is_some_and(|&last| offer.seq <= last)
    }

    /// Each seller's highest recorded offer.
    pub const fn deposited(&self) -> &BTreeMap<PeerId, u64> {
        &self.deposited
    }

    /// Units of the deposit `offer` not yet sold (0 once sold out), or
    /// `None` if the book holds no such deposit.
    pub fn remaining(&self, offer: OfferId) -> Option<Quantity> {
        if !self.has_deposit(offer) {
            return None;
        }
        let lot = self.stock.iter().flatten().find(|lot| lot.offer == offer);
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

    /// Sums over the book's whole history.
    pub const fn totals(&self) -> &Totals {
        &self.totals
    }

    /// How many requests the book has answered.
    pub const fn answered(&self) -> u64 {
        self.totals.requests
    }

    /// Each buyer's last answer.
    pub const fn answers(&self) -> &BTreeMap<PeerId, Answer> {
        &self.answers
    }

    /// What the book knows of `request`.
    pub fn request(&self, request: RequestId) -> RequestState {
        match self.answers.get(&request.buyer) {
            Some(last) if last.served.request == request => RequestState::Answered(last.reply()),
            Some(last) if request.seq < last.served.request.seq => RequestState::Superseded,
            _ => RequestState::New,
        }
    }

    /// The reply given to `request`, if it is its buyer's last answered
    /// request: the same reply every time. Consecutive sales from one
    /// seller at one price make one fill.
    pub fn reply(&self, request: RequestId) -> Option<BuyReply> {
        match self.request(request) {
            RequestState::Answered(reply) => Some(reply),
            RequestState::Superseded | RequestState::New => None,
        }
    }
    /// Serves a batch: stocks the new `offers` (in timestamp order), then
    /// serves the new `buys` in timestamp order, and returns what changed.
    ///
    /// Both slices are sorted in place by timestamp (stably, so equal
    /// timestamps keep arrival order). Deposits and requests the book already
    /// holds, or that appear twice in the slices, are skipped: they are
    /// answered from [`Book::reply`] and [`Book::remaining`]; superseded
    /// requests are skipped too. A buy takes
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
        if self.has_deposit(offer.id) {
            return false;
        }
        self.deposited.insert(offer.id.seller, offer.id.seq);
        *self
            .totals
            .offered
            .entry((offer.id.seller, offer.product))
            .or_default() += u64::from(offer.quantity);
        if offer.quantity > 0 {
            self.stock[offer.product.index()].push_back(Lot {
                offer: offer.id,
                quantity: offer.quantity,
                remaining: offer.quantity,
            });
        }
        true
    }

    /// Books one sale: the seller's credit, the commission, the totals.
    fn book_sale(&mut self, sale: &LedgerEntry) {
        *self.credits.entry(sale.seller()).or_default() += sale.credit;
        self.commission += sale.commission;
        self.totals.record_sale(sale);
    }

    /// Serves one new buy, appending its sales to `sales`; `None` if the
    /// request was already answered or is superseded.
    fn fill(&mut self, at: Timestamp, buy: Buy, sales: &mut Vec<LedgerEntry>) -> Option<Served> {
        if !self.is_new(buy.id) {
            return None;
        }
        let first = sales.len();
        let stock = &mut self.stock[buy.product.index()];
        let unit_price = self.pricing.price(buy.product);
        let mut wanted = buy.quantity;
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
            sales.push(LedgerEntry {
                request: buy.id,
                offer,
                product: buy.product,
                quantity,
                unit_price,
                credit,
                commission,
            });
        }
        let made = &sales[first..];
        let served = Served {
            at,
            request: buy.id,
            product: buy.product,
            requested: buy.quantity,
            sales: u32::try_from(made.len()).unwrap_or(u32::MAX),
        };
        for sale in made {
            self.book_sale(sale);
        }
        self.answer(served, made);
        Some(served)
    }

    /// Whether `request` was never served nor superseded.
    fn is_new(&self, request: RequestId) -> bool {
        self.answers
            .get(&request.buyer)
            .is_none_or(|last| request.seq > last.served.request.seq)
    }

    /// Remembers `served` as its buyer's last answer, reusing the previous
    /// answer's room.
    fn answer(&mut self, served: Served, sales: &[LedgerEntry]) {
        self.totals.requests += 1;
        match self.answers.entry(served.request.buyer) {
            btree_map::Entry::Occupied(mut slot) => {
                let last = slot.get_mut();
                last.served = served;
                last.sales.clear();
                last.sales.extend_from_slice(sales);
            }
            btree_map::Entry::Vacant(slot) => {
                slot.insert(Answer {
                    served,
                    sales: sales.to_vec(),
                });
            }
        }
    }

    /// Replays one served request and its sales, checking they fit.
    fn apply_served(&mut self, served: &Served, sales: &[LedgerEntry]) -> Result<(), MarketError> {
        let request = served.request;
        if !self.is_new(request) {
            return Err(MarketError::DuplicateRequest { request });
        }
        let filled: u64 = sales.iter().map(|s| u64::from(s.quantity)).sum();
        if filled > u64::from(served.requested) {
            return Err(MarketError::Overfilled {
                request,
                requested: served.requested,
                filled,
            });
        }
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
        }
        for sale in sales {
            self.book_sale(sale);
        }
        self.answer(*served, sales);
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
        let expected = Violation::SellerNotConserved {
            seller: PeerId(2),
            product: Product::Fish,
            offered: 3,
            sold: 2,
            on_offer: 2,
        };
        assert_eq!(book.audit(), Err(expected));
    }

    #[test]
    fn audit_catches_a_lot_beyond_its_deposit() {
        let mut book = book();
        book.stock[0][0].remaining = 4;
        book.totals.offered.insert((PeerId(2), Product::Fish), 6);
        let offer = book.stock[0][0].offer;
        let expected = Violation::BadLot {
            offer,
            product: Product::Fish,
        };
        assert_eq!(book.audit(), Err(expected));
    }

    #[test]
    fn audit_catches_money_going_missing() {
        let mut book = book();
        book.commission += Money(1);
        let expected = Violation::MoneyNotConserved {
            paid: Money(2_000),
            credits: Money(1_800),
            commission: Money(201),
        };
        assert_eq!(book.audit(), Err(expected));
    }

    #[test]
    fn audit_catches_goods_sold_off_price() {
        let mut book = book();
        book.totals.receipts.get_mut(&PeerId(1)).unwrap().paid += Money(100);
        *book.credits.get_mut(&PeerId(2)).unwrap() += Money(100);
        let expected = Violation::PaidNotAtPrice {
            paid: Money(2_100),
            priced: Money(2_000),
        };
        assert_eq!(book.audit(), Err(expected));
    }

    #[test]
    fn audit_catches_a_buyer_credited_goods_nobody_sold() {
        let mut book = book();
        let receipt = book.totals.receipts.get_mut(&PeerId(1)).unwrap();
        *receipt.goods.get_mut(&Product::Fish).unwrap() += 1;
        let expected = Violation::ReceiptsNotConserved {
            product: Product::Fish,
            received: 3,
            sold: 2,
        };
        assert_eq!(book.audit(), Err(expected));
    }

    #[test]
    fn audit_catches_an_answer_kept_for_the_wrong_buyer() {
        let mut book = book();
        let answer = book.answers.remove(&PeerId(1)).unwrap();
        let request = answer.served.request;
        book.answers.insert(PeerId(3), answer);
        let expected = Violation::MisfiledAnswer {
            buyer: PeerId(3),
            request,
        };
        assert_eq!(book.audit(), Err(expected));
    }
}
