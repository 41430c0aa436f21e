//! The `Peer`'s own rules, each checked by feeding a few inputs and
//! asserting the exact actions that come out: persist then send, one commit
//! in flight, what a failed commit drops, how a follower watches its
//! trader, and how a trader pauses and resumes its own roles. The bugs the
//! simulator found in the `Peer` are pinned here too, each with its seed.

mod support {
    pub mod peer;
}

use bazaar_election::Timer as ElectionTimer;
use bazaar_market::{Book, BuyerTimer, LedgerEntry, Pricing};
use bazaar_node::{
    Action, CommitId, ElectionCause, Event, Input, Peer, PeerConfig, PeerTimer, Role, StoreFailure,
};
use bazaar_protocol::{
    Body, Buy, BuyReply, Deposited, ElectionMessage, Epoch, Fill, Money, Offer, OfferId, PeerId,
    Product, RequestId, SaleNotice,
};
use support::peer::{frame, ms, send};

fn loads(actions: &[Action]) -> Option<Epoch> {
    actions.iter().find_map(|a| match a {
        Action::LoadBooks { epoch, .. } => Some(*epoch),
        _ => None,
    })
}

fn sent_bodies(actions: &[Action]) -> Vec<(PeerId, Body)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, envelope } => Some((*to, envelope.body.clone())),
            _ => None,
        })
        .collect()
}

const FISH: Product = Product::Fish;

fn offer(seller: u32, seq: u64, quantity: u32) -> Offer {
    Offer {
        id: OfferId {
            seller: PeerId(seller),
            seq,
        },
        product: FISH,
        quantity,
    }
}

fn buy(buyer: u32, seq: u64, quantity: u32) -> Buy {
    Buy {
        id: RequestId {
            buyer: PeerId(buyer),
            seq,
        },
        product: FISH,
        quantity,
    }
}

/// Peer 4 of 4 (idle), trader with open books in which seller 3 has
/// deposited ten fish (commit 0, durable). Peers 1 and 2 buy.
fn trader_with_fish() -> (Peer, Epoch) {
    let mut peer = Peer::new(PeerConfig::simple(4, 4, Role::Idle));
    let epoch = loads(&peer.handle(ms(0), Input::Start)).expect("the highest peer claims");
    let book = Box::new(Book::new(Pricing::default()).unwrap());
    peer.handle(ms(1), Input::BooksLoaded { epoch, book });
    peer.handle(ms(2), frame(3, 1, Body::Offer(offer(3, 1, 10))));
    peer.handle(ms(2), Input::Drained);
    peer.handle(ms(3), Input::Committed(CommitId(0)));
    (peer, epoch)
}

fn committed_batch(actions: &[Action], commit: CommitId) -> bazaar_market::Batch {
    match actions {
        [
            Action::Commit {
                commit: c, batch, ..
            },
        ] if *c == commit => (**batch).clone(),
        other => panic!("expected only commit {commit:?}, got {other:?}"),
    }
}

#[test]
fn a_reply_leaves_only_after_its_commit_is_durable() {
    let (mut trader, epoch) = trader_with_fish();
    assert_eq!(
        trader.handle(ms(4), frame(1, 1, Body::Buy(buy(1, 1, 2)))),
        []
    );
    let actions = trader.handle(ms(4), Input::Drained);
    let batch = committed_batch(&actions, CommitId(1));
    let Action::Commit { epoch: e, .. } = &actions[0] else {
        unreachable!()
    };
    assert_eq!(*e, epoch);
    let sale: LedgerEntry = batch.sales[0];

    let t = trader.time();
    let reply = BuyReply {
        id: buy(1, 1, 2).id,
        product: FISH,
        requested: 2,
        fills: vec![Fill {
            seller: PeerId(3),
            quantity: 2,
            unit_price: Money::units(10),
        }],
    };
    let notice = SaleNotice {
        request: buy(1, 1, 2).id,
        product: FISH,
        quantity: 2,
        credit: Money(1_800),
    };
    assert_eq!(
        trader.handle(ms(5), Input::Committed(CommitId(1))),
        [
            Action::Event(Event::Committed {
                commit: CommitId(1),
                latency: ms(1)
            }),
            send(&trader, 1, t + 1, Body::BuyReply(reply)),
            send(&trader, 3, t + 2, Body::Sale(notice)),
            Action::Event(Event::Sold(sale)),
        ]
    );
}

