//! Everything a peer needs to know before it starts.

use bazaar_market::{BuyerConfig, Pricing, SellerConfig};
use bazaar_protocol::PeerId;

use super::{ResignPolicy, Role, Timing};

/// Which start of a peer this is: its incarnation. Every start of a peer
/// must have a larger incarnation than the one before, however quickly it
/// comes back: its request and offer ids begin at `incarnation << 32`, so
/// that the trader never answers a new request with an earlier
/// incarnation's recorded reply.
///
/// Drivers that run real processes keep the last one on disk
/// ([`crate::incarnations::begin_incarnation`]); in-process drivers (the local market, the
/// simulator) start every peer at [`Incarnation::FIRST`] and take
/// [`Incarnation::next`] on each restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Incarnation(pub u32);

impl Incarnation {
    /// A peer's first start.
    pub const FIRST: Self = Self(0);

    /// The start after this one, or `None` after 2^32 starts.
    pub const fn next(self) -> Option<Self> {
        match self.0.checked_add(1) {
            Some(n) => Some(Self(n)),
            None => None,
        }
    }

    /// Where this start's request and offer ids begin.
    pub const fn first_seq(self) -> u64 {
        (self.0 as u64) << 32
    }
}

impl std::fmt::Display for Incarnation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One peer's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// This peer.
    pub id: PeerId,
    /// Every peer of the market, this one included.
    pub peers: Vec<PeerId>,
    /// What it does when it is not the trader.
    pub role: Role,
    /// Prices and commission, used while it is trader.
    pub pricing: Pricing,
    /// Timeouts and pacing.
    pub timing: Timing,
    /// When it resigns as trader.
    pub resign: ResignPolicy,
    /// Seed of its buyer's and seller's random choices.
    pub seed: u64,
    /// Which start of this peer this is.
    pub incarnation: Incarnation,
}

impl PeerConfig {
    /// The buyer's settings, from the timing.
    pub fn buyer(&self) -> BuyerConfig {
        BuyerConfig {
            think: self.timing.think,
            request_timeout: self.timing.request_timeout,
            patience: self.timing.patience.max(1),
            first_seq: self.incarnation.first_seq(),
            ..BuyerConfig::default()
        }
    }

    /// The seller's settings, from the timing.
    pub fn seller(&self) -> SellerConfig {
        SellerConfig {
            deposit_timeout: self.timing.request_timeout,
            first_seq: self.incarnation.first_seq(),
            ..SellerConfig::default()
        }
    }

    /// The first start of peer `id` of a market of peers `1..=n`, with
    /// default prices and timing and its id as seed: for tests, the local
    /// market and the simulator.
    pub fn simple(id: u32, n: u32, role: Role) -> Self {
        Self {
            id: PeerId(id),
            peers: (1..=n).map(PeerId).collect(),
            role,
            pricing: Pricing::default(),
            timing: Timing::default(),
            resign: ResignPolicy::default(),
            seed: u64::from(id),
            incarnation: Incarnation::FIRST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the simulator (seed 0, 5 peers): a restarted buyer asked
    /// for new goods under `buy 1#1`, and the trader answered with the
    /// recorded reply of its earlier incarnation's `buy 1#1`.
    #[test]
    fn a_later_incarnation_numbers_its_requests_and_offers_past_the_earlier_ones() {
        let first = PeerConfig::simple(1, 3, Role::Both);
        let again = PeerConfig {
            incarnation: Incarnation::FIRST.next().unwrap(),
            ..first.clone()
        };
        assert_eq!(first.buyer().first_seq, 0);
        assert_eq!(again.buyer().first_seq, 1 << 32);
        assert_eq!(again.seller().first_seq, 1 << 32);
    }

    #[test]
    fn incarnations_end_rather_than_wrap() {
        assert_eq!(Incarnation(u32::MAX).next(), None);
        assert_eq!(Incarnation(u32::MAX).first_seq(), u64::from(u32::MAX) << 32);
    }
}
