//! The buyer machine: exact actions for each situation.

use std::time::Duration;

use bazaar_market::{Buyer, BuyerAction, BuyerConfig, BuyerInput, BuyerTimer};
use bazaar_protocol::{Buy, BuyReply, Fill, Money, PeerId, RequestId};

const ME: PeerId = PeerId(1);
const TRADER: PeerId = PeerId(6);
const THINK: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(2);

fn think() -> BuyerAction {
    BuyerAction::SetTimer {
        timer: BuyerTimer::Think,
        after: THINK,
    }
}

fn await_reply() -> BuyerAction {
    BuyerAction::SetTimer {
        timer: BuyerTimer::Request,
        after: TIMEOUT,
    }
}

/// A buyer that knows the trader and has just sent its first request.
fn buying() -> (Buyer, Buy) {
    let mut buyer = Buyer::new(ME, BuyerConfig::default(), 7);
    assert_eq!(buyer.handle(BuyerInput::TraderIs(TRADER)), vec![think()]);
    let actions = buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
    let buy = *buyer.outstanding().expect("a request after thinking");
    assert_eq!(
        actions,
        vec![BuyerAction::Send { to: TRADER, buy }, await_reply()]
    );
    (buyer, buy)
}

fn reply(buy: &Buy, quantity: u32) -> BuyReply {
    let fills = if quantity == 0 {
        Vec::new()
    } else {
        vec![Fill {
            seller: PeerId(2),
            quantity,
            unit_price: Money::units(10),
        }]
    };
    BuyReply {
        id: buy.id,
        product: buy.product,
        requested: buy.quantity,
        fills,
    }
}

#[test]
fn a_buyer_does_nothing_until_it_knows_the_trader() {
    let mut buyer = Buyer::new(ME, BuyerConfig::default(), 7);
    assert_eq!(buyer.handle(BuyerInput::Timer(BuyerTimer::Think)), vec![]);
    assert_eq!(buyer.outstanding(), None);
}

#[test]
fn the_first_request_has_sequence_one_and_wants_one_to_ten_units() {
    let (buyer, buy) = buying();
    assert_eq!(buy.id, RequestId { buyer: ME, seq: 1 });
    assert!((1..=10).contains(&buy.quantity));
    assert_eq!(buyer.wants(), Some((buy.product, buy.quantity)));
}

#[test]
fn a_timeout_re_sends_the_same_request_and_suspects_the_trader() {
    let (mut buyer, buy) = buying();
    let actions = buyer.handle(BuyerInput::Timer(BuyerTimer::Request));
    assert_eq!(
        actions,
        vec![
            BuyerAction::Send { to: TRADER, buy },
            await_reply(),
            BuyerAction::SuspectTrader
        ]
    );
    assert_eq!(buyer.stats().retries, 1);
}

#[test]
fn a_new_trader_gets_the_unanswered_request_with_the_same_id() {
    let (mut buyer, buy) = buying();
    assert_eq!(
        buyer.handle(BuyerInput::TraderLost),
        vec![BuyerAction::CancelTimer(BuyerTimer::Request)]
    );
    assert_eq!(
        buyer.handle(BuyerInput::Timer(BuyerTimer::Request)),
        vec![],
        "stale timer"
    );
    let actions = buyer.handle(BuyerInput::TraderIs(PeerId(5)));
    assert_eq!(
        actions,
        vec![BuyerAction::Send { to: PeerId(5), buy }, await_reply()]
    );
}

#[test]
fn the_same_trader_announced_again_changes_nothing() {
    let (mut buyer, _) = buying();
    assert_eq!(buyer.handle(BuyerInput::TraderIs(TRADER)), vec![]);
}

#[test]
fn a_full_reply_is_recorded_once_and_the_buyer_thinks_then_wants_anew() {
    let (mut buyer, buy) = buying();
    let full = reply(&buy, buy.quantity);
    assert_eq!(
        buyer.handle(BuyerInput::Reply(full.clone())),
        vec![BuyerAction::CancelTimer(BuyerTimer::Request), think()]
    );
    assert_eq!(
        buyer.handle(BuyerInput::Reply(full)),
        vec![],
        "a duplicate reply"
    );
    assert_eq!(
        buyer.receipt().goods.get(&buy.product),
        Some(&u64::from(buy.quantity))
    );
    assert_eq!(buyer.receipt().paid, Money::units(10) * buy.quantity);
    assert_eq!(buyer.wants(), None);
    assert_eq!(buyer.stats().wants_met, 1);
    buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
    assert_eq!(buyer.outstanding().unwrap().id.seq, 2);
}

