//! What election peers say to each other.

use std::fmt;

/// A leader's term. Every coordinator claims an epoch greater than any it has
/// seen; messages from an older epoch are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Epoch(pub u64);

impl Epoch {
    /// The largest epoch the election ever claims: `i64::MAX`, so that a
    /// store that keeps epochs as a signed 64-bit integer (SQLite's
    /// `INTEGER`, PostgreSQL's `BIGINT`) holds every one of them.
    pub const MAX: Self = Self(i64::MAX as u64);

    /// The epoch after this one.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A message of the bully election. The sender's id travels beside it, in
/// whatever envelope the caller uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Message {
    /// "I am holding an election": sent to every higher id.
    Election {
        /// The highest epoch the sender has seen.
        epoch: Epoch,
    },
    /// "I am alive and higher than you; I take it from here." Also the
    /// answer to a stale `Coordinator`, to tell its sender the newer epoch.
    Alive {
        /// The highest epoch the sender has seen.
        epoch: Epoch,
    },
    /// "I am the leader of this epoch": sent to every other peer.
    Coordinator {
        /// The new leader's epoch, greater than any it had seen.
        epoch: Epoch,
    },
    /// "I, the leader of this epoch, step down: elect another without me."
    Resign {
        /// The resigning leader's epoch.
        epoch: Epoch,
    },
}

impl Message {
    /// The epoch the message carries.
    pub const fn epoch(&self) -> Epoch {
        match *self {
            Self::Election { epoch }
            | Self::Alive { epoch }
            | Self::Coordinator { epoch }
            | Self::Resign { epoch } => epoch,
        }
    }
}
