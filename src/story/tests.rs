//! Every event's line, word for word.

use std::time::Duration;

use bazaar_node::{ElectionCause, Event, StoreFailure, runtime::Report};
use bazaar_protocol::{Fill, Money, PeerId, Product, RequestId};

use super::{Loudness, line};

fn report(event: Event) -> Report {
    Report {
        peer: PeerId(1),
        event,
    }
}

const REQUEST: RequestId = RequestId {
    buyer: PeerId(1),
    seq: 7,
};

#[test]
fn a_buy_filled_by_two_sellers_names_both() {
    let fill = |seller, quantity| Fill {
        seller: PeerId(seller),
        quantity,
        unit_price: Money::units(10),
    };
    let answered = Event::Answered {
        request: REQUEST,
        product: Product::Fish,
        requested: 5,
        filled: 4,
        fills: vec![fill(2, 3), fill(4, 1)],
        latency: Duration::from_micros(1_250),
    };
    assert_eq!(
        line(&report(answered)),
        (
            Loudness::Story,
            "peer 1 got 4 of 5 fish from peer 2 (3) and peer 4 (1), paid 40.00, in 1.25ms (buy 1#7)"
                .into()
        )
    );
}

#[test]
fn out_of_stock_says_so() {
    let answered = Event::Answered {
        request: REQUEST,
        product: Product::Salt,
        requested: 5,
        filled: 0,
        fills: vec![],
        latency: Duration::from_micros(850),
    };
    assert_eq!(
        line(&report(answered)).1,
        "peer 1 was told salt is out of stock (buy 1#7, answered in 850µs)"
    );
}

#[test]
fn an_election_says_why() {
    let started = Event::ElectionStarted {
        cause: ElectionCause::TraderUnreachable { trader: PeerId(6) },
        epoch: bazaar_protocol::Epoch(3),
    };
    assert_eq!(
        line(&report(started)).1,
        "peer 1 starts an election: trader 6 is unreachable"
    );
}