#[test]
fn after_a_partial_fill_the_next_request_asks_for_the_rest() {
    let mut buyer = Buyer::new(ME, BuyerConfig::default(), 7);
    buyer.handle(BuyerInput::TraderIs(TRADER));
    // Find a seed's first want of at least 2 units.
    let mut seed = 7;
    let buy = loop {
        buyer = Buyer::new(ME, BuyerConfig::default(), seed);
        buyer.handle(BuyerInput::TraderIs(TRADER));
        buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
        let buy = *buyer.outstanding().unwrap();
        if buy.quantity >= 2 {
            break buy;
        }
        seed += 1;
    };
    buyer.handle(BuyerInput::Reply(reply(&buy, 1)));
    buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
    let next = *buyer.outstanding().unwrap();
    assert_eq!(next.id, RequestId { buyer: ME, seq: 2 });
    assert_eq!(
        (next.product, next.quantity),
        (buy.product, buy.quantity - 1)
    );
}

#[test]
fn a_reply_to_an_old_request_is_ignored() {
    let (mut buyer, buy) = buying();
    let old = BuyReply {
        id: RequestId { buyer: ME, seq: 0 },
        ..reply(&buy, 1)
    };
    assert_eq!(buyer.handle(BuyerInput::Reply(old)), vec![]);
    assert_eq!(buyer.outstanding(), Some(&buy));
    assert!(buyer.receipt().goods.is_empty());
}

#[test]
fn out_of_stock_patience_times_in_a_row_makes_the_buyer_want_another_product() {
    let config = BuyerConfig {
        patience: 3,
        ..BuyerConfig::default()
    };
    let mut buyer = Buyer::new(ME, config, 7);
    buyer.handle(BuyerInput::TraderIs(TRADER));
    let first = {
        buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
        *buyer.outstanding().unwrap()
    };
    let mut answers = vec![buyer.handle(BuyerInput::Reply(reply(&first, 0)))];
    for _ in 0..2 {
        buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
        let buy = *buyer.outstanding().unwrap();
        assert_eq!(buy.product, first.product, "still patient");
        answers.push(buyer.handle(BuyerInput::Reply(reply(&buy, 0))));
    }
    let patient = vec![BuyerAction::CancelTimer(BuyerTimer::Request), think()];
    let gives_up = vec![
        BuyerAction::GaveUp {
            product: first.product,
        },
        BuyerAction::CancelTimer(BuyerTimer::Request),
        think(),
    ];
    assert_eq!(answers, [patient.clone(), patient, gives_up]);
    assert_eq!(buyer.stats().wants_abandoned, 1);
    buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
    assert_ne!(buyer.outstanding().unwrap().product, first.product);
    assert_eq!(buyer.stats().out_of_stock, 3);
}

#[test]
fn a_buyer_elected_trader_pauses_and_resumes_with_its_request_after() {
    let (mut buyer, buy) = buying();
    assert_eq!(
        buyer.handle(BuyerInput::TraderIs(ME)),
        vec![BuyerAction::CancelTimer(BuyerTimer::Request)]
    );
    assert!(!buyer.is_active());
    assert_eq!(buyer.handle(BuyerInput::Timer(BuyerTimer::Request)), vec![]);
    // The old trader's reply still counts, but the buyer does not think on.
    assert_eq!(buyer.handle(BuyerInput::Reply(reply(&buy, 1))), vec![]);
    assert_eq!(buyer.receipt().paid, Money::units(10));
    assert_eq!(buyer.handle(BuyerInput::TraderIs(PeerId(7))), vec![think()]);
}

/// Found by the node's simulator: a restarted buyer reused `seq` 1 and got
/// the reply recorded for its earlier incarnation's request.
#[test]
fn a_buyer_numbers_its_requests_past_its_first_seq() {
    let config = BuyerConfig {
        first_seq: 1 << 32,
        ..BuyerConfig::default()
    };
    let mut buyer = Buyer::new(ME, config, 7);
    buyer.handle(BuyerInput::TraderIs(TRADER));
    buyer.handle(BuyerInput::Timer(BuyerTimer::Think));
    let id = buyer.outstanding().unwrap().id;
    assert_eq!(
        id,
        RequestId {
            buyer: ME,
            seq: (1 << 32) + 1
        }
    );
}
