//! Every peer tells its own story: what a buyer asks for and gets, what a
//! seller offers and is credited, why a peer starts an election, and when a
//! peer it had reached goes dark and comes back. Each story is a typed
//! `Event` among the `Peer`'s actions, checked here input by input with the
//! exact actions that come out.

mod support {
    pub mod peer;
}

use bazaar_election::Timer as ElectionTimer;
use bazaar_market::{BuyerTimer, SellerTimer};
use bazaar_node::{Action, ElectionCause, Event, Input, Peer, PeerConfig, PeerTimer, Role};
use bazaar_protocol::{
    Body, Buy, BuyReply, ElectionMessage, Epoch, Fill, Money, Offer, OfferId, PeerId, RequestId,
    SaleNotice,
};
use support::peer::{frame, ms, send};

fn coordinator(epoch: u64) -> Body {
    Body::Election(ElectionMessage::Coordinator {
        epoch: Epoch(epoch),
    })
}

fn events(actions: &[Action]) -> Vec<Event> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

const REQUEST: RequestId = RequestId {
    buyer: PeerId(1),
    seq: 1,
};

/// Peer 1 of 3, a buyer, following trader 3 of epoch 5.
fn buyer() -> Peer {
    let mut peer = Peer::new(PeerConfig::simple(1, 3, Role::Buyer));
    peer.handle(ms(0), Input::Start);
    peer.handle(ms(1), frame(3, 1, coordinator(5)));
    peer
}

/// The buyer's first request, as its think timer sends it.
fn first_buy(peer: &mut Peer) -> Buy {
    let actions = peer.handle(ms(51), Input::Timer(PeerTimer::Buyer(BuyerTimer::Think)));
    actions
        .iter()
        .find_map(|a| match a {
            Action::Send { envelope, .. } => match envelope.body {
                Body::Buy(buy) => Some(buy),
                _ => None,
            },
            _ => None,
        })
        .expect("the buyer asks")
}

#[test]
fn a_buyer_tells_what_it_asks_for_before_it_asks() {
    let mut peer = buyer();
    let t = peer.time();
    let actions = peer.handle(ms(51), Input::Timer(PeerTimer::Buyer(BuyerTimer::Think)));
    let Some(Action::Send { envelope, .. }) = actions.get(1) else {
        panic!("expected the buy second: {actions:?}");
    };
    let Body::Buy(buy) = envelope.body else {
        panic!("expected a buy: {actions:?}");
    };
    assert_eq!(buy.id, REQUEST);
    assert_eq!(
        actions,
        [
            Action::Event(Event::Asked {
                request: REQUEST,
                product: buy.product,
                quantity: buy.quantity,
                trader: PeerId(3),
            }),
            send(&peer, 3, t + 1, Body::Buy(buy)),
            Action::SetTimer {
                timer: PeerTimer::Buyer(BuyerTimer::Request),
                after: ms(300)
            },
        ]
    );
}

#[test]
fn a_buyer_tells_what_it_got_from_which_sellers_and_how_long_it_took() {
    let mut peer = buyer();
    let buy = first_buy(&mut peer);
    let fills = vec![
        Fill {
            seller: PeerId(2),
            quantity: 1,
            unit_price: Money::units(10),
        },
        Fill {
            seller: PeerId(4),
            quantity: buy.quantity - 1,
            unit_price: Money::units(10),
        },
    ];
    let reply = BuyReply {
        id: buy.id,
        product: buy.product,
        requested: buy.quantity,
        fills: fills.clone(),
    };
    assert_eq!(
        peer.handle(ms(71), frame(3, 9, Body::BuyReply(reply.clone()))),
        [
            Action::Event(Event::Answered {
                request: buy.id,
                product: buy.product,
                requested: buy.quantity,
                filled: buy.quantity,
                fills,
                latency: ms(20),
            }),
            Action::CancelTimer(PeerTimer::Buyer(BuyerTimer::Request)),
            Action::SetTimer {
                timer: PeerTimer::Buyer(BuyerTimer::Think),
                after: ms(50)
            },
        ]
    );
    assert_eq!(
        events(&peer.handle(ms(72), frame(3, 10, Body::BuyReply(reply)))),
        [],
        "a duplicate reply is no news"
    );
}