#[test]
fn a_second_batch_waits_for_the_first_commit() {
    let (mut trader, _) = trader_with_fish();
    trader.handle(ms(4), frame(1, 1, Body::Buy(buy(1, 1, 2))));
    committed_batch(&trader.handle(ms(4), Input::Drained), CommitId(1));

    trader.handle(ms(5), frame(2, 1, Body::Buy(buy(2, 1, 3))));
    assert_eq!(
        trader.handle(ms(5), Input::Drained),
        [],
        "commit 1 is in flight"
    );

    let released = trader.handle(ms(6), Input::Committed(CommitId(1)));
    let to: Vec<PeerId> = sent_bodies(&released).iter().map(|(to, _)| *to).collect();
    assert_eq!(
        to,
        [PeerId(1), PeerId(3)],
        "only the first batch's reply and notice"
    );

    let batch = committed_batch(&trader.handle(ms(6), Input::Drained), CommitId(2));
    assert_eq!(batch.served.len(), 1);
    assert_eq!(batch.served[0].request, buy(2, 1, 3).id);
}

/// A retry of a request in the batch being committed is answered from the
/// book at once, but that answer is not durable yet: it waits for the
/// commit like the batch's own reply.
#[test]
fn a_retry_answered_from_the_batch_in_flight_waits_for_its_commit() {
    let (mut trader, _) = trader_with_fish();
    trader.handle(ms(4), frame(1, 1, Body::Buy(buy(1, 1, 2))));
    committed_batch(&trader.handle(ms(4), Input::Drained), CommitId(1));
    assert_eq!(
        trader.handle(ms(5), frame(1, 2, Body::Buy(buy(1, 1, 2)))),
        []
    );
    assert_eq!(trader.handle(ms(5), Input::Drained), []);
    let replies = sent_bodies(&trader.handle(ms(6), Input::Committed(CommitId(1))))
        .into_iter()
        .filter(|(to, body)| *to == PeerId(1) && matches!(body, Body::BuyReply(_)))
        .count();
    assert_eq!(replies, 2, "the reply and the retry's copy of it");
    assert_eq!(trader.book().unwrap().totals().sales, 1, "filled once");
}

#[test]
fn a_fenced_commit_drops_what_it_held_and_closes_the_desk() {
    let (mut trader, epoch) = trader_with_fish();
    trader.handle(ms(4), frame(1, 1, Body::Buy(buy(1, 1, 2))));
    committed_batch(&trader.handle(ms(4), Input::Drained), CommitId(1));

    let newest = Epoch(epoch.0 + 5);
    let failure = StoreFailure::Fenced { newest };
    let commit = CommitId(1);
    let actions = trader.handle(ms(5), Input::CommitFailed { commit, failure });
    let again = loads(&actions).expect("the highest peer claims past the store's epoch");
    assert!(again > newest);
    let t = trader.time();
    assert_eq!(
        actions,
        [
            Action::CancelTimer(PeerTimer::Heartbeat),
            Action::CancelTimer(PeerTimer::Resign),
            Action::CancelTimer(PeerTimer::Lease),
            Action::CancelTimer(PeerTimer::Books),
            Action::Event(Event::DeskClosed { epoch, failure }),
            Action::Event(Event::SteppedDown {
                epoch,
                resigned: false
            }),
            Action::Event(Event::ElectionStarted {
                cause: ElectionCause::Fenced { newest },
                epoch: newest
            }),
            Action::CancelTimer(PeerTimer::TraderSilent),
            Action::LoadBooks {
                epoch: again,
                trader: PeerId(4),
                lease: ms(300),
                pricing: Pricing::default()
            },
            Action::SetTimer {
                timer: PeerTimer::Heartbeat,
                after: ms(50)
            },
            Action::SetTimer {
                timer: PeerTimer::Lease,
                after: ms(60)
            },
            send(
                &trader,
                1,
                t - 2,
                Body::Election(ElectionMessage::Coordinator { epoch: again })
            ),
            send(
                &trader,
                2,
                t - 1,
                Body::Election(ElectionMessage::Coordinator { epoch: again })
            ),
            send(
                &trader,
                3,
                t,
                Body::Election(ElectionMessage::Coordinator { epoch: again })
            ),
        ]
    );
    assert_eq!(
        trader.handle(ms(6), Input::Committed(CommitId(1))),
        [],
        "the fenced term's reply never leaves"
    );
    assert!(!trader.is_trading(), "the new term waits for its books");
}

