//! Fuzzing a `Peer` with proptest: arbitrary bytes and arbitrary envelopes
//! from arbitrary senders, in any state a short prefix of real inputs can
//! reach. It never panics; what it cannot accept it reports as
//! `Event::Rejected`.

use std::time::Duration;

use bazaar_market::{Book, Pricing};
use bazaar_node::{Action, Event, Input, Peer, PeerConfig, Role};
use bazaar_protocol::{
    Body, Buy, BuyReply, Deposited, ElectionMessage, Envelope, Epoch, Fill, Money, Offer, OfferId,
    PeerId, Product, RequestId, SaleNotice, decode, encode,
};
use proptest::prelude::*;

const PEERS: u32 = 4;

fn product() -> impl Strategy<Value = Product> {
    prop::sample::select(Product::ALL.to_vec())
}

fn peer_id() -> impl Strategy<Value = PeerId> {
    (0u32..=PEERS + 2).prop_map(PeerId)
}

fn epoch() -> impl Strategy<Value = Epoch> {
    prop_oneof![0u64..20, any::<u64>()].prop_map(Epoch)
}

fn request() -> impl Strategy<Value = RequestId> {
    (peer_id(), any::<u64>()).prop_map(|(buyer, seq)| RequestId { buyer, seq })
}

fn offer() -> impl Strategy<Value = OfferId> {
    (peer_id(), any::<u64>()).prop_map(|(seller, seq)| OfferId { seller, seq })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        epoch().prop_map(|epoch| Body::Election(ElectionMessage::Election { epoch })),
        epoch().prop_map(|epoch| Body::Election(ElectionMessage::Alive { epoch })),
        epoch().prop_map(|epoch| Body::Election(ElectionMessage::Coordinator { epoch })),
        epoch().prop_map(|epoch| Body::Election(ElectionMessage::Resign { epoch })),
        epoch().prop_map(|epoch| Body::Heartbeat { epoch }),
        epoch().prop_map(|epoch| Body::Following { epoch }),
        (offer(), product(), any::<u32>()).prop_map(|(id, product, quantity)| {
            Body::Offer(Offer {
                id,
                product,
                quantity,
            })
        }),
        (offer(), any::<u32>())
            .prop_map(|(offer, remaining)| Body::Deposited(Deposited { offer, remaining })),
        (request(), product(), any::<u32>()).prop_map(|(id, product, quantity)| {
            Body::Buy(Buy {
                id,
                product,
                quantity,
            })
        }),
        (
            request(),
            product(),
            any::<u32>(),
            prop::collection::vec((peer_id(), any::<u32>(), any::<u64>()), 0..4)
        )
            .prop_map(|(id, product, requested, fills)| {
                let fills = fills
                    .into_iter()
                    .map(|(seller, quantity, cents)| Fill {
                        seller,
                        quantity,
                        unit_price: Money(cents),
                    })
                    .collect();
                Body::BuyReply(BuyReply {
                    id,
                    product,
                    requested,
                    fills,
                })
            }),
        (request(), product(), any::<u32>(), any::<u64>()).prop_map(
            |(request, product, quantity, cents)| {
                Body::Sale(SaleNotice {
                    request,
                    product,
                    quantity,
                    credit: Money(cents),
                })
            }
        ),
    ]
}

/// One thing arriving at the peer: raw bytes, or an envelope whose claimed
/// sender may differ from the authenticated one.
#[derive(Debug, Clone)]
enum Arrival {
    Bytes(PeerId, Vec<u8>),
    Envelope(PeerId, Envelope),
}

fn arrival() -> impl Strategy<Value = Arrival> {
    prop_oneof![
        (peer_id(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(from, bytes)| Arrival::Bytes(from, bytes)),
        (peer_id(), peer_id(), any::<u64>(), body()).prop_map(|(from, claims, clock, body)| {
            Arrival::Envelope(from, Envelope::new(claims, clock, body))
        }),
    ]
}

/// A peer of `PEERS` that is the trader with its books open (`trader`)
/// or a follower of the highest peer.
fn started(me: u32, trader: bool) -> Peer {
    let mut peer = Peer::new(PeerConfig::simple(me, PEERS, Role::Both));
    let actions = peer.handle(Duration::ZERO, Input::Start);
    if trader {
        let epoch = actions
            .iter()
            .find_map(|a| match a {
                Action::LoadBooks { epoch, .. } => Some(*epoch),
                _ => None,
            })
            .expect("the highest peer claims at start");
        let book = Box::new(Book::new(Pricing::default()).unwrap());
        peer.handle(Duration::ZERO, Input::BooksLoaded { epoch, book });
    }
    peer
}

fn rejected(actions: &[Action]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Event(Event::Rejected { .. })))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_peer_takes_any_arrivals_without_panicking(
        trader in any::<bool>(),
        arrivals in prop::collection::vec(arrival(), 1..40),
    ) {
        let me = if trader { PEERS } else { 2 };
        let mut peer = started(me, trader);
        for (i, arrival) in arrivals.into_iter().enumerate() {
            let now = Duration::from_millis(i as u64);
            let (from, bytes, valid) = match arrival {
                Arrival::Bytes(from, bytes) => {
                    let valid = decode(&bytes).is_ok_and(|e| e.from == from)
                        && (1..=PEERS).contains(&from.0);
                    (from, bytes, valid)
                }
                Arrival::Envelope(from, envelope) => {
                    let valid = envelope.from == from && (1..=PEERS).contains(&from.0);
                    let mut bytes = Vec::new();
                    encode(&envelope, &mut bytes).unwrap();
                    (from, bytes, valid)
                }
            };
            let before = peer.time();
            let mut actions = peer.handle(now, Input::Frame { from, bytes });
            actions.extend(peer.handle(now, Input::Drained));
            if !valid {
                // A bad frame, a stranger or a forged sender: refused, and
                // nothing else happens.
                prop_assert!(rejected(&actions), "{actions:?}");
                prop_assert_eq!(peer.time(), before);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_are_rejected_or_decoded(
        from in 1u32..=PEERS,
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut peer = started(2, false);
        let decodes = decode(&bytes).is_ok_and(|e| e.from == PeerId(from));
        let actions = peer.handle(Duration::ZERO, Input::Frame { from: PeerId(from), bytes });
        prop_assert_eq!(rejected(&actions), !decodes);
    }
}
