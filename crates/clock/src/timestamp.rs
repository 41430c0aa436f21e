//! A Lamport time paired with the peer that made it: a total order.

use std::fmt;

/// A point in logical time, made unique by the peer that stamped it.
///
/// Ordered by `time`, then by `peer`: field order matters, the derived `Ord`
/// compares fields top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp<P> {
    /// The Lamport time.
    pub time: u64,
    /// The peer whose clock read `time`; breaks ties between equal times.
    pub peer: P,
}

impl<P> Timestamp<P> {
    /// A timestamp of `time` on `peer`'s clock.
    pub const fn new(time: u64, peer: P) -> Self {
        Self { time, peer }
    }
}

impl<P: fmt::Display> fmt::Display for Timestamp<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.time, self.peer)
    }
}