/// The connection died during a commit: it may or may not have landed.
/// What it held is dropped, the books are loaded again from the store, and
/// the buyer's retry is answered from what the store holds: filled once.
#[test]
fn an_unknown_commit_outcome_drops_what_it_held_and_reloads_the_books() {
    let (mut trader, epoch) = trader_with_fish();
    trader.handle(ms(4), frame(1, 1, Body::Buy(buy(1, 1, 2))));
    let batch = committed_batch(&trader.handle(ms(4), Input::Drained), CommitId(1));
    let failure = StoreFailure::Unavailable;
    let commit = CommitId(1);
    assert_eq!(
        trader.handle(ms(5), Input::CommitFailed { commit, failure }),
        [
            Action::Event(Event::StoreUnavailable { epoch, down: ms(0) }),
            Action::SetTimer {
                timer: PeerTimer::Books,
                after: ms(50)
            },
        ]
    );
    assert_eq!(trader.handle(ms(6), Input::Committed(CommitId(1))), []);
    assert_eq!(
        trader.handle(ms(55), Input::Timer(PeerTimer::Books)),
        [Action::ReloadBooks { epoch }]
    );
    // The commit had landed: the store's books hold the sale.
    let mut stored = Book::new(Pricing::default()).unwrap();
    stored
        .apply(&bazaar_market::Batch {
            deposits: vec![offer(3, 1, 10)],
            ..Default::default()
        })
        .unwrap();
    stored.apply(&batch).unwrap();
    let book = Box::new(stored);
    assert_eq!(
        trader.handle(ms(56), Input::BooksLoaded { epoch, book }),
        [Action::Event(Event::BooksReloaded { epoch })]
    );
    let retried = trader.handle(ms(57), frame(1, 2, Body::Buy(buy(1, 1, 2))));
    let replies: Vec<_> = sent_bodies(&retried);
    assert!(
        matches!(&replies[..], [(PeerId(1), Body::BuyReply(r))] if r.filled() == 2),
        "{retried:?}"
    );
    assert_eq!(trader.book().unwrap().totals().sales, 1, "filled once");
}

#[test]
fn a_store_down_for_a_whole_lease_ends_the_term() {
    let (mut trader, epoch) = trader_with_fish();
    let failure = StoreFailure::Unavailable;
    trader.handle(ms(10), Input::StoreFailed { epoch, failure });
    trader.handle(ms(60), Input::Timer(PeerTimer::Books));
    let actions = trader.handle(ms(320), Input::StoreFailed { epoch, failure });
    assert!(
        actions.contains(&Action::Event(Event::SteppedDown {
            epoch,
            resigned: true
        })),
        "{actions:?}"
    );
}

#[test]
fn a_trader_that_hears_from_a_peer_renews_its_lease() {
    let (mut trader, epoch) = trader_with_fish();
    trader.handle(ms(80), frame(1, 1, Body::Following { epoch }));
    assert_eq!(
        trader.handle(ms(100), Input::Timer(PeerTimer::Lease)),
        [
            Action::RenewLease {
                epoch,
                lease: ms(300)
            },
            Action::SetTimer {
                timer: PeerTimer::Lease,
                after: ms(60)
            },
        ]
    );
}

/// Cut off from every other peer, a trader gives up its term so that the
/// connected peers can take over once its lease runs out.
#[test]
fn a_trader_cut_off_from_every_peer_gives_up_its_term() {
    let (mut trader, epoch) = trader_with_fish();
    let actions = trader.handle(ms(300), Input::Timer(PeerTimer::Lease));
    assert_eq!(
        actions[0],
        Action::Event(Event::CutOff {
            epoch,
            quiet: ms(298)
        })
    );
    assert!(
        actions.contains(&Action::Event(Event::SteppedDown {
            epoch,
            resigned: true
        })),
        "{actions:?}"
    );
    let renewals: Vec<&Action> = actions
        .iter()
        .filter(|a| matches!(a, Action::RenewLease { .. }))
        .collect();
    assert_eq!(
        renewals,
        [&Action::RenewLease {
            epoch,
            lease: ms(0)
        }],
        "it gives its lease back, and renews nothing"
    );
}

