//! The `Driver`'s own rules, beyond the `Peer`'s: checked by feeding a few
//! inputs, with store calls answered late and out of order as a shell may,
//! and asserting what reaches the peer and the frames that come out. The
//! bugs the `driver` fuzz target and the simulator found in it are pinned
//! here.

use std::time::Duration;

use bazaar_market::{Book, Pricing};
use bazaar_node::{
    CallId, Driver, Peer, PeerConfig, Role, StoreCall, Stored, Transmit,
    store::{MemStore, StoreError},
};
use bazaar_protocol::{
    Body, Buy, BuyReply, Deposited, Envelope, Fill, Money, Offer, OfferId, PeerId, Product,
    RequestId, SaleNotice, encode,
};
use bytes::Bytes;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `body` from peer `from` at Lamport time `clock`, encoded.
fn bytes(from: u32, clock: u64, body: Body) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode(&Envelope::new(PeerId(from), clock, body), &mut bytes).unwrap();
    bytes
}

/// Every transmit ready at `now`.
fn transmits(driver: &mut Driver, now: Duration) -> Vec<Transmit> {
    std::iter::from_fn(|| driver.poll_transmit(now)).collect()
}

/// Runs the next store call on `store` and hands its answer back.
fn answer(driver: &mut Driver, store: &MemStore, now: Duration) -> StoreCall {
    let (call, what) = driver.poll_store().expect("a store call");
    driver.handle_stored(now, call, what.run(store));
    what
}

/// Found by the `driver` fuzz target (peer 4 of 4, idle): one batch took
/// seller 2's deposit and sold some of it. Its receipt to the seller went
/// to the outbox and its sale notice, which may wait, was held; the held
/// notice was then released ahead of the whole outbox, and the seller
/// heard of the sale before the receipt of the deposit sent before it,
/// the Lamport times to one peer going backwards. A held frame leaves
/// behind the frames sent before it, and ahead of those sent after it.
#[test]
fn a_held_notice_leaves_behind_the_frames_sent_before_it() {
    let mut driver = Driver::new(Peer::new(PeerConfig::simple(4, 4, Role::Idle)));
    let store = MemStore::new();
    driver.handle_start(ms(0));
    assert!(matches!(
        answer(&mut driver, &store, ms(1)),
        StoreCall::Open { .. }
    ));
    transmits(&mut driver, ms(1));
    let offer = Offer {
        id: OfferId {
            seller: PeerId(2),
            seq: 1,
        },
        product: Product::Fish,
        quantity: 10,
    };
    let buy = Buy {
        id: RequestId {
            buyer: PeerId(1),
            seq: 1,
        },
        product: Product::Fish,
        quantity: 2,
    };
    driver.handle_frame(ms(2), PeerId(2), bytes(2, 1, Body::Offer(offer)));
    driver.handle_frame(ms(2), PeerId(1), bytes(1, 1, Body::Buy(buy)));
    driver.drain(ms(2));
    assert!(matches!(
        answer(&mut driver, &store, ms(3)),
        StoreCall::Commit { .. }
    ));

    // The batch's receipt, reply and notice, in the order sent.
    let t = driver.peer().time();
    let deposited = Deposited {
        offer: offer.id,
        remaining: 8,
    };
    let reply = BuyReply {
        id: buy.id,
        product: Product::Fish,
        requested: 2,
        fills: vec![Fill {
            seller: PeerId(2),
            quantity: 2,
            unit_price: Money::units(10),
        }],
    };
    let notice = SaleNotice {
        request: buy.id,
        product: Product::Fish,
        quantity: 2,
        credit: Money(1_800),
    };
    let frame = |clock, body| Bytes::from(bytes(4, clock, body));
    assert_eq!(
        transmits(&mut driver, ms(3)),
        [
            Transmit {
                to: PeerId(1),
                frames: vec![frame(t - 1, Body::BuyReply(reply))],
            },
            Transmit {
                to: PeerId(2),
                frames: vec![
                    frame(t - 2, Body::Deposited(deposited)),
                    frame(t, Body::Sale(notice)),
                ],
            },
        ]
    );
}

fn books() -> Result<Stored, StoreError> {
    Ok(Stored::Books(Box::new(
        Book::new(Pricing::default()).unwrap(),
    )))
}

fn lost() -> Result<Stored, StoreError> {
    Err(StoreError::Io {
        path: "test".into(),
        detail: "the connection died".into(),
    })
}

