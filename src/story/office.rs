//! The lines of elections and of the trader's term: the lab's coordinator
//! line, whom a peer follows, why it starts an election, and how a term
//! ends.

use bazaar_node::{ElectionCause, Event};
use bazaar_protocol::PeerId;

use super::Loudness;

/// The line of an election or term event of `peer`'s.
pub(super) fn line(peer: PeerId, event: &Event) -> (Loudness, String) {
    match event {
        Event::Coordinator { id, .. } => (
            Loudness::Lab,
            format!("Dear buyers and sellers, My ID is {id}, and I am the new coordinator"),
        ),
        Event::Following { trader, epoch } => (
            Loudness::Story,
            format!("peer {peer} follows trader {trader} from epoch {epoch}"),
        ),
        Event::ElectionStarted { cause, .. } => (
            Loudness::Story,
            format!("peer {peer} starts an election: {}", why(*cause)),
        ),
        Event::SteppedDown {
            epoch,
            resigned: true,
        } => (
            Loudness::Story,
            format!("peer {peer} resigned as trader of epoch {epoch}"),
        ),
        Event::SteppedDown {
            epoch,
            resigned: false,
        } => (
            Loudness::Story,
            format!("peer {peer} stepped down as trader of epoch {epoch}"),
        ),
        Event::CutOff { epoch, quiet } => (
            Loudness::Problem,
            format!(
                "peer {peer}: heard from no other peer for {quiet:?}: giving up the term of \
                 epoch {epoch}"
            ),
        ),
        other => unreachable!("not an election or term event: {other:?}"),
    }
}

/// Why a peer starts an election, as its line ends.
fn why(cause: ElectionCause) -> String {
    match cause {
        ElectionCause::StartUp => "it has just started".into(),
        ElectionCause::TraderSilent { trader } => {
            format!("trader {trader} stopped sending heartbeats")
        }
        ElectionCause::TraderUnreachable { trader } => format!("trader {trader} is unreachable"),
        ElectionCause::RequestUnanswered { trader } => {
            format!("trader {trader} left a request unanswered")
        }
        ElectionCause::TraderResigned { trader } => format!("trader {trader} resigned"),
        ElectionCause::NoSuccessor => "it resigned and nobody took over".into(),
        ElectionCause::Reconnected => "it hears from other peers again after being cut off".into(),
        ElectionCause::LowerPeerCalled { by } => format!("lower peer {by} called an election"),
        ElectionCause::LowerPeerClaimed { by } => {
            format!("lower peer {by} claimed to be the coordinator")
        }
        ElectionCause::NoAnnouncement => "a higher peer answered but never announced itself".into(),
        ElectionCause::NewerEpoch { epoch } => format!("it learned of the newer epoch {epoch}"),
        ElectionCause::Fenced { newest } => format!("the store has seen epoch {newest}"),
    }
}
