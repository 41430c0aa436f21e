//! Properties over random sequences of offers, buys, retries and flushes,
//! and over a small market of buyers and sellers losing and repeating
//! messages: goods and money conserved, no double fill, replay of batches
//! reproduces the book, and the earlier timestamp wins scarce stock.

use std::collections::BTreeMap;

use bazaar_market::{
    Batch, Book, Buyer, BuyerAction, BuyerConfig, BuyerInput, BuyerTimer, Ledger, Persist, Pricing,
    RequestState, Seller, SellerAction, SellerConfig, SellerInput, SellerTimer, Trader,
    TraderAction, TraderInput,
    audit::{self, Match},
};
use bazaar_protocol::{
    Buy, BuyReply, Money, Offer, OfferId, PeerId, Product, RequestId, Timestamp,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
enum Op {
    Offer {
        seller: u32,
        product: Product,
        quantity: u32,
        time: u64,
    },
    ResendOffer {
        pick: usize,
        time: u64,
    },
    Buy {
        buyer: u32,
        product: Product,
        quantity: u32,
        time: u64,
    },
    Retry {
        pick: usize,
        time: u64,
    },
    Flush,
}

fn product() -> impl Strategy<Value = Product> {
    prop_oneof![
        Just(Product::Fish),
        Just(Product::Salt),
        Just(Product::Boar)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1..=3u32, product(), 1..=10u32, 0..40u64)
            .prop_map(|(seller, product, quantity, time)| Op::Offer { seller, product, quantity, time }),
        1 => (any::<usize>(), 0..40u64).prop_map(|(pick, time)| Op::ResendOffer { pick, time }),
        4 => (4..=7u32, product(), 1..=10u32, 0..40u64)
            .prop_map(|(buyer, product, quantity, time)| Op::Buy { buyer, product, quantity, time }),
        2 => (any::<usize>(), 0..40u64).prop_map(|(pick, time)| Op::Retry { pick, time }),
        2 => Just(Op::Flush),
    ]
}

fn pricing() -> impl Strategy<Value = Pricing> {
    (1..5_000u64, 1..5_000u64, 1..5_000u64, 0..=10_000u32).prop_map(|(f, s, b, bps)| Pricing {
        fish: Money(f),
        salt: Money(s),
        boar: Money(b),
        commission_bps: bps,
    })
}

/// What a run of the trader produced.
struct Run {
    trader: Trader,
    batches: Vec<Batch>,
    replies: Vec<BuyReply>,
    notices: BTreeMap<(PeerId, RequestId), Money>,
}

