//! The lines of other peers as this one reaches them: an outage's start
//! and end, and a message refused.

use bazaar_node::Event;
use bazaar_protocol::PeerId;

use super::Loudness;
use crate::stats::human;

/// The line of an event of `peer`'s about another peer.
pub(super) fn line(peer: PeerId, event: &Event) -> (Loudness, String) {
    match event {
        Event::OutageBegan { peer: other } => (
            Loudness::Story,
            format!("peer {peer} cannot reach peer {other}"),
        ),
        Event::OutageEnded {
            peer: other,
            lasted,
        } => (
            Loudness::Story,
            format!(
                "peer {peer} reaches peer {other} again, after {}",
                human(*lasted)
            ),
        ),
        // The reason is an error's message (`Reject` is an error type).
        Event::Rejected { from, reason } => (
            Loudness::Problem,
            format!("peer {peer}: refused a message from peer {from}: {reason}"),
        ),
        other => unreachable!("not an event about another peer: {other:?}"),
    }
}
