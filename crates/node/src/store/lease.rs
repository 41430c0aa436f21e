//! The lease and the fence as the store keeps them: the one `meta` row.

use bazaar_market::Pricing;
use bazaar_protocol::{Epoch, Money, PeerId};

use super::StoreError;

/// Who holds the books' lease, and until when by the store's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The trader holding it.
    pub holder: PeerId,
    /// Milliseconds on the store's clock.
    pub until_ms: u64,
}

impl Default for Lease {
    /// Nobody's, long run out.
    fn default() -> Self {
        Self {
            holder: PeerId(0),
            until_ms: 0,
        }
    }
}

impl Lease {
    /// Whether `claimant` may open the books at `now_ms`: the lease has
    /// run out, or it holds it.
    pub fn admits(&self, claimant: PeerId, now_ms: u64) -> Result<(), StoreError> {
        if self.until_ms <= now_ms || self.holder == claimant {
            return Ok(());
        }
        Err(StoreError::Leased {
            holder: self.holder,
            retry_after: std::time::Duration::from_millis(self.until_ms - now_ms),
        })
    }
}

/// The one `meta` row.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// The highest epoch a trader opened the store with.
    pub epoch: Epoch,
    /// The market's prices, once a trader has opened the store.
    pub pricing: Option<Pricing>,
    /// Who holds the books' lease, and until when.
    pub lease: Lease,
    /// The store's clock when the row was read, milliseconds.
    pub now_ms: u64,
}

impl Meta {
    /// The market's prices if `epoch` is the newest term opened; a trader
    /// of an older term, or of any term before the first open, is fenced.
    pub fn term(&self, epoch: Epoch) -> Result<Pricing, StoreError> {
        match self.pricing {
            Some(pricing) if epoch == self.epoch => Ok(pricing),
            _ => Err(self.fenced(epoch)),
        }
    }

    /// The refusal of `epoch` by the newest term.
    pub const fn fenced(&self, epoch: Epoch) -> StoreError {
        StoreError::Fenced {
            epoch,
            newest: self.epoch,
        }
    }
}

/// The market's prices from the `meta` row's four pricing columns (fish,
/// salt and boar in cents, the commission in basis points): all set, or
/// none yet (no trader has opened the store).
///
/// # Errors
/// What is wrong, if only some are set.
pub fn pricing_of(columns: [Option<u64>; 4]) -> Result<Option<Pricing>, String> {
    match columns {
        [Some(fish), Some(salt), Some(boar), Some(bps)] => Ok(Some(Pricing {
            fish: Money(fish),
            salt: Money(salt),
            boar: Money(boar),
            commission_bps: u32::try_from(bps)
                .map_err(|_| format!("a commission of {bps} basis points"))?,
        })),
        [None, None, None, None] => Ok(None),
        _ => Err("the pricing in the meta row is incomplete".into()),
    }
}
