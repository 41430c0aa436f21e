//! The trader machine: exact actions, in order.

use bazaar_market::{Book, MarketError, Persist, Pricing, Trader, TraderAction, TraderInput};
use bazaar_protocol::{
    Buy, BuyReply, Deposited, Fill, Money, Offer, OfferId, PeerId, Product, RequestId, SaleNotice,
    Timestamp,
};

const FISH: Product = Product::Fish;

fn trader() -> Trader {
    Trader::new(Book::new(Pricing::default()).unwrap())
}

fn offer_in(time: u64, seller: u32, seq: u64, quantity: u32) -> TraderInput {
    let id = OfferId {
        seller: PeerId(seller),
        seq,
    };
    TraderInput::Offer {
        at: Timestamp::new(time, PeerId(seller)),
        offer: Offer {
            id,
            product: FISH,
            quantity,
        },
    }
}

fn buy_in(time: u64, buyer: u32, seq: u64, quantity: u32) -> TraderInput {
    let id = RequestId {
        buyer: PeerId(buyer),
        seq,
    };
    TraderInput::Buy {
        at: Timestamp::new(time, PeerId(buyer)),
        buy: Buy {
            id,
            product: FISH,
            quantity,
        },
    }
}

fn deposited(seller: u32, seq: u64, remaining: u32) -> TraderAction {
    let offer = OfferId {
        seller: PeerId(seller),
        seq,
    };
    TraderAction::Deposited {
        to: PeerId(seller),
        deposited: Deposited { offer, remaining },
    }
}

fn req(buyer: u32, seq: u64) -> RequestId {
    RequestId {
        buyer: PeerId(buyer),
        seq,
    }
}

/// The actions a flush asks for once its batch is durable.
fn flushed(trader: &mut Trader) -> Vec<TraderAction> {
    trader
        .flush()
        .map(|persist| persist.then)
        .unwrap_or_default()
}

#[test]
fn a_flush_persists_then_acknowledges_replies_notifies_and_logs() {
    let mut trader = trader();
    assert_eq!(trader.handle(offer_in(1, 2, 1, 3)), vec![]);
    assert_eq!(trader.handle(buy_in(2, 1, 1, 2)), vec![]);
    let Persist { batch, then } = trader.flush().expect("two inputs wait");
    let sale = batch.sales[0];
    let unit_price = Money::units(10);
    let expected = vec![
        // Three deposited, two sold in the same batch: the receipt says one left.
        deposited(2, 1, 1),
        TraderAction::Reply {
            to: PeerId(1),
            reply: BuyReply {
                id: req(1, 1),
                product: FISH,
                requested: 2,
                fills: vec![Fill {
                    seller: PeerId(2),
                    quantity: 2,
                    unit_price,
                }],
            },
        },
        TraderAction::Notify {
            to: PeerId(2),
            notice: SaleNotice {
                request: req(1, 1),
                product: FISH,
                quantity: 2,
                credit: Money(1_800),
            },
        },
        TraderAction::Sold(sale),
    ];
    assert_eq!(then, expected);
    assert_eq!(sale.to_string(), "peer 1 bought 2 fish from peer 2");
    assert_eq!(trader.pending(), 0);
}

#[test]
fn an_empty_flush_does_nothing() {
    let mut trader = trader();
    assert_eq!(trader.flush(), None);
}

#[test]
fn a_retry_of_an_answered_request_is_answered_at_once_from_memory() {
    let mut trader = trader();
    trader.handle(offer_in(1, 2, 1, 3));
    trader.handle(buy_in(2, 1, 1, 2));
    trader.flush();
    let reply = trader.book().reply(req(1, 1)).unwrap();
    assert_eq!(
        trader.handle(buy_in(7, 1, 1, 2)),
        vec![TraderAction::Reply {
            to: PeerId(1),
            reply
        }]
    );
    assert_eq!(trader.pending(), 0);
    assert_eq!(trader.flush(), None);
    assert_eq!(trader.book().totals().sales, 1);
}

#[test]
fn a_re_sent_recorded_deposit_is_acknowledged_at_once() {
    let mut trader = trader();
    trader.handle(offer_in(1, 2, 1, 3));
    trader.flush();
    assert_eq!(
        trader.handle(offer_in(5, 2, 1, 3)),
        vec![deposited(2, 1, 3)]
    );
    assert_eq!(trader.book().on_offer(FISH), 3);
}

#[test]
fn a_request_twice_in_a_batch_gets_two_replies_and_one_fill() {
    let mut trader = trader();
    trader.handle(offer_in(1, 2, 1, 3));
    trader.handle(buy_in(2, 1, 1, 2));
    trader.handle(buy_in(3, 1, 1, 2));
    let actions = flushed(&mut trader);
    let replies = actions
        .iter()
        .filter(|a| matches!(a, TraderAction::Reply { .. }))
        .count();
    let notices = actions
        .iter()
        .filter(|a| matches!(a, TraderAction::Notify { .. }))
        .count();
    assert_eq!((replies, notices), (2, 1));
    assert_eq!(trader.book().on_offer(FISH), 1);
}

#[test]
fn one_notice_per_seller_per_request_even_across_lots() {
    let mut trader = trader();
    trader.handle(offer_in(1, 2, 1, 1));
    trader.handle(offer_in(2, 2, 2, 1));
    trader.handle(buy_in(3, 1, 1, 2));
    let actions = flushed(&mut trader);
    let notices: Vec<_> = actions
        .iter()
        .filter(|a| matches!(a, TraderAction::Notify { .. }))
        .collect();
    let notice = SaleNotice {
        request: req(1, 1),
        product: FISH,
        quantity: 2,
        credit: Money(1_800),
    };
    assert_eq!(
        notices,
        vec![&TraderAction::Notify {
            to: PeerId(2),
            notice
        }]
    );
    let reply = trader.book().reply(req(1, 1)).unwrap();
    assert_eq!(
        reply.fills.len(),
        1,
        "consecutive lots of one seller make one fill"
    );
}

#[test]
fn an_offer_or_buy_in_another_peers_name_is_refused() {
    let mut trader = trader();
    let id = OfferId {
        seller: PeerId(2),
        seq: 1,
    };
    let forged = TraderInput::Offer {
        at: Timestamp::new(1, PeerId(9)),
        offer: Offer {
            id,
            product: FISH,
            quantity: 3,
        },
    };
    let error = MarketError::NotOwnMessage {
        from: PeerId(9),
        owner: PeerId(2),
    };
    assert_eq!(
        trader.handle(forged),
        vec![TraderAction::Refused {
            from: PeerId(9),
            error
        }]
    );
    let forged = TraderInput::Buy {
        at: Timestamp::new(1, PeerId(9)),
        buy: Buy {
            id: req(1, 1),
            product: FISH,
            quantity: 3,
        },
    };
    let error = MarketError::NotOwnMessage {
        from: PeerId(9),
        owner: PeerId(1),
    };
    assert_eq!(
        trader.handle(forged),
        vec![TraderAction::Refused {
            from: PeerId(9),
            error
        }]
    );
    assert_eq!(trader.pending(), 0);
}

#[test]
fn offers_in_the_same_batch_are_sold_before_its_buys_are_answered_out_of_stock() {
    let mut trader = trader();
    trader.handle(buy_in(1, 1, 1, 2));
    trader.handle(offer_in(5, 2, 1, 2));
    trader.flush();
    assert_eq!(trader.book().reply(req(1, 1)).unwrap().filled(), 2);
}
