//! The market's invariants, one function each, shared by unit tests,
//! property tests, the node's demo, the stores' audits and the simulator.
//!
//! [`Book::audit`](crate::Book::audit) runs the checks on the trader's
//! live state and its running [`Totals`];
//! [`check_receipts`] and [`check_seller_credits`] hold the buyers' and
//! sellers' own accounts against what the market says they are owed. The
//! checks against the whole ledger of sales are the store's (it keeps the
//! ledger); [`ledger_totals`] sums a ledger the way the book sums itself.

use std::collections::{BTreeMap, BTreeSet};

use bazaar_protocol::{Money, OfferId, PeerId, Product};

use crate::{Book, LedgerEntry, Receipt, Totals, Violation};

/// Units of one product: deposited, sold, and still on offer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Goods {
    /// Units deposited.
    pub offered: u64,
    /// Units sold.
    pub sold: u64,
    /// Units still on offer.
    pub on_offer: u64,
}

/// The totals of a book that passed its audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSummary {
    /// Goods per product (every product is present).
    pub goods: BTreeMap<Product, Goods>,
    /// What buyers paid in all.
    pub paid: Money,
    /// Sellers' credits in all.
    pub credits: Money,
    /// The trader's commission.
    pub commission: Money,
    /// Requests answered.
    pub requests: u64,
    /// Sales made.
    pub sales: u64,
}

/// How a peer's own account must match the market's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Exactly: the market is quiet, every reply and notice delivered.
    Exact,
    /// At most what the market says: replies or notices may be in flight.
    AtMost,
}

/// Every check on the book, with its totals.
///
/// # Errors
/// The first [`Violation`] found, goods first, then money, then answers.
pub fn audit_book(book: &Book) -> Result<AuditSummary, Violation> {
    let goods = check_goods(book)?;
    let paid = check_money(book)?;
    check_answers(book)?;
    Ok(AuditSummary {
        goods,
        paid,
        credits: book.credits().values().copied().sum(),
        commission: book.commission(),
        requests: book.totals().requests,
        sales: book.totals().sales,
    })
}

/// Goods: every lot on offer is a recorded deposit, listed once, neither
/// empty nor above its deposit; for every seller and product, offered =
/// sold + on offer, and never sold beyond offered; for every product,
/// buyers received what was sold.
///
/// # Errors
/// [`Violation::UnknownOffer`], [`Violation::BadLot`],
/// [`Violation::SellerOversold`], [`Violation::SellerNotConserved`],
/// [`Violation::GoodsNotConserved`] or [`Violation::ReceiptsNotConserved`].
pub fn check_goods(book: &Book) -> Result<BTreeMap<Product, Goods>, Violation> {
    let totals = book.totals();
    let mut on_offer: BTreeMap<(PeerId, Product), u64> = BTreeMap::new();
    let mut seen: BTreeSet<OfferId> = BTreeSet::new();
    for product in Product::ALL {
        for lot in book.lots(product) {
            let offer = lot.offer;
            if !book.has_deposit(offer) {
                return Err(Violation::UnknownOffer { offer, product });
            }
            if lot.remaining == 0 || lot.remaining > lot.quantity || !seen.insert(offer) {
                return Err(Violation::BadLot { offer, product });
            }
            *on_offer.entry((offer.seller, product)).or_default() += u64::from(lot.remaining);
        }
    }
    let keys: BTreeSet<(PeerId, Product)> = totals
        .offered
        .keys()
        .chain(totals.sold.keys())
        .chain(on_offer.keys())
        .copied()
        .collect();
    let mut goods: BTreeMap<Product, Goods> = Product::ALL.map(|p| (p, Goods::default())).into();
    for (seller, product) in keys {
        let get = |m: &BTreeMap<(PeerId, Product), u64>| m.get(&(seller, product)).copied();
        let offered = get(&totals.offered).unwrap_or(0);
        let sold = get(&totals.sold).unwrap_or(0);
        let left = get(&on_offer).unwrap_or(0);
        if sold > offered {
            return Err(Violation::SellerOversold {
                seller,
                product,
                offered,
                sold,
            });
        }
        if offered != sold + left {
            return Err(Violation::SellerNotConserved {
                seller,
                product,
                offered,
                sold,
                on_offer: left,
            });
        }
        let g = goods.entry(product).or_default();
        g.offered += offered;
        g.sold += sold;
        g.on_offer += left;
    }
    for (&product, g) in &goods {
        if g.offered != g.sold + g.on_offer {
            return Err(Violation::GoodsNotConserved {
                product,
                offered: g.offered,
                sold: g.sold,
                on_offer: g.on_offer,
            });
        }
        let received: u64 = totals
            .receipts
            .values()
            .filter_map(|r| r.goods.get(&product))
            .sum();
        if received != g.sold {
            return Err(Violation::ReceiptsNotConserved {
                product,
                received,
                sold: g.sold,
            });
        }
    }
    Ok(goods)
}