/// A live trader holds the books: the new claimant keeps its claim (and
/// its followers), and tries again every heartbeat interval until the lease
/// runs out or its holder gives it back.
#[test]
fn a_claim_on_leased_books_waits_for_the_lease() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Idle));
    let epoch = loads(&peer.handle(ms(0), Input::Start)).unwrap();
    let failure = StoreFailure::Leased {
        holder: PeerId(6),
        retry_after: ms(300),
    };
    assert_eq!(
        peer.handle(ms(1), Input::StoreFailed { epoch, failure }),
        [
            Action::Event(Event::BooksLeased {
                epoch,
                holder: PeerId(6),
                retry_after: ms(300)
            }),
            Action::SetTimer {
                timer: PeerTimer::Books,
                after: ms(50)
            },
        ]
    );
    assert_eq!(
        peer.trader(),
        Some((PeerId(3), epoch)),
        "it keeps its claim"
    );
    assert_eq!(
        loads(&peer.handle(ms(51), Input::Timer(PeerTimer::Books))),
        Some(epoch)
    );
}

/// Peer 2 of 3 (buyer and seller) following trader 3 of epoch 5, with its
/// first offer and first buy out.
fn follower() -> Peer {
    let mut peer = Peer::new(PeerConfig::simple(2, 3, Role::Both));
    peer.handle(ms(0), Input::Start);
    let coordinator = ElectionMessage::Coordinator { epoch: Epoch(5) };
    peer.handle(ms(1), frame(3, 1, Body::Election(coordinator)));
    peer.handle(ms(51), Input::Timer(PeerTimer::Buyer(BuyerTimer::Think)));
    peer
}

#[test]
fn a_follower_that_sent_nothing_lately_answers_a_heartbeat() {
    let mut peer = follower();
    let t = peer.time();
    assert_eq!(
        peer.handle(ms(200), frame(3, 2, Body::Heartbeat { epoch: Epoch(5) })),
        [
            Action::SetTimer {
                timer: PeerTimer::TraderSilent,
                after: ms(200)
            },
            send(&peer, 3, t + 2, Body::Following { epoch: Epoch(5) }),
        ]
    );
}

#[test]
fn a_heartbeat_from_the_trader_rearms_the_silence_timer() {
    let mut peer = follower();
    assert_eq!(
        peer.handle(ms(100), frame(3, 2, Body::Heartbeat { epoch: Epoch(5) })),
        [Action::SetTimer {
            timer: PeerTimer::TraderSilent,
            after: ms(200)
        }]
    );
}

#[test]
fn a_slow_trader_is_not_suspected_while_heartbeats_arrive() {
    let mut peer = follower();
    peer.handle(ms(330), frame(3, 2, Body::Heartbeat { epoch: Epoch(5) }));
    let t = peer.time();
    assert_eq!(
        peer.handle(ms(351), Input::Timer(PeerTimer::Buyer(BuyerTimer::Request))),
        [
            send(&peer, 3, t + 1, Body::Buy(buy(2, 1, 9))),
            Action::SetTimer {
                timer: PeerTimer::Buyer(BuyerTimer::Request),
                after: ms(300)
            },
        ],
        "the same request again, and no election"
    );
}

#[test]
fn a_trader_silent_for_a_heartbeat_interval_is_suspected_when_a_request_times_out() {
    let mut peer = follower();
    peer.handle(ms(300), frame(3, 2, Body::Heartbeat { epoch: Epoch(5) }));
    let actions = peer.handle(ms(351), Input::Timer(PeerTimer::Buyer(BuyerTimer::Request)));
    assert!(
        sent_bodies(&actions).contains(&(
            PeerId(3),
            Body::Election(ElectionMessage::Election { epoch: Epoch(5) })
        )),
        "{actions:?}"
    );
}

#[test]
fn the_trader_pauses_its_own_buyer_and_seller_and_resumes_them_with_the_same_ids() {
    let mut peer = follower();
    peer.handle(ms(60), Input::Unreachable(PeerId(3)));
    let won = peer.handle(
        ms(110),
        Input::Timer(PeerTimer::Election(ElectionTimer::AwaitAlive)),
    );
    let epoch = loads(&won).expect("peer 2 claims");
    assert!(
        sent_bodies(&won)
            .iter()
            .all(|(_, body)| matches!(body, Body::Election(_))),
        "a trader neither buys nor sells: {won:?}"
    );
    let newer = ElectionMessage::Coordinator {
        epoch: Epoch(epoch.0 + 1),
    };
    let back = peer.handle(ms(120), frame(3, 20, Body::Election(newer)));
    let resent: Vec<(PeerId, Body)> = sent_bodies(&back);
    assert_eq!(
        resent,
        [
            (PeerId(3), Body::Buy(buy(2, 1, 9))),
            (
                PeerId(3),
                Body::Offer(Offer {
                    product: Product::Boar,
                    ..offer(2, 1, 2)
                })
            ),
        ],
        "the same request and offer ids as before its term"
    );
}

