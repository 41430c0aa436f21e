//! The market's invariants, one function each, shared by unit tests,
//! property tests, the node's demo and the simulator.
//!
//! [`Book::audit`](crate::Book::audit) runs the checks on the trader's books;
//! [`check_receipts`] and [`check_seller_credits`] hold the buyers' and
//! sellers' own accounts against the ledger.

use std::collections::{BTreeMap, BTreeSet};

use bazaar_protocol::{Money, OfferId, PeerId, Product};

use crate::{Book, Ledger, Receipt, Violation};

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
    pub requests: usize,
    /// Sales in the ledger.
    pub sales: usize,
}

/// How a peer's own account must match the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Exactly: the market is quiet, every reply and notice delivered.
    Exact,
    /// At most what the ledger says: replies or notices may be in flight.
    AtMost,
}

/// Every check on the book, with its totals.
///
/// # Errors
/// The first [`Violation`] found, goods first, then money, then requests.
pub fn audit_book(book: &Book) -> Result<AuditSummary, Violation> {
    let goods = check_goods(book)?;
    let paid = check_money(book)?;
    check_requests(book)?;
    Ok(AuditSummary {
        goods,
        paid,
        credits: book.credits().values().copied().sum(),
        commission: book.commission(),
        requests: book.answered(),
        sales: book.ledger().len(),
    })
}

/// Goods: for every offer and every product, offered = sold + on offer; no
/// seller sold more than it offered; stock and sales name real deposits.
///
/// # Errors
/// [`Violation::UnknownOffer`], [`Violation::BadLot`],
/// [`Violation::OfferNotConserved`], [`Violation::SellerOversold`] or
/// [`Violation::GoodsNotConserved`].
pub fn check_goods(book: &Book) -> Result<BTreeMap<Product, Goods>, Violation> {
    let offers = book.offers();
    let known = |offer: OfferId, product: Product| match offers.get(&offer) {
        Some(o) if o.product == product => Ok(()),
        _ => Err(Violation::UnknownOffer { offer, product }),
    };
    let mut on_offer: BTreeMap<OfferId, u64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for product in Product::ALL {
        for lot in book.lots(product) {
            known(lot.offer, product)?;
            if lot.remaining == 0 || !seen.insert(lot.offer) {
                return Err(Violation::BadLot {
                    offer: lot.offer,
                    product,
                });
            }
            on_offer.insert(lot.offer, u64::from(lot.remaining));
        }
    }
    for sale in book.ledger().entries() {
        known(sale.offer, sale.product)?;
    }
    let sold = book.ledger().sold_per_offer();
    let mut goods: BTreeMap<Product, Goods> = Product::ALL.map(|p| (p, Goods::default())).into();
    let mut per_seller: BTreeMap<(PeerId, Product), (u64, u64)> = BTreeMap::new();
    for (&id, offer) in offers {
        let sold = sold.get(&id).copied().unwrap_or(0);
        let left = on_offer.get(&id).copied().unwrap_or(0);
        if u64::from(offer.quantity) != sold + left {
            return Err(Violation::OfferNotConserved {
                offer: id,
                offered: offer.quantity,
                sold,
                on_offer: left,
            });
        }
        let seller = per_seller.entry((id.seller, offer.product)).or_default();
        seller.0 += u64::from(offer.quantity);
        seller.1 += sold;
        let g = goods.entry(offer.product).or_default();
        g.offered += u64::from(offer.quantity);
        g.on_offer += left;
    }
    for (&(seller, product), &(offered, sold)) in &per_seller {
        if sold > offered {
            return Err(Violation::SellerOversold {
                seller,
                product,
                offered,
                sold,
            });
        }
    }
    for (&product, g) in &mut goods {
        g.sold = book.ledger().sold(product);
        if g.offered != g.sold + g.on_offer {
            return Err(Violation::GoodsNotConserved {
                product,
                offered: g.offered,
                sold: g.sold,
                on_offer: g.on_offer,
            });
        }
    }
    Ok(goods)
}

