//! Bugs the simulator found in the `Peer`, each pinned by a test that
//! replays the situation in a few inputs.

use std::time::Duration;

use bazaar_node::{Action, Input, Peer, PeerConfig, cluster::Role};
use bazaar_protocol::{Epoch, PeerId};

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