/// Seed 9, 5 peers: a trader fenced by a newer one that then resigned
/// before anyone heard of it stayed leader of its stale epoch with no desk,
/// answering every election with its stale `Coordinator` and sending no
/// heartbeats, and the market never elected a trader again.
#[test]
fn a_fenced_trader_runs_again_past_the_epoch_the_store_has_seen() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let epoch = loads(&peer.handle(ms(0), Input::Start)).expect("the highest peer claims");
    let newest = Epoch(epoch.0 + 7);
    let failure = StoreFailure::Fenced { newest };
    let actions = peer.handle(ms(1), Input::StoreFailed { epoch, failure });
    let again = loads(&actions).expect("it claims again");
    assert!(
        again > newest,
        "claimed {again} after the store saw {newest}"
    );
    assert_eq!(peer.trader(), Some((PeerId(3), again)));
}

/// The same when the store refuses the very epoch it already holds (a
/// restarted peer that claims the epoch of its earlier incarnation).
#[test]
fn a_trader_fenced_at_its_own_epoch_runs_again_past_it() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let epoch = loads(&peer.handle(ms(0), Input::Start)).expect("the highest peer claims");
    let failure = StoreFailure::Fenced { newest: epoch };
    let actions = peer.handle(ms(1), Input::StoreFailed { epoch, failure });
    assert!(loads(&actions).is_some_and(|again| again > epoch));
}

/// Seed 14, 5 peers: a trader stepped down with a commit outstanding and
/// was elected again; the old term's commit was then fenced, but its held
/// sends stayed, and "one commit at a time" kept the new desk from ever
/// serving a batch.
#[test]
fn a_commit_outstanding_from_an_earlier_term_does_not_block_the_next() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let first = loads(&peer.handle(ms(0), Input::Start)).unwrap();
    let book = Box::new(Book::new(Pricing::default()).unwrap());
    peer.handle(
        ms(1),
        Input::BooksLoaded {
            epoch: first,
            book: book.clone(),
        },
    );
    peer.handle(ms(2), frame(1, 1, Body::Buy(buy(1, 1, 1))));
    committed_batch(&peer.handle(ms(2), Input::Drained), CommitId(0));
    // A newer epoch deposes it; being the highest, it claims again.
    let newer = Epoch(first.0 + 3);
    let election = Body::Election(ElectionMessage::Election { epoch: newer });
    let second = loads(&peer.handle(ms(3), frame(1, 5, election))).unwrap();
    assert!(second > newer);
    peer.handle(
        ms(4),
        Input::BooksLoaded {
            epoch: second,
            book,
        },
    );
    let failure = StoreFailure::Fenced { newest: second };
    let commit = CommitId(0);
    peer.handle(ms(5), Input::CommitFailed { commit, failure });
    peer.handle(ms(6), frame(1, 9, Body::Buy(buy(1, 2, 1))));
    committed_batch(&peer.handle(ms(6), Input::Drained), CommitId(1));
}

/// Seed 112, 3 peers: two traders cut off from each other both resigned;
/// once every peer had resigned, nobody ever ran again. A resigned trader
/// waits for a successor as a follower waits for heartbeats.
#[test]
fn a_resigned_trader_runs_again_when_nobody_takes_over() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let first = loads(&peer.handle(ms(0), Input::Start)).unwrap();
    let resigned = peer.handle(ms(1), Input::Resign);
    let silent = resigned.iter().find_map(|a| match a {
        Action::SetTimer {
            timer: timer @ PeerTimer::TraderSilent,
            after,
        } => Some((*timer, *after)),
        _ => None,
    });
    let (timer, after) = silent.expect("it waits for a successor");
    let again = loads(&peer.handle(ms(1) + after, Input::Timer(timer))).expect("it runs again");
    assert!(again > first);
}

