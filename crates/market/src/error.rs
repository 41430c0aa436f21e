//! What can go wrong: a refused input or batch ([`MarketError`]), and a broken
//! invariant of the market ([`Violation`]).

use bazaar_protocol::{Money, OfferId, PeerId, Product, Quantity, RequestId};

/// A configuration, an input or a batch the market refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    /// The commission is over 100%.
    #[error("commission of {bps} basis points exceeds 10000 (100%)")]
    CommissionTooHigh {
        /// The commission asked for.
        bps: u32,
    },
    /// A peer offered or bought in another peer's name.
    #[error("peer {from} sent a message in the name of peer {owner}")]
    NotOwnMessage {
        /// The peer that sent the message.
        from: PeerId,
        /// The seller or buyer the message claims to come from.
        owner: PeerId,
    },
    /// A batch deposits an offer the book already holds.
    #[error("batch deposits {offer}, which the book already holds")]
    DuplicateDeposit {
        /// The offer deposited twice.
        offer: OfferId,
    },
    /// A batch serves a request the book already answered.
    #[error("batch serves {request}, which the book already answered")]
    DuplicateRequest {
        /// The request served twice.
        request: RequestId,
    },
    /// A batch's sale takes goods out of offer order.
    #[error(
        "batch sale for {request} takes {product} from {offer}, but the next {product} on offer \
         is {next:?}"
    )]
    OutOfOfferOrder {
        /// The request of the sale.
        request: RequestId,
        /// The product sold.
        product: Product,
        /// The offer the sale takes from.
        offer: OfferId,
        /// The offer first in line, if any stock is left.
        next: Option<OfferId>,
    },
    /// A batch's sale takes more than the offer has left.
    #[error("batch sale for {request} takes {quantity} from {offer}, which has {remaining} left")]
    Oversold {
        /// The request of the sale.
        request: RequestId,
        /// The offer sold from.
        offer: OfferId,
        /// Units the sale takes.
        quantity: Quantity,
        /// Units the offer has left.
        remaining: Quantity,
    },
    /// A batch's sale does not belong to the request it is listed under.
    #[error("batch sale of {found} ({found_product}) is listed under {request} ({product})")]
    MisfiledSale {
        /// The request the sale is listed under.
        request: RequestId,
        /// The product of that request.
        product: Product,
        /// The request the sale names.
        found: RequestId,
        /// The product the sale names.
        found_product: Product,
    },
    /// A batch's sale fills more than its request asked for.
    #[error("batch fills {filled} units of {request}, which asked for {requested}")]
    Overfilled {
        /// The request overfilled.
        request: RequestId,
        /// Units asked for.
        requested: Quantity,
        /// Units filled.
        filled: u64,
    },
    /// A batch's sale whose credit and commission do not add up to its gross.
    #[error("batch sale for {request}: credit {credit} + commission {commission} != gross {gross}")]
    UnbalancedSale {
        /// The request of the sale.
        request: RequestId,
        /// The seller's credit.
        credit: Money,
        /// The trader's commission.
        commission: Money,
        /// Quantity times unit price.
        gross: Money,
    },
    /// A batch whose requests do not account for its sales.
    #[error("batch lists {listed} sales but its requests account for {claimed}")]
    SalesCount {
        /// Sales in the batch.
        listed: usize,
        /// Sales its requests claim.
        claimed: usize,
    },
}