/// Feeds the ops to a trader, then flushes; audits after every flush.
fn run(pricing: Pricing, ops: &[Op]) -> Result<Run, TestCaseError> {
    let mut trader = Trader::new(Book::new(pricing).unwrap());
    let mut offers: Vec<Offer> = Vec::new();
    let mut buys: Vec<Buy> = Vec::new();
    let mut seqs: BTreeMap<u32, u64> = BTreeMap::new();
    // The protocol's rules for peers: a seller offers its next lot only
    // once its last one is recorded, a buyer asks its next request only
    // once its last one is answered; until then they re-send.
    let mut unrecorded: BTreeMap<u32, Offer> = BTreeMap::new();
    let mut unanswered: BTreeMap<u32, Buy> = BTreeMap::new();
    let mut out = Run {
        trader: trader.clone(),
        batches: Vec::new(),
        replies: Vec::new(),
        notices: BTreeMap::new(),
    };
    for op in ops.iter().cloned().chain([Op::Flush]) {
        let input = match op {
            Op::Offer {
                seller,
                product,
                quantity,
                time,
            } => {
                let offer = *unrecorded.entry(seller).or_insert_with(|| {
                    let seq = seqs.entry(seller).or_default();
                    *seq += 1;
                    Offer {
                        id: OfferId {
                            seller: PeerId(seller),
                            seq: *seq,
                        },
                        product,
                        quantity,
                    }
                });
                offers.push(offer);
                Some(TraderInput::Offer {
                    at: Timestamp::new(time, PeerId(seller)),
                    offer,
                })
            }
            Op::ResendOffer { pick, time } if !offers.is_empty() => {
                let offer = offers[pick % offers.len()];
                Some(TraderInput::Offer {
                    at: Timestamp::new(time, offer.id.seller),
                    offer,
                })
            }
            Op::Buy {
                buyer,
                product,
                quantity,
                time,
            } => {
                let buy = *unanswered.entry(buyer).or_insert_with(|| {
                    let seq = seqs.entry(buyer).or_default();
                    *seq += 1;
                    Buy {
                        id: RequestId {
                            buyer: PeerId(buyer),
                            seq: *seq,
                        },
                        product,
                        quantity,
                    }
                });
                buys.push(buy);
                Some(TraderInput::Buy {
                    at: Timestamp::new(time, PeerId(buyer)),
                    buy,
                })
            }
            Op::Retry { pick, time } if !buys.is_empty() => {
                let buy = buys[pick % buys.len()];
                Some(TraderInput::Buy {
                    at: Timestamp::new(time, buy.id.buyer),
                    buy,
                })
            }
            Op::ResendOffer { .. } | Op::Retry { .. } | Op::Flush => None,
        };
        let flush = input.is_none();
        let actions = match input {
            Some(input) => trader.handle(input),
            None => match trader.flush() {
                Some(Persist { batch, then }) => {
                    out.batches.push(batch);
                    then
                }
                None => Vec::new(),
            },
        };
        for action in actions {
            match action {
                TraderAction::Reply { to, reply } => {
                    prop_assert_eq!(to, reply.id.buyer);
                    if unanswered.get(&to.0).is_some_and(|b| b.id == reply.id) {
                        unanswered.remove(&to.0);
                    }
                    out.replies.push(reply);
                }
                TraderAction::Deposited { to, deposited } => {
                    if unrecorded
                        .get(&to.0)
                        .is_some_and(|o| o.id == deposited.offer)
                    {
                        unrecorded.remove(&to.0);
                    }
                }
                TraderAction::Notify { to, notice } => {
                    let previous = out.notices.insert((to, notice.request), notice.credit);
                    prop_assert_eq!(previous, None, "a second notice for one sale");
                }
                TraderAction::Sold(_) => {}
                TraderAction::Refused { from, error } => {
                    return Err(TestCaseError::fail(format!("refused {from}: {error}")));
                }
            }
        }
        if flush {
            trader
                .book()
                .audit()
                .map_err(|v| TestCaseError::fail(v.to_string()))?;
        }
    }
    prop_assert_eq!(trader.pending(), 0);
    out.trader = trader;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Goods and money are conserved, and each party's own account (buyers
    /// from the replies, sellers from the notices) matches the ledger.
    #[test]
    fn goods_and_money_are_conserved(pricing in pricing(), ops in prop::collection::vec(op(), 0..80)) {
        let run = run(pricing, &ops)?;
        let book = run.trader.book();
        let summary = book.audit().map_err(|v| TestCaseError::fail(v.to_string()))?;
        prop_assert_eq!(summary.paid, summary.credits + summary.commission);
        let mut receipts: BTreeMap<PeerId, bazaar_market::Receipt> = BTreeMap::new();
        let mut counted = std::collections::BTreeSet::new();
        for reply in &run.replies {
            if counted.insert(reply.id) && reply.filled() > 0 {
                let receipt = receipts.entry(reply.id.buyer).or_default();
                *receipt.goods.entry(reply.product).or_default() += u64::from(reply.filled());
                receipt.paid += reply.paid();
            }
        }
        audit::check_receipts(&book.totals().receipts, &receipts, Match::Exact)
            .map_err(|v| TestCaseError::fail(v.to_string()))?;
        let mut credits: BTreeMap<PeerId, Money> = BTreeMap::new();
        for (&(seller, _), &credit) in &run.notices {
            *credits.entry(seller).or_default() += credit;
        }
        audit::check_seller_credits(book.credits(), &credits, Match::Exact)
            .map_err(|v| TestCaseError::fail(v.to_string()))?;
    }

    /// The book's running totals and credits are what the ledger of every
    /// sale (the store's history) sums to.
    #[test]
    fn the_live_totals_are_what_the_ledger_sums_to(pricing in pricing(), ops in prop::collection::vec(op(), 0..80)) {
        let run = run(pricing, &ops)?;
        let book = run.trader.book();
        let ledger: Ledger = run.batches.iter().flat_map(|b| b.sales.iter().copied()).collect();
        let summed = audit::ledger_totals(ledger.entries());
        prop_assert_eq!(&summed.receipts, &book.totals().receipts);
        prop_assert_eq!(&summed.sold, &book.totals().sold);
        prop_assert_eq!(summed.sales, book.totals().sales);
        prop_assert_eq!(&ledger.credits(), book.credits());
        prop_assert_eq!(ledger.commission(), book.commission());
        let served: u64 = run.batches.iter().map(|b| b.served.len() as u64).sum();
        prop_assert_eq!(served, book.totals().requests);
    }

    /// Every reply to a request is the same reply; none fills more than asked.
    #[test]
    fn no_request_is_filled_twice(ops in prop::collection::vec(op(), 0..80)) {
        let run = run(Pricing::default(), &ops)?;
        let mut first: BTreeMap<RequestId, &BuyReply> = BTreeMap::new();
        for reply in &run.replies {
            prop_assert!(reply.filled() <= reply.requested);
            let seen = *first.entry(reply.id).or_insert(reply);
            prop_assert_eq!(seen, reply);
        }
        let book = run.trader.book();
        prop_assert_eq!(first.len() as u64, book.answered());
        for (id, reply) in first {
            match book.request(id) {
                RequestState::Answered(remembered) => prop_assert_eq!(&remembered, reply),
                RequestState::Superseded => {
                    let last = &book.answers()[&id.buyer].served.request;
                    prop_assert!(last.seq > id.seq, "{} superseded by {}", id, last);
                }
                RequestState::New => prop_assert!(false, "{} was answered but the book forgot it", id),
            }
        }
    }

    /// Replaying the persisted batches, from scratch or from a snapshot taken
    /// midway, rebuilds the very same book.
    #[test]
    fn replaying_batches_reproduces_the_book(
        pricing in pricing(),
        ops in prop::collection::vec(op(), 0..80),
        cut in any::<prop::sample::Index>(),
    ) {
        let run = run(pricing, &ops)?;
        let book = run.trader.book();
        let rebuilt = Book::from_batches(pricing, &run.batches).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&rebuilt, book);
        let cut = cut.index(run.batches.len() + 1);
        let early = Book::from_batches(pricing, &run.batches[..cut]).unwrap();
        let bytes = postcard::to_allocvec(&early).unwrap();
        let mut restored: Book = postcard::from_bytes(&bytes).unwrap();
        for batch in &run.batches[cut..] {
            restored.apply(batch).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        prop_assert_eq!(&restored, book);
    }

    /// Within a batch, requests are served in timestamp order, and once one
    /// request of a product goes short, every later one of it gets nothing;
    /// across the ledger, each product's stock sells in deposit order.
    #[test]
    fn scarce_stock_goes_by_clock_order_and_stock_by_offer_order(ops in prop::collection::vec(op(), 0..80)) {
        let run = run(Pricing::default(), &ops)?;
        let mut deposit_order: BTreeMap<OfferId, usize> = BTreeMap::new();
        for batch in &run.batches {
            prop_assert!(batch.served.windows(2).all(|w| w[0].at <= w[1].at));
            let mut short = [false; 3];
            for (served, sales) in batch.requests() {
                let filled: u32 = sales.iter().map(|s| s.quantity).sum();
                if short[served.product.index()] {
                    prop_assert_eq!(filled, 0, "{} filled after an earlier request went short", served.request);
                }
                if filled < served.requested {
                    short[served.product.index()] = true;
                }
            }
            for offer in &batch.deposits {
                let next = deposit_order.len();
                deposit_order.insert(offer.id, next);
            }
        }
        for product in Product::ALL {
            let ledger: Ledger = run.batches.iter().flat_map(|b| b.sales.iter().copied()).collect();
            let order: Vec<usize> = ledger.entries().iter()
                .filter(|e| e.product == product)
                .map(|e| deposit_order[&e.offer])
                .collect();
            prop_assert!(order.windows(2).all(|w| w[0] <= w[1]), "{product} sold out of offer order: {order:?}");
        }
    }

    /// Of two concurrent requests for the last units, the one with the
    /// earlier timestamp wins, whatever order they arrive in.
    #[test]
    fn the_earlier_timestamp_wins_the_last_units(
        stock in 1..=10u32,
        (t1, t2) in (0..20u64, 0..20u64),
        reversed in any::<bool>(),
    ) {
        let mut trader = Trader::new(Book::new(Pricing::default()).unwrap());
        let id = OfferId { seller: PeerId(9), seq: 1 };
        trader.handle(TraderInput::Offer { at: Timestamp::new(0, PeerId(9)), offer: Offer { id, product: Product::Salt, quantity: stock } });
        trader.flush();
        let a = (Timestamp::new(t1, PeerId(1)), RequestId { buyer: PeerId(1), seq: 1 });
        let b = (Timestamp::new(t2, PeerId(2)), RequestId { buyer: PeerId(2), seq: 1 });
        let arrivals = if reversed { [b, a] } else { [a, b] };
        for (at, id) in arrivals {
            trader.handle(TraderInput::Buy { at, buy: Buy { id, product: Product::Salt, quantity: stock } });
        }
        trader.flush();
        let (winner, loser) = if a.0 < b.0 { (a.1, b.1) } else { (b.1, a.1) };
        prop_assert_eq!(trader.book().reply(winner).unwrap().filled(), stock);
        prop_assert_eq!(trader.book().reply(loser).unwrap().filled(), 0);
    }

    /// A small market of buyers and sellers, losing and repeating messages:
    /// when it quiets down, every buyer received exactly what the ledger
    /// sold it and every seller holds exactly the credits the ledger gives.
    #[test]
    fn buyers_and_sellers_accounts_match_the_ledger(seed in any::<u64>(), rounds in 1..40usize) {
        let market = simulate(seed, rounds);
        let book = market.trader.book();
        book.audit().map_err(|v| TestCaseError::fail(v.to_string()))?;
        let receipts = market.buyers.iter().map(|b| (b.id(), b.receipt().clone())).collect();
        audit::check_receipts(&book.totals().receipts, &receipts, Match::Exact)
            .map_err(|v| TestCaseError::fail(v.to_string()))?;
        let credits = market.sellers.iter().map(|s| (s.id(), s.credits())).collect();
        audit::check_seller_credits(book.credits(), &credits, Match::Exact)
            .map_err(|v| TestCaseError::fail(v.to_string()))?;
    }
}