#[test]
fn a_buyer_told_out_of_stock_too_often_says_it_gives_up_its_product() {
    let mut peer = buyer();
    let mut told = Vec::new();
    let mut last = (Vec::new(), None);
    let mut at = 51;
    for _ in 0..3 {
        let actions = peer.handle(ms(at), Input::Timer(PeerTimer::Buyer(BuyerTimer::Think)));
        let buy = actions
            .iter()
            .find_map(|a| match a {
                Action::Send { envelope, .. } => match envelope.body {
                    Body::Buy(buy) => Some(buy),
                    _ => None,
                },
                _ => None,
            })
            .expect("the buyer asks again");
        let empty = BuyReply {
            id: buy.id,
            product: buy.product,
            requested: buy.quantity,
            fills: vec![],
        };
        let actions = peer.handle(ms(at + 5), frame(3, at, Body::BuyReply(empty)));
        told.extend(events(&actions));
        last = (actions, Some(buy));
        at += 60;
    }
    let out_of_stock = told
        .iter()
        .filter(|e| matches!(e, Event::Answered { filled: 0, fills, .. } if fills.is_empty()))
        .count();
    assert_eq!(out_of_stock, 3, "{told:?}");
    let Some(Event::GaveUp { product: gave_up }) = told.last() else {
        panic!("expected it to give up last: {told:?}");
    };
    let (actions, Some(buy)) = last else {
        panic!("three buys")
    };
    assert_eq!(
        actions,
        [
            Action::Event(Event::Answered {
                request: buy.id,
                product: *gave_up,
                requested: buy.quantity,
                filled: 0,
                fills: vec![],
                latency: ms(5),
            }),
            Action::Event(Event::GaveUp { product: *gave_up }),
            Action::CancelTimer(PeerTimer::Buyer(BuyerTimer::Request)),
            Action::SetTimer {
                timer: PeerTimer::Buyer(BuyerTimer::Think),
                after: ms(50)
            },
        ]
    );
}

/// Peer 2 of 3, a seller, following trader 3 of epoch 5, with its first
/// lot offered.
fn seller() -> (Peer, Offer) {
    let mut peer = Peer::new(PeerConfig::simple(2, 3, Role::Seller));
    peer.handle(ms(0), Input::Start);
    let actions = peer.handle(ms(1), frame(3, 1, coordinator(5)));
    let offer = actions
        .iter()
        .find_map(|a| match a {
            Action::Event(Event::Offered { offer, .. }) => Some(*offer),
            _ => None,
        })
        .expect("the seller offers at once");
    (peer, offer)
}

#[test]
fn a_seller_tells_what_it_offers_to_whom_before_it_offers() {
    let mut peer = Peer::new(PeerConfig::simple(2, 3, Role::Seller));
    peer.handle(ms(0), Input::Start);
    let t = peer.time();
    let actions = peer.handle(ms(1), frame(3, 1, coordinator(5)));
    let (_, offer) = seller();
    assert_eq!(
        offer.id,
        OfferId {
            seller: PeerId(2),
            seq: 1
        }
    );
    assert_eq!(
        actions,
        [
            Action::CancelTimer(PeerTimer::Election(ElectionTimer::AwaitAlive)),
            Action::SetTimer {
                timer: PeerTimer::TraderSilent,
                after: ms(200)
            },
            Action::Event(Event::Following {
                trader: PeerId(3),
                epoch: Epoch(5)
            }),
            Action::Event(Event::Offered {
                offer,
                trader: PeerId(3)
            }),
            send(&peer, 3, t + 2, Body::Offer(offer)),
            Action::SetTimer {
                timer: PeerTimer::Seller(SellerTimer::Deposit),
                after: ms(300)
            },
        ]
    );
}

#[test]
fn a_resent_offer_is_not_offered_again() {
    let (mut peer, offer) = seller();
    peer.handle(ms(290), frame(3, 2, Body::Heartbeat { epoch: Epoch(5) }));
    let t = peer.time();
    assert_eq!(
        peer.handle(
            ms(301),
            Input::Timer(PeerTimer::Seller(SellerTimer::Deposit))
        ),
        [
            send(&peer, 3, t + 1, Body::Offer(offer)),
            Action::SetTimer {
                timer: PeerTimer::Seller(SellerTimer::Deposit),
                after: ms(300)
            },
        ]
    );
}

