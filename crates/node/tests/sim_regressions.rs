//! Bugs the simulator found in the `Peer`, each pinned by a test that
//! replays the situation in a few inputs.

use std::time::Duration;

use bazaar_market::{Book, Pricing};
use bazaar_node::{Action, Input, Peer, PeerConfig, PeerTimer, cluster::Role};
use bazaar_protocol::{
    Body, Buy, ElectionMessage, Envelope, Epoch, PeerId, Product, RequestId, encode,
};

fn loads(actions: &[Action]) -> Option<Epoch> {
    actions.iter().find_map(|a| match a {
        Action::LoadBooks { epoch } => Some(*epoch),
        _ => None,
    })
}

/// Seed 9, 5 peers: a trader fenced by a newer one that then resigned
/// before anyone heard of it stayed leader of its stale epoch with no desk,
/// and the market never elected a trader again.
#[test]
fn a_fenced_trader_runs_again_past_the_epoch_the_store_has_seen() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let epoch = loads(&peer.handle(Duration::ZERO, Input::Start)).expect("the highest peer claims");
    let newest = Epoch(epoch.0 + 7);
    let actions = peer.handle(Duration::from_millis(1), Input::Fenced { epoch, newest });
    let again = loads(&actions).expect("it claims again");
    assert!(
        again > newest,
        "claimed {again} after the store saw {newest}"
    );
    assert_eq!(peer.leader(), Some((PeerId(3), again)));
}

/// The same when the store refuses the very epoch it already holds (a
/// restarted peer that claims the epoch of its earlier life).
#[test]
fn a_trader_fenced_at_its_own_epoch_runs_again_past_it() {
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let epoch = loads(&peer.handle(Duration::ZERO, Input::Start)).expect("the highest peer claims");
    let actions = peer.handle(
        Duration::from_millis(1),
        Input::Fenced {
            epoch,
            newest: epoch,
        },
    );
    assert!(loads(&actions).is_some_and(|again| again > epoch));
}

fn frame(from: u32, clock: u64, body: Body) -> Input {
    let mut bytes = Vec::new();
    encode(&Envelope::new(PeerId(from), clock, body), &mut bytes).unwrap();
    Input::Frame {
        from: PeerId(from),
        bytes,
    }
}

fn buy(buyer: u32, seq: u64) -> Body {
    Body::Buy(Buy {
        id: RequestId {
            buyer: PeerId(buyer),
            seq,
        },
        product: Product::Fish,
        quantity: 1,
    })
}

fn commits(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Commit { .. }))
        .count()
}

/// Seed 14, 5 peers: a trader stepped down with a commit outstanding and
/// was elected again; the old term's commit was then fenced, but its held
/// sends stayed, and "one commit at a time" kept the new desk from ever
/// serving a batch.
#[test]
fn a_commit_outstanding_from_an_earlier_term_does_not_block_the_next() {
    let t = Duration::from_millis;
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let first = loads(&peer.handle(t(0), Input::Start)).unwrap();
    let book = Box::new(Book::new(Pricing::default()).unwrap());
    peer.handle(
        t(1),
        Input::BooksLoaded {
            epoch: first,
            book: book.clone(),
        },
    );
    peer.handle(t(2), frame(1, 1, buy(1, 1)));
    assert_eq!(commits(&peer.handle(t(2), Input::Drained)), 1);
    // A newer epoch deposes it; being the highest, it claims again.
    let newer = Epoch(first.0 + 3);
    let election = Body::Election(ElectionMessage::Election { epoch: newer });
    let second = loads(&peer.handle(t(3), frame(1, 5, election))).unwrap();
    assert!(second > newer);
    peer.handle(
        t(4),
        Input::BooksLoaded {
            epoch: second,
            book,
        },
    );
    peer.handle(
        t(5),
        Input::Fenced {
            epoch: first,
            newest: second,
        },
    );
    peer.handle(t(6), frame(1, 9, buy(1, 2)));
    assert_eq!(commits(&peer.handle(t(6), Input::Drained)), 1);
}

/// Seed 112, 3 peers: two traders on two sides of a partition both
/// resigned; once every peer had resigned, nobody ever ran again.
#[test]
fn a_trader_that_resigned_runs_again_when_nobody_takes_over() {
    let t = Duration::from_millis;
    let mut peer = Peer::new(PeerConfig::simple(3, 3, Role::Both));
    let first = loads(&peer.handle(t(0), Input::Start)).unwrap();
    let resigned = peer.handle(t(1), Input::Resign);
    let silent = resigned.iter().find_map(|a| match a {
        Action::SetTimer {
            timer: timer @ PeerTimer::TraderSilent,
            after,
        } => Some((*timer, *after)),
        _ => None,
    });
    let (timer, after) = silent.expect("it waits for a successor");
    let again = loads(&peer.handle(t(1) + after, Input::Timer(timer))).expect("it runs again");
    assert!(again > first);
}
