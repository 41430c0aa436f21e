//! The instruction count as a value: the counted market's shape, N, and
//! how often each count is taken.

use serde::Serialize;

/// The shape of the market that `bazaar count-buys` runs under callgrind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CountingMarket {
    /// Buyers, with no think time, each with one request out at a time.
    pub buyers: u32,
    /// Sellers; the highest of them is the trader.
    pub sellers: u32,
}

/// What the experiment runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct InstructionsPlan {
    /// The counted market.
    pub market: CountingMarket,
    /// N: the shorter run's answered buys; the longer one makes 2N.
    pub buys: u64,
    /// How many times each count is taken.
    pub repeats: u32,
}
