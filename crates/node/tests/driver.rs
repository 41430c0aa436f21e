//! The `Driver`'s own rules, with store calls answered late and out of
//! order, as a shell may: what reaches the peer, and what leaves.

use std::time::Duration;

use bazaar_market::{Book, Pricing};
use bazaar_node::{CallId, Driver, Peer, PeerConfig, Role, StoreCall, Stored, store::StoreError};
use bazaar_protocol::{Body, Buy, Envelope, PeerId, Product, RequestId, encode};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
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