/// Money: every sale's credit + commission = what was paid for it; each
/// seller's credit and the commission match the ledger; paid = credits +
/// commission. Returns what was paid.
///
/// # Errors
/// [`Violation::UnbalancedSale`], [`Violation::CreditMismatch`],
/// [`Violation::CommissionMismatch`] or [`Violation::MoneyNotConserved`].
pub fn check_money(book: &Book) -> Result<Money, Violation> {
    let ledger = book.ledger();
    for sale in ledger.entries() {
        if sale.credit + sale.commission != sale.paid() {
            return Err(Violation::UnbalancedSale {
                request: sale.request,
                offer: sale.offer,
                paid: sale.paid(),
                credit: sale.credit,
                commission: sale.commission,
            });
        }
    }
    check_seller_credits(ledger, book.credits(), Match::Exact)?;
    let commission = ledger.commission();
    if book.commission() != commission {
        return Err(Violation::CommissionMismatch {
            held: book.commission(),
            ledger: commission,
        });
    }
    let paid = ledger.paid();
    let credits: Money = book.credits().values().copied().sum();
    if paid != credits + book.commission() {
        return Err(Violation::MoneyNotConserved {
            paid,
            credits,
            commission: book.commission(),
        });
    }
    Ok(paid)
}

/// No request filled twice: every sale lies in the recorded reply of its own
/// request, no two replies share a sale, and no reply fills more than asked.
///
/// # Errors
/// [`Violation::FilledTwice`] or [`Violation::Overfilled`].
pub fn check_requests(book: &Book) -> Result<(), Violation> {
    let entries = book.ledger().entries();
    let mut covered = vec![false; entries.len()];
    for (served, first, sales) in book.requests() {
        if sales.len() != served.sales as usize {
            // The recorded range runs past the ledger's end.
            return Err(Violation::FilledTwice {
                request: served.request,
                index: entries.len(),
            });
        }
        let mut filled = 0u64;
        for (index, sale) in (first..).zip(sales) {
            if sale.request != served.request || sale.product != served.product || covered[index] {
                return Err(Violation::FilledTwice {
                    request: sale.request,
                    index,
                });
            }
            covered[index] = true;
            filled += u64::from(sale.quantity);
        }
        if filled > u64::from(served.requested) {
            return Err(Violation::Overfilled {
                request: served.request,
                requested: served.requested,
                filled,
            });
        }
    }
    match covered.iter().position(|&c| !c) {
        Some(index) => Err(Violation::FilledTwice {
            request: entries[index].request,
            index,
        }),
        None => Ok(()),
    }
}

/// Buyers' accounts: what each buyer says it received and paid, against
/// the ledger. Buyers absent from `receipts` are taken to have received
/// nothing.
///
/// # Errors
/// [`Violation::ReceiptMismatch`] or [`Violation::PaymentMismatch`].
pub fn check_receipts(
    ledger: &Ledger,
    receipts: &BTreeMap<PeerId, Receipt>,
    how: Match,
) -> Result<(), Violation> {
    let sold = ledger.receipts();
    let nothing = Receipt::default();
    let buyers: BTreeSet<PeerId> = sold.keys().chain(receipts.keys()).copied().collect();
    for buyer in buyers {
        let by_ledger = sold.get(&buyer).unwrap_or(&nothing);
        let by_buyer = receipts.get(&buyer).unwrap_or(&nothing);
        for product in Product::ALL {
            let ledger = by_ledger.goods.get(&product).copied().unwrap_or(0);
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
        if !fits(by_buyer.paid, by_ledger.paid, how) {
            return Err(Violation::PaymentMismatch {
                buyer,
                paid: by_buyer.paid,
                ledger: by_ledger.paid,
            });
        }
    }
    Ok(())
}

/// Sellers' accounts: what each seller holds as credited, against the
/// ledger. Sellers absent from `credits` are taken to hold nothing.
///
/// # Errors
/// [`Violation::CreditMismatch`].
pub fn check_seller_credits(
    ledger: &Ledger,
    credits: &BTreeMap<PeerId, Money>,
    how: Match,
) -> Result<(), Violation> {
    let by_ledger = ledger.credits();
    let sellers: BTreeSet<PeerId> = by_ledger.keys().chain(credits.keys()).copied().collect();
    for seller in sellers {
        let ledger = by_ledger.get(&seller).copied().unwrap_or_default();
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