#[test]
fn a_seller_tells_what_sold_to_whom_with_its_credit_once() {
    let (mut peer, offer) = seller();
    let notice = SaleNotice {
        request: REQUEST,
        product: offer.product,
        quantity: 1,
        credit: Money(900),
    };
    let actions = peer.handle(ms(10), frame(3, 5, Body::Sale(notice)));
    assert_eq!(
        actions,
        [
            Action::Event(Event::Credited(notice)),
            Action::CancelTimer(PeerTimer::Seller(SellerTimer::Deposit)),
        ],
        "a sale proves the deposit was recorded"
    );
    assert_eq!(
        peer.handle(ms(11), frame(3, 6, Body::Sale(notice))),
        [],
        "a re-sent notice is counted once"
    );
}

#[test]
fn a_seller_tells_it_sold_out_before_it_offers_its_next_lot() {
    let (mut peer, offer) = seller();
    let notice = SaleNotice {
        request: REQUEST,
        product: offer.product,
        quantity: offer.quantity,
        credit: Money(900) * offer.quantity,
    };
    let t = peer.time();
    let actions = peer.handle(ms(10), frame(3, 5, Body::Sale(notice)));
    let next = peer.seller().and_then(|s| s.offering().copied()).unwrap();
    assert_eq!(
        next.id,
        OfferId {
            seller: PeerId(2),
            seq: 2
        }
    );
    assert_eq!(
        actions,
        [
            Action::Event(Event::Credited(notice)),
            Action::CancelTimer(PeerTimer::Seller(SellerTimer::Deposit)),
            Action::Event(Event::Offered {
                offer: next,
                trader: PeerId(3)
            }),
            send(&peer, 3, t.max(5) + 2, Body::Offer(next)),
            Action::SetTimer {
                timer: PeerTimer::Seller(SellerTimer::Deposit),
                after: ms(300)
            },
        ]
    );
}

#[test]
fn the_highest_peer_says_it_starts_an_election_at_start_up() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Idle));
    let actions = peer.handle(ms(0), Input::Start);
    let epoch = Epoch(0);
    assert_eq!(
        events(&actions),
        [Event::ElectionStarted {
            cause: ElectionCause::StartUp,
            epoch
        }]
    );
    assert_eq!(
        actions.first(),
        Some(&Action::Event(Event::ElectionStarted {
            cause: ElectionCause::StartUp,
            epoch
        })),
        "it says so before it claims"
    );
}

#[test]
fn a_lower_peer_starts_its_election_at_start_up_and_says_so() {
    let mut peer = Peer::new(PeerConfig::simple(1, 3, Role::Idle));
    let t = peer.time();
    let election = Body::Election(ElectionMessage::Election { epoch: Epoch(0) });
    assert_eq!(
        peer.handle(ms(0), Input::Start),
        [
            Action::Event(Event::ElectionStarted {
                cause: ElectionCause::StartUp,
                epoch: Epoch(0)
            }),
            send(&peer, 2, t + 1, election.clone()),
            send(&peer, 3, t + 2, election),
            Action::SetTimer {
                timer: PeerTimer::Election(ElectionTimer::AwaitAlive),
                after: ms(50)
            },
        ]
    );
}

#[test]
fn a_follower_says_the_trader_went_silent() {
    let mut peer = buyer();
    let actions = peer.handle(ms(250), Input::Timer(PeerTimer::TraderSilent));
    assert_eq!(
        events(&actions),
        [Event::ElectionStarted {
            cause: ElectionCause::TraderSilent { trader: PeerId(3) },
            epoch: Epoch(5)
        }]
    );
}

#[test]
fn a_follower_says_a_request_went_unanswered() {
    let mut peer = buyer();
    first_buy(&mut peer);
    let actions = peer.handle(ms(351), Input::Timer(PeerTimer::Buyer(BuyerTimer::Request)));
    assert_eq!(
        events(&actions),
        [Event::ElectionStarted {
            cause: ElectionCause::RequestUnanswered { trader: PeerId(3) },
            epoch: Epoch(5)
        }]
    );
}

