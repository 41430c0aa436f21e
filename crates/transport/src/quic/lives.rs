//! The lives of the peers that dial us: a peer that dials again while its
//! previous connection to us is open was restarted.

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
pub(super) struct Lives(Mutex<BTreeMap<PeerId, Life>>);

/// A peer's latest connection to us.
struct Life {
    connection: Connection,
    /// A restart was already told about this connection's end.
    told: bool,
}

impl Lives {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<PeerId, Life>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `connection` from `from` said hello. Whether `from` was restarted:
    /// its previous connection is still open to us (a live peer dials only
    /// when it holds no connection, and closes one it gives up) or was reset
    /// (the peer's endpoint did not know it), and no restart was told about
    /// it. The previous connection is left to end by itself: a restarted
    /// peer resets it at our next packet.
    pub(super) fn dialled(&self, from: PeerId, connection: &Connection) -> bool {
        let mut lives = self.lock();
        if lives
            .get(&from)
            .is_some_and(|life| life.connection.stable_id() == connection.stable_id())
        {
            return false;
        }
        let life = Life {
            connection: connection.clone(),
            told: false,
        };
        let Some(previous) = lives.insert(from, life) else {
            return false;
        };
        drop(lives);
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
        let mut lives = self.lock();
        match lives.get_mut(&from) {
            Some(life)
                if life.connection.stable_id() == connection.stable_id()
                    && !life.told
                    && matches!(connection.close_reason(), Some(ConnectionError::Reset)) =>
            {
                life.told = true;
                true
            }
            _ => false,
        }
    }
}