#[test]
fn a_deposit_is_acknowledged_only_after_its_commit() {
    let mut peer = Peer::new(PeerConfig::simple(4, 4, Role::Idle));
    let epoch = loads(&peer.handle(ms(0), Input::Start)).unwrap();
    let book = Box::new(Book::new(Pricing::default()).unwrap());
    peer.handle(ms(1), Input::BooksLoaded { epoch, book });
    assert_eq!(
        peer.handle(ms(2), frame(3, 1, Body::Offer(offer(3, 1, 10)))),
        []
    );
    committed_batch(&peer.handle(ms(2), Input::Drained), CommitId(0));
    let t = peer.time();
    let deposited = Deposited {
        offer: offer(3, 1, 10).id,
        remaining: 10,
    };
    assert_eq!(
        peer.handle(ms(3), Input::Committed(CommitId(0))),
        [
            Action::Event(Event::Committed {
                commit: CommitId(0),
                latency: ms(1)
            }),
            send(&peer, 3, t + 1, Body::Deposited(deposited))
        ]
    );
}

/// Found by the simulator with connections slow to come up (seed 227, 7
/// peers): a lower peer that cannot hear the trader yet runs elections
/// with newer epochs, and each one used to cost the highest peer its
/// desk, a give-back of the lease and a new announcement.
#[test]
fn the_highest_trader_told_of_a_newer_epoch_carries_its_desk_on() {
    let (mut trader, epoch) = trader_with_fish();
    let newer = Epoch(epoch.0 + 3);
    let election = Body::Election(ElectionMessage::Election { epoch: newer });
    let actions = trader.handle(ms(5), frame(3, 2, election));
    let carried = loads(&actions).expect("the books load again at the new epoch");
    assert!(carried > newer, "{actions:?}");
    assert_eq!(trader.trader(), Some((PeerId(4), carried)));
    let gave_back = actions
        .iter()
        .any(|a| matches!(a, Action::RenewLease { lease, .. } if lease.is_zero()));
    let stepped_down = actions
        .iter()
        .any(|a| matches!(a, Action::Event(Event::SteppedDown { .. })));
    assert!(!gave_back && !stepped_down, "{actions:?}");

    let book = Box::new(Book::new(Pricing::default()).unwrap());
    let actions = trader.handle(
        ms(6),
        Input::BooksLoaded {
            epoch: carried,
            book,
        },
    );
    assert!(
        actions.contains(&Action::Event(Event::BooksReloaded { epoch: carried })),
        "{actions:?}"
    );
    let announced = actions
        .iter()
        .any(|a| matches!(a, Action::Event(Event::Coordinator { .. })));
    assert!(!announced, "no new coordinator: {actions:?}");
    assert!(trader.is_trading());
}

/// A commit of the epoch a trader carried on from that the store then
/// refuses holds nothing up: its replies never leave, and the next batch
/// goes.
#[test]
fn a_fenced_commit_of_the_epoch_carried_on_from_frees_the_next_batch() {
    let (mut trader, epoch) = trader_with_fish();
    trader.handle(ms(4), frame(1, 1, Body::Buy(buy(1, 1, 2))));
    committed_batch(&trader.handle(ms(4), Input::Drained), CommitId(1));
    let newer = Epoch(epoch.0 + 3);
    let election = Body::Election(ElectionMessage::Election { epoch: newer });
    let carried = loads(&trader.handle(ms(5), frame(3, 2, election))).unwrap();
    let book = Box::new(Book::new(Pricing::default()).unwrap());
    trader.handle(
        ms(6),
        Input::BooksLoaded {
            epoch: carried,
            book,
        },
    );
    let failure = StoreFailure::Fenced { newest: carried };
    let commit = CommitId(1);
    let refused = trader.handle(ms(7), Input::CommitFailed { commit, failure });
    assert!(sent_bodies(&refused).is_empty(), "{refused:?}");
    trader.handle(ms(8), frame(3, 3, Body::Offer(offer(3, 2, 5))));
    let actions = trader.handle(ms(8), Input::Drained);
    assert!(
        matches!(actions[..], [Action::Commit { commit: CommitId(2), epoch: e, .. }] if e == carried),
        "{actions:?}"
    );
}