#[test]
fn a_peer_bullied_by_a_lower_one_says_who_called() {
    let mut peer = Peer::new(PeerConfig::simple(2, 3, Role::Idle));
    let election = Body::Election(ElectionMessage::Election { epoch: Epoch(0) });
    let actions = peer.handle(ms(0), frame(1, 1, election));
    assert_eq!(
        events(&actions),
        [Event::ElectionStarted {
            cause: ElectionCause::LowerPeerCalled { by: PeerId(1) },
            epoch: Epoch(0)
        }]
    );
}

#[test]
fn a_follower_says_the_trader_resigned() {
    let mut peer = buyer();
    let resign = Body::Election(ElectionMessage::Resign { epoch: Epoch(5) });
    let actions = peer.handle(ms(10), frame(3, 2, resign));
    assert_eq!(
        events(&actions),
        [Event::ElectionStarted {
            cause: ElectionCause::TraderResigned { trader: PeerId(3) },
            epoch: Epoch(5)
        }]
    );
}

#[test]
fn a_resigning_trader_starts_no_election() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Idle));
    peer.handle(ms(0), Input::Start);
    let actions = peer.handle(ms(1), Input::Resign);
    assert!(
        !events(&actions)
            .iter()
            .any(|e| matches!(e, Event::ElectionStarted { .. })),
        "{actions:?}"
    );
}

#[test]
fn an_election_that_waited_in_vain_for_an_announcement_says_it_starts_over() {
    let mut peer = Peer::new(PeerConfig::simple(1, 3, Role::Idle));
    peer.handle(ms(0), Input::Start);
    let alive = Body::Election(ElectionMessage::Alive { epoch: Epoch(0) });
    peer.handle(ms(10), frame(3, 1, alive));
    let actions = peer.handle(
        ms(200),
        Input::Timer(PeerTimer::Election(ElectionTimer::AwaitCoordinator)),
    );
    assert_eq!(
        events(&actions),
        [Event::ElectionStarted {
            cause: ElectionCause::NoAnnouncement,
            epoch: Epoch(0)
        }]
    );
}

#[test]
fn a_stale_election_timer_is_no_election() {
    // Peer 1 waits for an Alive; a coordinator timer of no election of its
    // own fires: the election ignores it, and the peer says nothing.
    let mut peer = Peer::new(PeerConfig::simple(1, 3, Role::Idle));
    peer.handle(ms(0), Input::Start);
    let actions = peer.handle(
        ms(10),
        Input::Timer(PeerTimer::Election(ElectionTimer::AwaitCoordinator)),
    );
    assert_eq!(actions, []);
}

#[test]
fn a_peer_never_reached_is_not_reported_unreachable() {
    let mut peer = Peer::new(PeerConfig::simple(1, 3, Role::Idle));
    peer.handle(ms(0), Input::Start);
    assert_eq!(peer.handle(ms(1), Input::Unreachable(PeerId(2))), []);
    assert_eq!(peer.handle(ms(2), Input::Unreachable(PeerId(3))), []);
}

#[test]
fn an_outage_of_a_reached_trader_is_one_line_when_it_begins_and_one_when_it_ends() {
    let mut peer = buyer();
    let lost = peer.handle(ms(100), Input::Unreachable(PeerId(3)));
    assert_eq!(
        events(&lost),
        [
            Event::OutageBegan { peer: PeerId(3) },
            Event::ElectionStarted {
                cause: ElectionCause::TraderUnreachable { trader: PeerId(3) },
                epoch: Epoch(5)
            },
        ]
    );
    assert_eq!(
        events(&peer.handle(ms(150), Input::Unreachable(PeerId(3)))),
        [],
        "one line per outage"
    );
    let back = peer.handle(ms(400), frame(3, 9, coordinator(8)));
    assert_eq!(
        events(&back)[0],
        Event::OutageEnded {
            peer: PeerId(3),
            lasted: ms(300)
        }
    );
    assert_eq!(
        events(&peer.handle(ms(500), frame(3, 10, coordinator(8)))),
        [],
        "over is over"
    );
}