/// Money: what buyers paid = sellers' credits + the trader's commission,
/// and it is exactly the fixed price of every unit sold. Returns what was
/// paid.
///
/// # Errors
/// [`Violation::MoneyNotConserved`] or [`Violation::PaidNotAtPrice`].
pub fn check_money(book: &Book) -> Result<Money, Violation> {
    let totals = book.totals();
    let paid = totals.paid();
    let credits: Money = book.credits().values().copied().sum();
    if paid != credits + book.commission() {
        return Err(Violation::MoneyNotConserved {
            paid,
            credits,
            commission: book.commission(),
        });
    }
    let priced: Money = Product::ALL
        .into_iter()
        .map(|p| {
            let units = totals.sold_of(p);
            Money(book.pricing().price(p).cents().saturating_mul(units))
        })
        .sum();
    if paid != priced {
        return Err(Violation::PaidNotAtPrice { paid, priced });
    }
    Ok(paid)
}

/// Answers: each buyer's remembered answer is one of its own requests,
/// its sales are that request's, and it fills no more than was asked.
///
/// # Errors
/// [`Violation::MisfiledAnswer`] or [`Violation::Overfilled`].
pub fn check_answers(book: &Book) -> Result<(), Violation> {
    for (&buyer, answer) in book.answers() {
        let served = &answer.served;
        let request = served.request;
        let misfiled = request.buyer != buyer
            || answer.sales.len() != served.sales as usize
            || answer
                .sales
                .iter()
                .any(|s| s.request != request || s.product != served.product);
        if misfiled {
            return Err(Violation::MisfiledAnswer { buyer, request });
        }
        let filled: u64 = answer.sales.iter().map(|s| u64::from(s.quantity)).sum();
        if filled > u64::from(served.requested) {
            return Err(Violation::Overfilled {
                request,
                requested: served.requested,
                filled,
            });
        }
    }
    Ok(())
}

/// Sums `sales` the way a book sums itself: units sold per seller and
/// product, each buyer's receipt, the counts. What a store holds a book's
/// [`Totals`] to, from its ledger (`offered` is left empty: deposits are
/// not sales).
pub fn ledger_totals<'a>(sales: impl IntoIterator<Item = &'a LedgerEntry>) -> Totals {
    let mut totals = Totals::default();
    for sale in sales {
        totals.record_sale(sale);
    }
    totals
}

/// Buyers' accounts: what each buyer says it received and paid, against
/// what the market sold it (`sold`, per buyer: a book's
/// [`Totals::receipts`], or a ledger's). Buyers absent from either map
/// are taken to have nothing.
///
/// # Errors
/// [`Violation::ReceiptMismatch`] or [`Violation::PaymentMismatch`].
pub fn check_receipts(
    sold: &BTreeMap<PeerId, Receipt>,
    receipts: &BTreeMap<PeerId, Receipt>,
    how: Match,
) -> Result<(), Violation> {
    let nothing = Receipt::default();
    let buyers: BTreeSet<PeerId> = sold.keys().chain(receipts.keys()).copied().collect();
    for buyer in buyers {
        let by_market = sold.get(&buyer).unwrap_or(&nothing);
        let by_buyer = receipts.get(&buyer).unwrap_or(&nothing);
        for product in Product::ALL {
            let ledger = by_market.goods.get(&product).copied().unwrap_or(0);
            let received = by_buyer.goods.get(&product).copied().unwrap_or(0);
            if !fits(received, ledger, how) {
                return Err(Violation::ReceiptMismatch {
                    buyer,
                    product,
                    received,
                    ledger,
                });
            }
        }
        if !fits(by_buyer.paid, by_market.paid, how) {
            return Err(Violation::PaymentMismatch {
                buyer,
                paid: by_buyer.paid,
                ledger: by_market.paid,
            });
        }
    }
    Ok(())
}

/// Sellers' accounts: what each seller holds as credited, against what the
/// market credited it (`earned`: a book's credits, or a ledger's). Sellers
/// absent from either map are taken to hold nothing.
///
/// # Errors
/// [`Violation::CreditMismatch`].
pub fn check_seller_credits(
    earned: &BTreeMap<PeerId, Money>,
    credits: &BTreeMap<PeerId, Money>,
    how: Match,
) -> Result<(), Violation> {
    let sellers: BTreeSet<PeerId> = earned.keys().chain(credits.keys()).copied().collect();
    for seller in sellers {
        let ledger = earned.get(&seller).copied().unwrap_or_default();
        let held = credits.get(&seller).copied().unwrap_or_default();
        if !fits(held, ledger, how) {
            return Err(Violation::CreditMismatch {
                seller,
                held,
                ledger,
            });
        }
    }
    Ok(())
}

fn fits<T: Ord>(held: T, ledger: T, how: Match) -> bool {
    match how {
        Match::Exact => held == ledger,
        Match::AtMost => held <= ledger,
    }
}
