//! Restarts of the peers that dial us: a peer that dials again while its
//! previous connection to us is open was restarted (a new incarnation).

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard, PoisonError},
};

use bazaar_protocol::PeerId;
use quinn::{Connection, ConnectionError};

/// The latest connection each peer dialled us with, to tell a peer that
/// dials again because it was restarted (it forgot its connections) from
/// one that dials for the first time or after a loss.
#[derive(Default)]
pub(super) struct Restarts(Mutex<BTreeMap<PeerId, Latest>>);

/// A peer's latest connection to us.
struct Latest {
    connection: Connection,
    /// A restart was already told about this connection's end.
    told: bool,
}

impl Restarts {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<PeerId, Latest>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `connection` from `from` said hello. Whether `from` was restarted:
    /// its previous connection is still open to us (a live peer dials only
    /// when it holds no connection, and closes one it gives up) or was reset
    /// (the peer's endpoint did not know it), and no restart was told about
    /// it. The previous connection is left to end by itself: a restarted
    /// peer resets it at our next packet.
    pub(super) fn dialled(&self, from: PeerId, connection: &Connection) -> bool {
        let mut latest = self.lock();
        if latest
            .get(&from)
            .is_some_and(|known| known.connection.stable_id() == connection.stable_id())
        {
            return false;
        }
        let now = Latest {
            connection: connection.clone(),
            told: false,
        };
        let Some(previous) = latest.insert(from, now) else {
            return false;
        };
        drop(latest);
        if previous.told {
            return false;
        }
        matches!(
            previous.connection.close_reason(),
            None | Some(ConnectionError::Reset)
        )
    }

    /// `connection` from `from` ended. Whether that says `from` was
    /// restarted: it is the peer's latest connection, it was reset, and no
    /// restart was told about it.
    pub(super) fn ended(&self, from: PeerId, connection: &Connection) -> bool {
        let mut latest = self.lock();
        match latest.get_mut(&from) {
            Some(known)
                if known.connection.stable_id() == connection.stable_id()
                    && !known.told
                    && matches!(connection.close_reason(), Some(ConnectionError::Reset)) =>
            {
                known.told = true;
                true
            }
            _ => false,
        }
    }
}
