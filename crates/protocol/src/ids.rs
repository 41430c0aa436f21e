//! Identifiers: peers, buy requests, offers.

use std::{fmt, num::ParseIntError, str::FromStr};

use serde::{Deserialize, Serialize};

/// A peer of the market, numbered from 1. Higher ids win elections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerId(pub u32);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PeerId {
    type Err = ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl From<u32> for PeerId {
    fn from(id: u32) -> Self {
        Self(id)
    }
}

/// A buy request, unique per buyer: a retry carries the same id, so the
/// trader answers it again and never fills it twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The buyer that made the request.
    pub buyer: PeerId,
    /// The buyer's own sequence number, counting from 1.
    pub seq: u64,
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buy {}#{}", self.buyer, self.seq)
    }
}

/// A seller's deposit, unique per seller: re-sending it to a new trader after
/// a failover deposits nothing twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OfferId {
    /// The seller that made the offer.
    pub seller: PeerId,
    /// The seller's own sequence number, counting from 1.
    pub seq: u64,
}

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offer {}#{}", self.seller, self.seq)
    }
}
