//! What the machine asks its driver to do or to know.

use std::time::Duration;

use crate::{Epoch, Message, Refusal, Timer};

/// One effect returned by [`Bully::handle`](crate::Bully::handle), to be
/// performed in order.
///
/// Every change of [`Bully::leader`](crate::Bully::leader) is reported by
/// exactly one of `LeaderIs`, `BecameLeader`, `SteppedDown` or `LeaderGone`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action<Id> {
    /// Send `msg` to the peer `to`. Loss is tolerated: the timers recover.
    Send {
        /// The recipient.
        to: Id,
        /// What to send.
        msg: Message,
    },
    /// Run `timer`, replacing any pending timer of the same kind, and hand it
    /// back as [`Input::Timer`](crate::Input::Timer) after `after`.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// How long from now.
        after: Duration,
    },
    /// Drop the pending timer of this kind, if any. A stale timer that fires
    /// anyway is ignored, so cancelling is tidiness, not correctness.
    CancelTimer(Timer),
    /// This peer started an election of its own: the `Election`s it sends
    /// every higher peer follow, or, with no higher peer, its claim
    /// (`BecameLeader`). Said once per election: not again when it ends in
    /// a claim after [`Timer::AwaitAlive`], but anew when an election that
    /// heard `Alive` and no `Coordinator` starts over. News for the driver
    /// to report; nothing to perform.
    ElectionStarted {
        /// The highest epoch this peer had seen as it started: the epoch
        /// its `Election`s carry, and the one its claim will exceed.
        epoch: Epoch,
    },
    /// Another peer leads, in `epoch`.
    LeaderIs {
        /// The leader.
        leader: Id,
        /// Its epoch.
        epoch: Epoch,
    },
    /// This peer now leads, in `epoch`. Fence every durable write with it.
    BecameLeader {
        /// The new epoch, greater than any this peer had seen.
        epoch: Epoch,
    },
    /// This peer no longer leads the epoch it led: a newer epoch exists, or
    /// it resigned. Stop acting as leader at once.
    SteppedDown {
        /// The epoch this peer led.
        epoch: Epoch,
    },
    /// The leader this peer followed resigned or was lost; an election is
    /// under way and no leader is known.
    LeaderGone {
        /// The former leader.
        leader: Id,
        /// Its epoch.
        epoch: Epoch,
    },
    /// A message was refused and changed nothing: its epoch cannot come
    /// from an honest peer (a forgery, or a peer gone wrong). Report it.
    /// Also, with `from` this peer itself, a claim it could not make
    /// because the range of epochs is used up ([`Refusal::Exhausted`]).
    Refused {
        /// Who sent the message (or this peer, for its own claim).
        from: Id,
        /// The epoch refused (for a claim: the highest this peer holds).
        epoch: Epoch,
        /// Why.
        reason: Refusal,
    },
}
