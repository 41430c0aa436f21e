//! The lines of the trader's books in the store: a desk closed by the
//! store, an outage of the store, the books reloaded or leased to another
//! peer, a commit made durable.

use bazaar_node::{Event, StoreFailure};
use bazaar_protocol::PeerId;

use super::Loudness;

/// The line of a store event of `peer`'s.
pub(super) fn line(peer: PeerId, event: &Event) -> (Loudness, String) {
    match event {
        Event::DeskClosed { epoch, failure } => (
            Loudness::Problem,
            format!(
                "peer {peer}: deposed: the store refused epoch {epoch}: {}",
                refusal(*failure)
            ),
        ),
        // Said once an outage: its first failure (the trader retries every
        // heartbeat interval; the retries are detail).
        Event::StoreUnavailable { epoch, down } if down.is_zero() => (
            Loudness::Problem,
            format!(
                "peer {peer}: the store failed (epoch {epoch}): dropped what the last commit \
                 held, loading the books again until it answers"
            ),
        ),
        Event::StoreUnavailable { epoch, down } => (
            Loudness::Detail,
            format!("peer {peer}: the store still fails (epoch {epoch}, for {down:?})"),
        ),
        Event::BooksReloaded { epoch } => (
            Loudness::Story,
            format!("peer {peer} reloaded the books of epoch {epoch} from the store"),
        ),
        Event::BooksLeased {
            epoch,
            holder,
            retry_after,
        } => (
            Loudness::Story,
            format!(
                "peer {peer} waiting for the books (epoch {epoch}): leased to peer {holder} for \
                 {retry_after:?} more"
            ),
        ),
        Event::Committed { commit, latency } => (
            Loudness::Detail,
            format!("peer {peer}: commit {} durable in {latency:?}", commit.0),
        ),
        other => unreachable!("not a store event: {other:?}"),
    }
}

/// Why the store refused or failed a trader's call, as its line ends.
fn refusal(failure: StoreFailure) -> String {
    match failure {
        StoreFailure::Fenced { newest } => format!("the store has seen epoch {newest}"),
        StoreFailure::Leased {
            holder,
            retry_after,
        } => format!("the books are leased to peer {holder} for {retry_after:?} more"),
        StoreFailure::Unavailable => "the store is unavailable".into(),
        StoreFailure::Corrupt => "the stored books are damaged".into(),
    }
}
