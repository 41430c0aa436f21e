//! What a message says. The crate README maps each body to the seed's
//! message numbers 0 to 5.

use serde::{Deserialize, Serialize};

use crate::{ElectionMessage, Epoch, Money, OfferId, PeerId, Product, Quantity, RequestId};

/// The body of an [`Envelope`](crate::Envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// The bully election; its `Coordinator` is the trader's announcement
    /// (the seed's message 0).
    Election(ElectionMessage),
    /// The trader is alive and serving this epoch.
    Heartbeat {
        /// The trader's epoch.
        epoch: Epoch,
    },
    /// A peer follows the trader of this epoch: the answer to a heartbeat
    /// from a peer that has sent the trader nothing else lately, so that a
    /// trader knows it is not cut off. A peer that gave up its term cut off
    /// from the others also sends it to all, to be heard again.
    Following {
        /// The trader's epoch.
        epoch: Epoch,
    },
    /// A seller deposits goods with the trader (the seed's message 5).
    Offer(Offer),
    /// The trader has recorded a deposit.
    Deposited(Deposited),
    /// A buyer asks the trader for goods (the seed's message 4).
    Buy(Buy),
    /// The trader answers a buyer (the seed's message 2).
    BuyReply(BuyReply),
    /// The trader tells a seller that goods sold, and credits it (the seed's
    /// message 3).
    Sale(SaleNotice),
}

impl Body {
    /// Whether the message may wait a moment to travel with others to the
    /// same peer. A sale notice may: a seller needs it to count its credits
    /// and to restock a lot that sold out, neither urgent to the
    /// millisecond, while a trader under load would otherwise pay a write,
    /// and its seller a wake-up, for every sale. Everything else is on
    /// somebody's path (a buyer waits for its reply, an election for its
    /// answers) and goes at once.
    pub const fn may_wait(&self) -> bool {
        matches!(self, Self::Sale(_))
    }
}

/// A seller's deposit of goods with the trader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Unique per seller, so a re-sent deposit is recorded once.
    pub id: OfferId,
    /// What is offered.
    pub product: Product,
    /// How many units.
    pub quantity: Quantity,
}

/// The trader's receipt for a deposit: the seller may stop re-sending it.
/// It says how much of the lot is still on offer, so that a seller whose
/// sale notices died with a trader learns its lot sold out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposited {
    /// The deposit recorded.
    pub offer: OfferId,
    /// Units of it not yet sold.
    pub remaining: Quantity,
}

/// A buyer's request for goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buy {
    /// Unique per buyer; a retry carries the same id.
    pub id: RequestId,
    /// What the buyer wants.
    pub product: Product,
    /// How many units it wants.
    pub quantity: Quantity,
}

/// Part of a buy served from one seller's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// The seller whose goods were sold.
    pub seller: PeerId,
    /// How many units came from that seller.
    pub quantity: Quantity,
    /// The price the buyer paid per unit.
    pub unit_price: Money,
}

/// The trader's answer to a buy: what was filled, from whom, at what price.
/// No fills means out of stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyReply {
    /// The request answered.
    pub id: RequestId,
    /// The product asked for.
    pub product: Product,
    /// How many units were asked for.
    pub requested: Quantity,
    /// The parts filled, in the order the stock was offered.
    pub fills: Vec<Fill>,
}

impl BuyReply {
    /// Units received in all.
    pub fn filled(&self) -> Quantity {
        self.fills
            .iter()
            .fold(0, |n, f| n.saturating_add(f.quantity))
    }

    /// What the buyer paid in all.
    pub fn paid(&self) -> Money {
        self.fills.iter().map(|f| f.unit_price * f.quantity).sum()
    }
}

/// The trader's notice to a seller that some of its goods sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleNotice {
    /// The buy that took the goods.
    pub request: RequestId,
    /// What sold.
    pub product: Product,
    /// How many units of the seller's stock sold.
    pub quantity: Quantity,
    /// What the seller is credited: the price less the trader's commission.
    pub credit: Money,
}
