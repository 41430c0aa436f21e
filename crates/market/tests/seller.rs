//! The seller machine: exact actions for each situation.

use std::time::Duration;

use bazaar_market::{Seller, SellerAction, SellerConfig, SellerInput, SellerTimer};
use bazaar_protocol::{Deposited, Money, Offer, OfferId, PeerId, Product, RequestId, SaleNotice};

const ME: PeerId = PeerId(2);
const TRADER: PeerId = PeerId(6);

fn await_receipt() -> SellerAction {
    SellerAction::SetTimer {
        timer: SellerTimer::Deposit,
        after: Duration::from_secs(2),
    }
}

/// A seller that knows the trader and has just offered its first lot.
fn selling() -> (Seller, Offer) {
    selling_from(11)
}

/// A seller drawing its lots from `seed`, told the trader, with the lot it
/// offered.
fn selling_from(seed: u64) -> (Seller, Offer) {
    let mut seller = Seller::new(ME, SellerConfig::default(), seed);
    let actions = seller.handle(SellerInput::TraderIs(TRADER));
    let offer = *seller.offering().expect("a lot once the trader is known");
    assert_eq!(
        actions,
        vec![
            SellerAction::Offered { to: TRADER, offer },
            SellerAction::Send { to: TRADER, offer },
            await_receipt()
        ]
    );
    (seller, offer)
}

fn notice(buyer: u32, offer: &Offer, quantity: u32) -> SaleNotice {
    SaleNotice {
        request: RequestId {
            buyer: PeerId(buyer),
            seq: 1,
        },
        product: offer.product,
        quantity,
        credit: Money(900) * quantity,
    }
}

#[test]
fn the_first_lot_has_sequence_one_and_one_to_ten_units() {
    let (seller, offer) = selling();
    assert_eq!(offer.id, OfferId { seller: ME, seq: 1 });
    assert!((1..=10).contains(&offer.quantity));
    assert_eq!(seller.remaining(), offer.quantity);
}

#[test]
fn the_receipt_stops_the_deposit_timer() {
    let (mut seller, offer) = selling();
    let receipt = SellerInput::Deposited(Deposited {
        offer: offer.id,
        remaining: offer.quantity,
    });
    assert_eq!(
        seller.handle(receipt.clone()),
        vec![SellerAction::CancelTimer(SellerTimer::Deposit)]
    );
    assert_eq!(seller.handle(receipt), vec![], "a duplicate receipt");
    assert!(seller.is_deposited());
    assert_eq!(
        seller.handle(SellerInput::Timer(SellerTimer::Deposit)),
        vec![],
        "stale timer"
    );
}

#[test]
fn a_timeout_re_sends_the_same_deposit_and_suspects_the_trader() {
    let (mut seller, offer) = selling();
    assert_eq!(
        seller.handle(SellerInput::Timer(SellerTimer::Deposit)),
        vec![
            SellerAction::Send { to: TRADER, offer },
            await_receipt(),
            SellerAction::SuspectTrader
        ]
    );
}

#[test]
fn a_new_trader_gets_an_unacknowledged_deposit_again() {
    let (mut seller, offer) = selling();
    assert_eq!(
        seller.handle(SellerInput::TraderLost),
        vec![SellerAction::CancelTimer(SellerTimer::Deposit)]
    );
    assert_eq!(
        seller.handle(SellerInput::TraderIs(PeerId(5))),
        vec![
            SellerAction::Send {
                to: PeerId(5),
                offer
            },
            await_receipt()
        ]
    );
}

#[test]
fn a_new_trader_is_sent_an_acknowledged_deposit_to_say_what_is_left() {
    let (mut seller, offer) = selling();
    seller.handle(SellerInput::Deposited(Deposited {
        offer: offer.id,
        remaining: offer.quantity,
    }));
    seller.handle(SellerInput::TraderLost);
    assert_eq!(
        seller.handle(SellerInput::TraderIs(PeerId(5))),
        vec![
            SellerAction::Send {
                to: PeerId(5),
                offer
            },
            await_receipt()
        ]
    );
}

#[test]
fn a_receipt_saying_the_lot_sold_out_starts_the_next_lot() {
    // The notices of the sales died with the last trader; the book knows.
    let (mut seller, offer) = selling();
    let actions = seller.handle(SellerInput::Deposited(Deposited {
        offer: offer.id,
        remaining: 0,
    }));
    let next = *seller.offering().expect("a new lot");
    assert_ne!(next.id, offer.id);
    assert_eq!(
        actions,
        vec![
            SellerAction::CancelTimer(SellerTimer::Deposit),
            SellerAction::Offered {
                to: TRADER,
                offer: next
            },
            SellerAction::Send {
                to: TRADER,
                offer: next
            },
            await_receipt()
        ]
    );
}