/// Every store call asked for since the last look.
fn asked(driver: &mut Driver) -> Vec<(CallId, StoreCall)> {
    std::iter::from_fn(|| driver.poll_store()).collect()
}

fn buy_frame(seq: u64) -> Vec<u8> {
    let buy = Buy {
        id: RequestId {
            buyer: PeerId(1),
            seq,
        },
        product: Product::Fish,
        quantity: 1,
    };
    let mut bytes = Vec::new();
    encode(&Envelope::new(PeerId(1), seq, Body::Buy(buy)), &mut bytes).unwrap();
    bytes
}

/// Lets time run, timer by timer, until the driver asks for a call that
/// `wanted` picks; returns it with the time it was asked at.
fn until(driver: &mut Driver, wanted: fn(&StoreCall) -> bool) -> (CallId, Duration) {
    for _ in 0..100 {
        let now = driver.poll_timeout().expect("a timer is set");
        while driver.handle_timeout(now).is_some() {}
        driver.drain(now);
        if let Some((id, _)) = asked(driver).into_iter().find(|(_, call)| wanted(call)) {
            return (id, now);
        }
    }
    panic!("the call never came");
}

/// Peer 2 of 2, idle, trading with its books open.
fn trader() -> Driver {
    let mut driver = Driver::new(Peer::new(PeerConfig::simple(2, 2, Role::Idle)));
    driver.handle_start(ms(0));
    driver.drain(ms(0));
    let [(open, StoreCall::Open { .. })] = asked(&mut driver)[..] else {
        panic!("the highest peer opens the books");
    };
    driver.handle_stored(ms(1), open, books());
    assert!(driver.peer().is_trading());
    driver
}

/// Found by the simulator (seed 9946, 7 peers): a reload still in flight
/// when the Books timer asked for another answered after the trader had
/// reopened and committed, and put back books from before that commit.
#[test]
fn only_the_newest_load_of_the_books_reaches_the_peer() {
    let mut driver = trader();
    driver.handle_frame(ms(2), PeerId(1), buy_frame(1));
    driver.drain(ms(2));
    let [(commit, StoreCall::Commit { .. })] = asked(&mut driver)[..] else {
        panic!("the buy is committed");
    };
    // The commit's outcome is unknown: the trader loads the books again
    // when its Books timer fires; the store is slow, a renewal fails too,
    // and the timer, set again, asks for another load.
    driver.handle_stored(ms(3), commit, lost());
    let (first, _) = until(&mut driver, |c| matches!(c, StoreCall::Reload { .. }));
    let (renewal, at) = until(&mut driver, |c| matches!(c, StoreCall::Renew { .. }));
    driver.handle_stored(at, renewal, lost());
    let (second, later) = until(&mut driver, |c| matches!(c, StoreCall::Reload { .. }));
    assert_eq!(driver.in_flight(), 1, "the first load is superseded");

    driver.handle_stored(later, first, books());
    assert!(
        !driver.peer().is_trading(),
        "a superseded load opens nothing"
    );
    driver.handle_stored(later, second, books());
    assert!(driver.peer().is_trading());
}

/// A renewal's answer never stands for the commit beside it: answers go
/// by call id, in whatever order they come.
#[test]
fn answers_go_by_call_id_in_any_order() {
    let mut driver = trader();
    driver.handle_frame(ms(2), PeerId(1), buy_frame(1));
    driver.drain(ms(2));
    let [(commit, StoreCall::Commit { .. })] = asked(&mut driver)[..] else {
        panic!("the buy is committed");
    };
    let (renewal, renew) = until(&mut driver, |c| matches!(c, StoreCall::Renew { .. }));
    driver.handle_stored(renew, renewal, Ok(Stored::Done));
    assert_eq!(
        replies(&mut driver, renew),
        0,
        "the reply waits for its commit"
    );
    driver.handle_stored(renew, commit, Ok(Stored::Done));
    assert_eq!(replies(&mut driver, renew), 1);
}

/// Buy replies among the frames that leave now.
fn replies(driver: &mut Driver, now: Duration) -> usize {
    std::iter::from_fn(|| driver.poll_transmit(now))
        .flat_map(|t| t.frames)
        .filter(|frame| {
            matches!(
                bazaar_protocol::decode(frame).map(|e| e.body),
                Ok(Body::BuyReply(_))
            )
        })
        .count()
}
