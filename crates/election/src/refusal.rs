//! Why a peer refused a message instead of obeying it.

use std::fmt;

use crate::Epoch;

/// Why an epoch was refused: it cannot come from an honest peer, or
/// accepting it would leave this peer unable to claim a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The epoch is further ahead of the highest this peer has seen than
    /// [`Config::max_epoch_lead`](crate::Config::max_epoch_lead) allows.
    TooFarAhead {
        /// The highest epoch this peer had seen.
        seen: Epoch,
        /// The bound it was over.
        max_lead: u64,
    },
    /// The epoch is above the ceiling, the highest epoch that every member
    /// can still outbid (a round below the last epoch anyone claims, which
    /// is at most [`Epoch::MAX`]).
    AboveCeiling {
        /// The ceiling.
        ceiling: Epoch,
    },
    /// This peer would claim, but no epoch of its rank is left above the
    /// one it holds: the range of epochs is used up.
    Exhausted {
        /// The last epoch any member claims.
        last: Epoch,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFarAhead { seen, max_lead } => write!(
                f,
                "more than {max_lead} epochs ahead of the {seen} seen: taken for a forgery"
            ),
            Self::AboveCeiling { ceiling } => write!(
                f,
                "above {ceiling}, the last epoch every peer can outbid: taken for a forgery"
            ),
            Self::Exhausted { last } => {
                write!(f, "no epoch left to claim: {last} is the last")
            }
        }
    }
}
