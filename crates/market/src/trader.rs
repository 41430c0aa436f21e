//! The trader: the book behind an input-in, actions-out face.

use bazaar_protocol::{Buy, BuyReply, Deposited, Offer, PeerId, SaleNotice, Timestamp};

use crate::{Batch, Book, LedgerEntry, MarketError, RequestState, book::reply_from};

/// What happens to the trader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraderInput {
    /// A seller's offer arrived, stamped `at` by its sender.
    Offer {
        /// The envelope's timestamp; its `peer` is the sender.
        at: Timestamp,
        /// The deposit.
        offer: Offer,
    },
    /// A buyer's request arrived, stamped `at` by its sender.
    Buy {
        /// The envelope's timestamp; its `peer` is the sender.
        at: Timestamp,
        /// The request.
        buy: Buy,
    },
}

/// A served batch: commit `batch` to the store in one transaction, and
/// only once it is durable perform `then`. If the commit fails, perform
/// none of `then` and drop this trader: its book is ahead of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persist {
    /// What the batch changed in the books.
    pub batch: Batch,
    /// What waits for the commit, in order: deposits acknowledged, replies,
    /// sale notices, then the sales to log.
    pub then: Vec<TraderAction>,
}

/// What the trader wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraderAction {
    /// Acknowledge a deposit to its seller.
    Deposited {
        /// The seller.
        to: PeerId,
        /// The receipt.
        deposited: Deposited,
    },
    /// Answer a buyer.
    Reply {
        /// The buyer.
        to: PeerId,
        /// The answer.
        reply: BuyReply,
    },
    /// Tell a seller that its goods sold, and credit it.
    Notify {
        /// The seller.
        to: PeerId,
        /// The notice.
        notice: SaleNotice,
    },
    /// A sale to log: its `Display` is `peer 3 bought 4 fish from peer 2`.
    Sold(LedgerEntry),
    /// An input refused (a peer offering or buying in another's name).
    Refused {
        /// The peer that sent it.
        from: PeerId,
        /// Why it was refused.
        error: MarketError,
    },
}

/// The trader's machine: gathers offers and buys, serves them in batches.
///
/// A deposit or request the book already holds is answered at once from the
/// book (it was persisted with an earlier batch), a superseded request is
/// dropped (see [`RequestState::Superseded`]); everything else waits for
/// [`Trader::flush`].
#[derive(Debug, Clone)]
pub struct Trader {
    book: Book,
    offers: Vec<(Timestamp, Offer)>,
    buys: Vec<(Timestamp, Buy)>,
}

impl Trader {
    /// A trader continuing from `book` (empty, restored or rebuilt).
    pub const fn new(book: Book) -> Self {
        Self {
            book,
            offers: Vec::new(),
            buys: Vec::new(),
        }
    }

    /// The books.
    pub const fn book(&self) -> &Book {
        &self.book
    }

    /// The books, on stepping down. Inputs not yet flushed are dropped:
    /// their senders re-send them to the next trader.
    pub fn into_book(self) -> Book {
        self.book
    }

    /// How many offers and buys wait for the next flush.
    pub fn pending(&self) -> usize {
        self.offers.len() + self.buys.len()
    }

    /// Takes one offer or buy; returns what is answered at once (a deposit
    /// or request the book already holds, or a refusal), in order.
    pub fn handle(&mut self, input: TraderInput) -> Vec<TraderAction> {
        match input {
            TraderInput::Offer { at, offer } => self.on_offer(at, offer),
            TraderInput::Buy { at, buy } => self.on_buy(at, buy),
        }
    }

    fn on_offer(&mut self, at: Timestamp, offer: Offer) -> Vec<TraderAction> {
        let to = offer.id.seller;
        if let Some(refused) = refuse_unless_owner(at, to) {
            return refused;
        }
        if let Some(remaining) = self.book.remaining(offer.id) {
            return vec![TraderAction::Deposited {
                to,
                deposited: Deposited {
                    offer: offer.id,
                    remaining,
                },
            }];
        }
        self.offers.push((at, offer));
        Vec::new()
    }

    fn on_buy(&mut self, at: Timestamp, buy: Buy) -> Vec<TraderAction> {
        let to = buy.id.buyer;
        if let Some(refused) = refuse_unless_owner(at, to) {
            return refused;
        }
        match self.book.request(buy.id) {
            RequestState::Answered(reply) => vec![TraderAction::Reply { to, reply }],
            // Its buyer holds the reply already and has moved on.
            RequestState::Superseded => Vec::new(),
            RequestState::New => {
                self.buys.push((at, buy));
                Vec::new()
            }
        }
    }

    /// Serves everything that arrived since the last batch, in timestamp
    /// order; `None` if nothing waits.
    pub fn flush(&mut self) -> Option<Persist> {
        if self.pending() == 0 {
            return None;
        }
        let batch = self.book.serve(&mut self.offers, &mut self.buys);
        let mut out =
            Vec::with_capacity(self.offers.len() + self.buys.len() + 2 * batch.sales.len());
        for (_, offer) in self.offers.drain(..) {
            let remaining = self.book.remaining(offer.id).unwrap_or(0);
            let deposited = Deposited {
                offer: offer.id,
                remaining,
            };
            out.push(TraderAction::Deposited {
                to: offer.id.seller,
                deposited,
            });
        }
        // `served` is the buys, in the same order, less those answered before.
        let mut served = batch.requests().peekable();
        for (_, buy) in self.buys.drain(..) {
            let reply = match served.next_if(|(s, _)| s.request == buy.id) {
                Some((s, sales)) => Some(reply_from(s, sales)),
                None => self.book.reply(buy.id),
            };
            if let Some(reply) = reply {
                out.push(TraderAction::Reply {
                    to: buy.id.buyer,
                    reply,
                });
            }
        }
        drop(served);
        for (served, sales) in batch.requests() {
            // One notice per seller per request, so that a seller can
            // recognise a re-sent notice by its request id.
            let mut notices: Vec<(PeerId, SaleNotice)> = Vec::new();
            for sale in sales {
                match notices
                    .iter_mut()
                    .find(|(seller, _)| *seller == sale.seller())
                {
                    Some((_, notice)) => {
                        notice.quantity += sale.quantity;
                        notice.credit += sale.credit;
                    }
                    None => notices.push((
                        sale.seller(),
                        SaleNotice {
                            request: served.request,
                            product: sale.product,
                            quantity: sale.quantity,
                            credit: sale.credit,
                        },
                    )),
                }
            }
            out.extend(
                notices
                    .into_iter()
                    .map(|(to, notice)| TraderAction::Notify { to, notice }),
            );
        }
        out.extend(batch.sales.iter().map(|&sale| TraderAction::Sold(sale)));
        Some(Persist { batch, then: out })
    }
}

/// A peer may offer or buy only in its own name: anything else is refused.
fn refuse_unless_owner(at: Timestamp, owner: PeerId) -> Option<Vec<TraderAction>> {
    (at.peer != owner).then(|| {
        let error = MarketError::NotOwnMessage {
            from: at.peer,
            owner,
        };
        vec![TraderAction::Refused {
            from: at.peer,
            error,
        }]
    })
}