#[test]
fn sale_notices_are_counted_once_and_a_sold_out_lot_is_followed_by_a_new_one() {
    let (mut seller, offer) = selling();
    seller.handle(SellerInput::Deposited(Deposited {
        offer: offer.id,
        remaining: offer.quantity,
    }));
    let all = notice(1, &offer, offer.quantity);
    let actions = seller.handle(SellerInput::Sale(all));
    let next = *seller.offering().unwrap();
    assert_eq!(
        actions,
        vec![
            SellerAction::Credited(all),
            SellerAction::Offered {
                to: TRADER,
                offer: next
            },
            SellerAction::Send {
                to: TRADER,
                offer: next
            },
            await_receipt()
        ]
    );
    assert_eq!(next.id, OfferId { seller: ME, seq: 2 });
    assert_eq!(
        seller.handle(SellerInput::Sale(all)),
        vec![],
        "a re-sent notice"
    );
    assert_eq!(seller.credits(), Money(900) * offer.quantity);
    assert_eq!(seller.stats().lots_sold_out, 1);
    assert_eq!(
        seller.sold().get(&offer.product),
        Some(&u64::from(offer.quantity))
    );
}

#[test]
fn a_sale_before_the_receipt_counts_as_the_receipt() {
    // A lot of two units or more, so that one sale leaves some.
    let (mut seller, offer) = (0..)
        .map(selling_from)
        .find(|(_, offer)| offer.quantity >= 2)
        .expect("some seed's first lot has two units or more");
    let sale = notice(1, &offer, 1);
    assert_eq!(
        seller.handle(SellerInput::Sale(sale)),
        vec![
            SellerAction::Credited(sale),
            SellerAction::CancelTimer(SellerTimer::Deposit)
        ]
    );
    assert_eq!(seller.remaining(), offer.quantity - 1);
    assert!(seller.is_deposited());
}

#[test]
fn a_seller_elected_trader_pauses_and_offers_after() {
    let (mut seller, offer) = selling();
    assert_eq!(
        seller.handle(SellerInput::TraderIs(ME)),
        vec![SellerAction::CancelTimer(SellerTimer::Deposit)]
    );
    assert_eq!(
        seller.handle(SellerInput::Timer(SellerTimer::Deposit)),
        vec![]
    );
    assert_eq!(
        seller.handle(SellerInput::TraderIs(PeerId(7))),
        vec![
            SellerAction::Send {
                to: PeerId(7),
                offer
            },
            await_receipt()
        ]
    );
}

/// Found by the node's simulator: a restarted seller reused `seq` 1, and
/// the trader took its new lot for the earlier incarnation's deposit.
#[test]
fn a_seller_numbers_its_offers_past_its_first_seq() {
    let config = SellerConfig {
        first_seq: 1 << 32,
        ..SellerConfig::default()
    };
    let mut seller = Seller::new(ME, config, 7);
    seller.handle(SellerInput::TraderIs(TRADER));
    let id = seller.offering().unwrap().id;
    assert_eq!(
        id,
        OfferId {
            seller: ME,
            seq: (1 << 32) + 1
        }
    );
}

/// Found by the node's fuzzer: two sale notices whose credits sum past
/// `u64::MAX` panicked the seller on overflow.
#[test]
fn huge_credits_saturate_instead_of_panicking() {
    let mut seller = Seller::new(ME, SellerConfig::default(), 7);
    seller.handle(SellerInput::TraderIs(TRADER));
    let offer = *seller.offering().unwrap();
    for buyer in [1, 3] {
        let mut sale = notice(buyer, &offer, 0);
        sale.credit = Money(u64::MAX - 1);
        seller.handle(SellerInput::Sale(sale));
    }
    assert_eq!(seller.credits(), Money(u64::MAX));
}

#[test]
fn a_sale_of_a_lot_not_on_offer_is_still_credited() {
    // A notice of an earlier lot (its receipt said it was sold out) comes
    // late: the money is the seller's, the lot on offer is untouched.
    let (mut seller, offer) = selling();
    seller.handle(SellerInput::Deposited(Deposited {
        offer: offer.id,
        remaining: offer.quantity,
    }));
    let mut earlier = notice(3, &offer, 2);
    earlier.product = match offer.product {
        Product::Fish => Product::Salt,
        _ => Product::Fish,
    };
    assert_eq!(
        seller.handle(SellerInput::Sale(earlier)),
        vec![SellerAction::Credited(earlier)]
    );
    assert_eq!(seller.remaining(), offer.quantity);
}