const TRADER: PeerId = PeerId(99);

/// Three buyers and three sellers around one trader; each round fires every
/// pending timer and flushes the trader once.
struct Market {
    trader: Trader,
    buyers: Vec<Buyer>,
    sellers: Vec<Seller>,
    buyer_timers: Vec<Option<BuyerTimer>>,
    seller_timers: Vec<Option<SellerTimer>>,
    inbox: Vec<TraderInput>,
    clock: u64,
    rng: ChaCha8Rng,
    loss: f64,
}

impl Market {
    fn stamp(&mut self, peer: PeerId) -> Timestamp {
        self.clock += 1;
        Timestamp::new(self.clock, peer)
    }

    /// Whether a message is lost; one that is not may also arrive twice.
    fn lost(&mut self) -> bool {
        self.rng.random_bool(self.loss)
    }

    fn buyer_did(&mut self, i: usize, actions: Vec<BuyerAction>) {
        for action in actions {
            match action {
                BuyerAction::Send { to, buy } => {
                    assert_eq!(to, TRADER);
                    if !self.lost() {
                        let at = self.stamp(buy.id.buyer);
                        self.inbox.push(TraderInput::Buy { at, buy });
                    }
                }
                BuyerAction::SetTimer { timer, .. } => self.buyer_timers[i] = Some(timer),
                BuyerAction::CancelTimer(timer) => {
                    assert_eq!(self.buyer_timers[i].take(), Some(timer));
                }
                BuyerAction::SuspectTrader | BuyerAction::GaveUp { .. } => {}
            }
        }
    }