/// Found by the `driver` fuzz target: the lease's renewal failed
/// (`Unavailable`) while a commit was in flight. The trader took the
/// failure for the commit's, forgot it, loaded the books again before it
/// landed, and committed a second batch of the term beside it, on books
/// that missed the first: the store took both, and the second served the
/// first's buyer again (a batch that no longer fits: corrupt books).
/// A failed renewal leaves the commit to its own answer, and the books are
/// loaded again only once no commit of the term is in flight.
#[test]
fn a_failed_renewal_leaves_the_commit_in_flight_to_its_own_answer() {
    let (mut trader, epoch) = trader_with_fish();
    trader.handle(ms(4), frame(1, 1, Body::Buy(buy(1, 1, 2))));
    let batch = committed_batch(&trader.handle(ms(4), Input::Drained), CommitId(1));
    // The renewal's connection dies; the commit is still in flight.
    let failure = StoreFailure::Unavailable;
    assert_eq!(
        trader.handle(ms(5), Input::StoreFailed { epoch, failure }),
        [
            Action::Event(Event::StoreUnavailable { epoch, down: ms(0) }),
            Action::SetTimer {
                timer: PeerTimer::Books,
                after: ms(50)
            },
        ]
    );
    // No reload while the commit may still land: books read now could miss it.
    assert_eq!(
        trader.handle(ms(55), Input::Timer(PeerTimer::Books)),
        [Action::SetTimer {
            timer: PeerTimer::Books,
            after: ms(50)
        }]
    );
    // The buyer retries meanwhile; nothing is served on the old books.
    trader.handle(ms(56), frame(1, 2, Body::Buy(buy(1, 1, 2))));
    assert_eq!(trader.handle(ms(56), Input::Drained), []);
    // The commit lands: what it held leaves, as durable as ever.
    let t = trader.time();
    let reply = BuyReply {
        id: buy(1, 1, 2).id,
        product: FISH,
        requested: 2,
        fills: vec![Fill {
            seller: PeerId(3),
            quantity: 2,
            unit_price: Money::units(10),
        }],
    };
    let notice = SaleNotice {
        request: buy(1, 1, 2).id,
        product: FISH,
        quantity: 2,
        credit: Money(1_800),
    };
    assert_eq!(
        trader.handle(ms(60), Input::Committed(CommitId(1))),
        [
            Action::Event(Event::Committed {
                commit: CommitId(1),
                latency: ms(56)
            }),
            send(&trader, 1, t + 1, Body::BuyReply(reply)),
            send(&trader, 3, t + 2, Body::Sale(notice)),
            Action::Event(Event::Sold(batch.sales[0])),
        ]
    );
    // Now the books load again, with the commit in them.
    assert_eq!(
        trader.handle(ms(105), Input::Timer(PeerTimer::Books)),
        [Action::ReloadBooks { epoch }]
    );
}

/// When no peer reaches the store, the office is not passed around every
/// lease: a peer that lost a term to the outage holds its next one twice
/// as long, and says "the store failed" (a zero `down`) only once.
#[test]
fn a_term_lost_to_an_outage_makes_the_next_one_wait_twice_as_long() {
    let (mut trader, epoch) = trader_with_fish();
    let failure = StoreFailure::Unavailable;
    trader.handle(ms(10), Input::StoreFailed { epoch, failure });
    let resigned = trader.handle(ms(320), Input::StoreFailed { epoch, failure });
    let silent = resigned.iter().find_map(|a| match a {
        Action::SetTimer {
            timer: PeerTimer::TraderSilent,
            after,
        } => Some(*after),
        _ => None,
    });
    let after = silent.expect("it resigned, and waits for a successor");
    let at = ms(320) + after;
    let again = loads(&trader.handle(at, Input::Timer(PeerTimer::TraderSilent)))
        .expect("nobody took over: it runs again");
    // The books of the new term cannot be loaded either.
    let first = trader.handle(
        at + ms(1),
        Input::StoreFailed {
            epoch: again,
            failure,
        },
    );
    assert_eq!(
        first[0],
        Action::Event(Event::StoreUnavailable {
            epoch: again,
            down: at + ms(1) - ms(10)
        }),
        "the same outage: no new 'store failed'"
    );
    // A lease later it holds on; two leases later it gives up.
    let held = trader.handle(
        at + ms(301),
        Input::StoreFailed {
            epoch: again,
            failure,
        },
    );
    assert!(
        !held
            .iter()
            .any(|a| matches!(a, Action::Event(Event::SteppedDown { .. }))),
        "{held:?}"
    );
    let gone = trader.handle(
        at + ms(601),
        Input::StoreFailed {
            epoch: again,
            failure,
        },
    );
    assert!(
        gone.contains(&Action::Event(Event::SteppedDown {
            epoch: again,
            resigned: true
        })),
        "{gone:?}"
    );
}