/// Every event's line, word for word: what the operators know.
#[test]
fn every_event_has_its_one_line() {
    use bazaar_market::{LedgerEntry, MarketError};
    use bazaar_node::{CommitId, Reject};
    use bazaar_protocol::{CodecError, Epoch, Offer, OfferId, SaleNotice};

    let epoch = Epoch(9);
    let ms = Duration::from_millis;
    let offer = Offer {
        id: OfferId {
            seller: PeerId(1),
            seq: 2,
        },
        product: Product::Boar,
        quantity: 3,
    };
    let started = |cause| Event::ElectionStarted { cause, epoch };
    let closed = |failure| Event::DeskClosed { epoch, failure };
    let rejected = |reason| Event::Rejected {
        from: PeerId(6),
        reason,
    };
    let cases = [
        (
            Event::Sold(LedgerEntry {
                request: RequestId {
                    buyer: PeerId(3),
                    seq: 1,
                },
                offer: OfferId {
                    seller: PeerId(2),
                    seq: 1,
                },
                product: Product::Fish,
                quantity: 4,
                unit_price: Money::units(10),
                credit: Money(3_600),
                commission: Money(400),
            }),
            Loudness::Lab,
            "peer 3 bought 4 fish from peer 2",
        ),
        (
            Event::Following {
                trader: PeerId(6),
                epoch,
            },
            Loudness::Story,
            "peer 1 follows trader 6 from epoch 9",
        ),
        (
            Event::Asked {
                request: REQUEST,
                product: Product::Salt,
                quantity: 5,
                trader: PeerId(6),
            },
            Loudness::Story,
            "peer 1 asks trader 6 for 5 salt (buy 1#7)",
        ),
        (
            Event::GaveUp {
                product: Product::Boar,
            },
            Loudness::Story,
            "peer 1 gives up on boar: out of stock too often in a row",
        ),
        (
            Event::Offered {
                offer,
                trader: PeerId(6),
            },
            Loudness::Story,
            "peer 1 offers 3 boar to trader 6 (offer 1#2)",
        ),
        (
            Event::Credited(SaleNotice {
                request: RequestId {
                    buyer: PeerId(3),
                    seq: 4,
                },
                product: Product::Salt,
                quantity: 3,
                credit: Money(1_350),
            }),
            Loudness::Story,
            "peer 1 sold 3 salt to peer 3, credited 13.50",
        ),
        (
            started(ElectionCause::StartUp),
            Loudness::Story,
            "peer 1 starts an election: it has just started",
        ),
        (
            started(ElectionCause::TraderSilent { trader: PeerId(6) }),
            Loudness::Story,
            "peer 1 starts an election: trader 6 stopped sending heartbeats",
        ),
        (
            started(ElectionCause::RequestUnanswered { trader: PeerId(6) }),
            Loudness::Story,
            "peer 1 starts an election: trader 6 left a request unanswered",
        ),
        (
            started(ElectionCause::TraderResigned { trader: PeerId(6) }),
            Loudness::Story,
            "peer 1 starts an election: trader 6 resigned",
        ),
        (
            started(ElectionCause::NoSuccessor),
            Loudness::Story,
            "peer 1 starts an election: it resigned and nobody took over",
        ),
        (
            started(ElectionCause::Reconnected),
            Loudness::Story,
            "peer 1 starts an election: it hears from other peers again after being cut off",
        ),
        (
            started(ElectionCause::LowerPeerCalled { by: PeerId(2) }),
            Loudness::Story,
            "peer 1 starts an election: lower peer 2 called an election",
        ),
        (
            started(ElectionCause::LowerPeerClaimed { by: PeerId(2) }),
            Loudness::Story,
            "peer 1 starts an election: lower peer 2 claimed to be the coordinator",
        ),
        (
            started(ElectionCause::NoAnnouncement),
            Loudness::Story,
            "peer 1 starts an election: a higher peer answered but never announced itself",
        ),
        (
            started(ElectionCause::NewerEpoch { epoch: Epoch(14) }),
            Loudness::Story,
            "peer 1 starts an election: it learned of the newer epoch 14",
        ),
        (
            started(ElectionCause::Fenced { newest: Epoch(14) }),
            Loudness::Story,
            "peer 1 starts an election: the store has seen epoch 14",
        ),
        (
            Event::SteppedDown {
                epoch,
                resigned: true,
            },
            Loudness::Story,
            "peer 1 resigned as trader of epoch 9",
        ),
        (
            Event::SteppedDown {
                epoch,
                resigned: false,
            },
            Loudness::Story,
            "peer 1 stepped down as trader of epoch 9",
        ),
        (
            Event::OutageBegan { peer: PeerId(2) },
            Loudness::Story,
            "peer 1 cannot reach peer 2",
        ),
        (
            Event::OutageEnded {
                peer: PeerId(2),
                lasted: ms(1_500),
            },
            Loudness::Story,
            "peer 1 reaches peer 2 again, after 1.50s",
        ),
        (
            closed(StoreFailure::Fenced { newest: Epoch(14) }),
            Loudness::Problem,
            "peer 1: deposed: the store refused epoch 9: the store has seen epoch 14",
        ),
        (
            closed(StoreFailure::Leased {
                holder: PeerId(5),
                retry_after: ms(120),
            }),
            Loudness::Problem,
            "peer 1: deposed: the store refused epoch 9: the books are leased to peer 5 for 120ms more",
        ),
        (
            closed(StoreFailure::Unavailable),
            Loudness::Problem,
            "peer 1: deposed: the store refused epoch 9: the store is unavailable",
        ),
        (
            closed(StoreFailure::Corrupt),
            Loudness::Problem,
            "peer 1: deposed: the store refused epoch 9: the stored books are damaged",
        ),
        (
            rejected(Reject::Malformed(CodecError::Empty)),
            Loudness::Problem,
            "peer 1: refused a message from peer 6: malformed frame: empty message: no bytes to decode",
        ),
        (
            rejected(Reject::Stranger),
            Loudness::Problem,
            "peer 1: refused a message from peer 6: not a peer of this cluster",
        ),
        (
            rejected(Reject::Impersonation { claimed: PeerId(2) }),
            Loudness::Problem,
            "peer 1: refused a message from peer 6: envelope claims to be from peer 2",
        ),
        (
            rejected(Reject::Market(MarketError::NotOwnMessage {
                from: PeerId(6),
                owner: PeerId(2),
            })),
            Loudness::Problem,
            "peer 1: refused a message from peer 6: peer 6 sent a message in the name of peer 2",
        ),
        (
            Event::StoreUnavailable {
                epoch,
                down: Duration::ZERO,
            },
            Loudness::Problem,
            "peer 1: the store failed (epoch 9): dropped what the last commit held, loading the books again until it answers",
        ),
        (
            Event::StoreUnavailable {
                epoch,
                down: ms(40),
            },
            Loudness::Detail,
            "peer 1: the store still fails (epoch 9, for 40ms)",
        ),
        (
            Event::CutOff {
                epoch,
                quiet: ms(250),
            },
            Loudness::Problem,
            "peer 1: heard from no other peer for 250ms: giving up the term of epoch 9",
        ),
        (
            Event::BooksReloaded { epoch },
            Loudness::Story,
            "peer 1 reloaded the books of epoch 9 from the store",
        ),
        (
            Event::BooksLeased {
                epoch,
                holder: PeerId(5),
                retry_after: ms(120),
            },
            Loudness::Story,
            "peer 1 waiting for the books (epoch 9): leased to peer 5 for 120ms more",
        ),
        (
            Event::Committed {
                commit: CommitId(17),
                latency: Duration::from_micros(1_250),
            },
            Loudness::Detail,
            "peer 1: commit 17 durable in 1.25ms",
        ),
    ];
    for (event, loudness, text) in cases {
        assert_eq!(line(&report(event)), (loudness, text.to_owned()));
    }
}

#[test]
fn the_lab_lines_stay_as_the_lab_wrote_them() {
    let coordinator = Event::Coordinator {
        id: PeerId(6),
        epoch: bazaar_protocol::Epoch(3),
    };
    assert_eq!(
        line(&report(coordinator)),
        (
            Loudness::Lab,
            "Dear buyers and sellers, My ID is 6, and I am the new coordinator".into()
        )
    );
}