    fn seller_did(&mut self, i: usize, actions: Vec<SellerAction>) {
        for action in actions {
            match action {
                SellerAction::Send { to, offer } => {
                    assert_eq!(to, TRADER);
                    if !self.lost() {
                        let at = self.stamp(offer.id.seller);
                        self.inbox.push(TraderInput::Offer { at, offer });
                    }
                }
                SellerAction::SetTimer { timer, .. } => self.seller_timers[i] = Some(timer),
                SellerAction::CancelTimer(timer) => {
                    assert_eq!(self.seller_timers[i].take(), Some(timer));
                }
                SellerAction::SuspectTrader
                | SellerAction::Offered { .. }
                | SellerAction::Credited(_) => {}
            }
        }
    }

    fn round(&mut self) {
        for i in 0..self.buyers.len() {
            if let Some(timer) = self.buyer_timers[i].take() {
                let actions = self.buyers[i].handle(BuyerInput::Timer(timer));
                self.buyer_did(i, actions);
            }
        }
        for i in 0..self.sellers.len() {
            if let Some(timer) = self.seller_timers[i].take() {
                let actions = self.sellers[i].handle(SellerInput::Timer(timer));
                self.seller_did(i, actions);
            }
        }
        let mut actions = Vec::new();
        for input in std::mem::take(&mut self.inbox) {
            actions.extend(self.trader.handle(input));
        }
        actions.extend(self.trader.flush().into_iter().flat_map(|p| p.then));
        for action in actions {
            let copies = if self.lost() { 2 } else { 1 };
            match action {
                TraderAction::Reply { to, reply } => {
                    if self.lost() {
                        continue;
                    }
                    let i = self.buyers.iter().position(|b| b.id() == to).unwrap();
                    for _ in 0..copies {
                        let done = self.buyers[i].handle(BuyerInput::Reply(reply.clone()));
                        self.buyer_did(i, done);
                    }
                }
                TraderAction::Deposited { to, deposited } => {
                    if self.lost() {
                        continue;
                    }
                    let i = self.sellers.iter().position(|s| s.id() == to).unwrap();
                    let done = self.sellers[i].handle(SellerInput::Deposited(deposited));
                    self.seller_did(i, done);
                }
                TraderAction::Notify { to, notice } => {
                    // Notices are not re-sent by the trader, so none is lost
                    // here; some arrive twice.
                    let i = self.sellers.iter().position(|s| s.id() == to).unwrap();
                    for _ in 0..copies {
                        let done = self.sellers[i].handle(SellerInput::Sale(notice));
                        self.seller_did(i, done);
                    }
                }
                TraderAction::Sold(_) => {}
                TraderAction::Refused { from, error } => panic!("refused {from}: {error}"),
            }
        }
    }
}

