//! The `Driver`'s own rules, beyond the `Peer`'s: checked by feeding a few
//! inputs and asserting the exact frames that come out, as the shell polls
//! them. The bugs the `driver` fuzz target found in it are pinned here.

use std::time::Duration;

use bazaar_node::{Driver, Peer, PeerConfig, Role, StoreCall, Transmit, store::MemStore};
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