/// A broken invariant of the market, naming what broke and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// For a product, offered != sold + on offer.
    #[error("{product}: offered {offered} != sold {sold} + on offer {on_offer}")]
    GoodsNotConserved {
        /// The product.
        product: Product,
        /// Units deposited.
        offered: u64,
        /// Units sold.
        sold: u64,
        /// Units still on offer.
        on_offer: u64,
    },
    /// An offer sold more than it held, or lost units.
    #[error("{offer}: offered {offered} != sold {sold} + on offer {on_offer}")]
    OfferNotConserved {
        /// The offer.
        offer: OfferId,
        /// Units deposited with it.
        offered: Quantity,
        /// Units the ledger sold from it.
        sold: u64,
        /// Units of it still on offer.
        on_offer: u64,
    },
    /// A seller's units of a product: offered != sold + on offer.
    #[error("peer {seller}'s {product}: offered {offered} != sold {sold} + on offer {on_offer}")]
    SellerNotConserved {
        /// The seller.
        seller: PeerId,
        /// The product.
        product: Product,
        /// Units it deposited.
        offered: u64,
        /// Units sold.
        sold: u64,
        /// Units still on offer.
        on_offer: u64,
    },
    /// Buyers received other than was sold of a product.
    #[error("{product}: buyers received {received} but {sold} were sold")]
    ReceiptsNotConserved {
        /// The product.
        product: Product,
        /// Units buyers received, summed.
        received: u64,
        /// Units sold.
        sold: u64,
    },
    /// Buyers paid other than the fixed prices of what was sold.
    #[error("money: buyers paid {paid} but the goods sold are worth {priced} at the book's prices")]
    PaidNotAtPrice {
        /// What buyers paid in all.
        paid: Money,
        /// Units sold of each product times its price.
        priced: Money,
    },
    /// A buyer's remembered answer that is not for one of its own requests,
    /// or whose sales are not that request's.
    #[error("the answer kept for peer {buyer} does not fit {request}")]
    MisfiledAnswer {
        /// The buyer it is kept for.
        buyer: PeerId,
        /// The request it names.
        request: RequestId,
    },
    /// A seller sold more of a product than it offered.
    #[error("peer {seller} sold {sold} {product} but offered {offered}")]
    SellerOversold {
        /// The seller.
        seller: PeerId,
        /// The product.
        product: Product,
        /// Units it offered.
        offered: u64,
        /// Units sold.
        sold: u64,
    },
    /// A sale or a lot on offer that names no deposit, or the wrong product.
    #[error("{offer} is sold or stocked as {product} but the book holds no such deposit")]
    UnknownOffer {
        /// The offer named.
        offer: OfferId,
        /// The product it was sold or stocked as.
        product: Product,
    },
    /// A lot listed twice, or empty, in the stock.
    #[error("{offer} is listed badly in the {product} stock (empty or twice)")]
    BadLot {
        /// The offer of the lot.
        offer: OfferId,
        /// The product stock it is in.
        product: Product,
    },
    /// A sale whose credit and commission do not add up to what was paid.
    #[error(
        "sale for {request} from {offer}: credit {credit} + commission {commission} != paid {paid}"
    )]
    UnbalancedSale {
        /// The request.
        request: RequestId,
        /// The offer sold from.
        offer: OfferId,
        /// What the buyer paid.
        paid: Money,
        /// The seller's credit.
        credit: Money,
        /// The trader's commission.
        commission: Money,
    },
    /// Paid != credits + commission over the whole book.
    #[error("money: paid {paid} != credits {credits} + commission {commission}")]
    MoneyNotConserved {
        /// What buyers paid in all.
        paid: Money,
        /// Sellers' credits in all.
        credits: Money,
        /// The trader's commission.
        commission: Money,
    },
    /// A seller's credit in the book differs from what the ledger gives it.
    #[error("peer {seller}: credited {held} but the ledger says {ledger}")]
    CreditMismatch {
        /// The seller.
        seller: PeerId,
        /// What the book (or the seller) holds.
        held: Money,
        /// What the ledger says.
        ledger: Money,
    },
    /// The trader's commission differs from the ledger's sum.
    #[error("commission held {held} but the ledger says {ledger}")]
    CommissionMismatch {
        /// What the book holds.
        held: Money,
        /// What the ledger says.
        ledger: Money,
    },
    /// A ledger sale outside the recorded reply of its request: filled twice.
    #[error("{request} was filled twice (sale {index} is outside its recorded reply)")]
    FilledTwice {
        /// The request.
        request: RequestId,
        /// The ledger position of the stray sale.
        index: usize,
    },
    /// A recorded reply that fills more than was asked for.
    #[error("{request} asked for {requested} but was filled {filled}")]
    Overfilled {
        /// The request.
        request: RequestId,
        /// Units asked for.
        requested: Quantity,
        /// Units filled.
        filled: u64,
    },
    /// A buyer received goods other than the ledger says.
    #[error("peer {buyer} received {received} {product} but the ledger sold it {ledger}")]
    ReceiptMismatch {
        /// The buyer.
        buyer: PeerId,
        /// The product.
        product: Product,
        /// What the buyer says it received.
        received: u64,
        /// What the ledger says it bought.
        ledger: u64,
    },
    /// A buyer paid other than the ledger says.
    #[error("peer {buyer} paid {paid} but the ledger charged it {ledger}")]
    PaymentMismatch {
        /// The buyer.
        buyer: PeerId,
        /// What the buyer says it paid.
        paid: Money,
        /// What the ledger charged.
        ledger: Money,
    },
}
