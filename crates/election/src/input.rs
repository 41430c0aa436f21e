//! What the driver feeds the machine.

use crate::{Epoch, Message, Timer};

/// One event for [`Bully::handle`](crate::Bully::handle).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Input<Id> {
    /// The peer starts (or restarts, with a fresh machine) and runs an
    /// election. Also ends an abstention after [`Input::Resign`].
    Start,
    /// A message arrived from a peer.
    Message {
        /// The sender, as the caller's envelope names it.
        from: Id,
        /// What it said.
        msg: Message,
    },
    /// A timer the machine set has fired.
    Timer(Timer),
    /// The embedding application lost the leader (missed heartbeats, a
    /// request that timed out): forget it and run an election. A leader
    /// ignores it.
    LeaderLost,
    /// The leader steps down and abstains from the election that follows,
    /// until a new coordinator is announced. Ignored unless this peer leads.
    Resign,
    /// The application learned from outside the election that `epoch` is
    /// already in use: for instance, fenced storage refused this leader
    /// because a trader of that epoch wrote to it. The peer adopts it; a
    /// leader of that epoch or an older one steps down. Since only its
    /// owner claims an epoch, a higher owner is then followed (its
    /// `Coordinator` may still be on its way), and otherwise the peer runs
    /// again past the epoch. A peer restarted with no memory of epochs
    /// learns this way even when no other peer is alive to tell it.
    EpochSeen(Epoch),
}