fn simulate(seed: u64, rounds: usize) -> Market {
    let buyers: Vec<Buyer> = (1..=3)
        .map(|id| Buyer::new(PeerId(id), BuyerConfig::default(), seed ^ u64::from(id)))
        .collect();
    let sellers: Vec<Seller> = (11..=13)
        .map(|id| Seller::new(PeerId(id), SellerConfig::default(), seed ^ u64::from(id)))
        .collect();
    let mut market = Market {
        trader: Trader::new(Book::new(Pricing::default()).unwrap()),
        buyer_timers: vec![None; buyers.len()],
        seller_timers: vec![None; sellers.len()],
        buyers,
        sellers,
        inbox: Vec::new(),
        clock: 0,
        rng: ChaCha8Rng::seed_from_u64(seed),
        loss: 0.2,
    };
    for i in 0..market.buyers.len() {
        let actions = market.buyers[i].handle(BuyerInput::TraderIs(TRADER));
        market.buyer_did(i, actions);
    }
    for i in 0..market.sellers.len() {
        let actions = market.sellers[i].handle(SellerInput::TraderIs(TRADER));
        market.seller_did(i, actions);
    }
    for _ in 0..rounds {
        market.round();
    }
    // Quiet down: nothing lost any more, every retry answered.
    market.loss = 0.0;
    for _ in 0..3 {
        market.round();
    }
    market
}
