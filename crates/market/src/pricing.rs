//! Fixed prices and the trader's commission, in integer cents.

use bazaar_protocol::{Money, Product, Quantity};
use serde::{Deserialize, Serialize};

use crate::MarketError;

/// One hundred percent, in basis points.
const FULL_BPS: u32 = 10_000;

/// The market's fixed price per product and the trader's commission.
///
/// The commission on a sale is `floor(gross * bps / 10000)` cents and the
/// seller is credited the rest, so that what the buyer paid is exactly the
/// seller's credit plus the commission: rounding favours the seller by less
/// than a cent per sale and never creates or loses money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// The price of one fish.
    pub fish: Money,
    /// The price of one bag of salt.
    pub salt: Money,
    /// The price of one boar.
    pub boar: Money,
    /// The trader's commission in basis points (1000 = 10%), at most 10000.
    pub commission_bps: u32,
}

impl Default for Pricing {
    /// Fish 10.00, salt 5.00, boar 20.00, commission 10%.
    fn default() -> Self {
        Self {
            fish: Money::units(10),
            salt: Money::units(5),
            boar: Money::units(20),
            commission_bps: 1_000,
        }
    }
}

impl Pricing {
    /// Checks that the commission is at most 100%.
    ///
    /// # Errors
    /// [`MarketError::CommissionTooHigh`] if `commission_bps` exceeds 10000.
    pub fn validate(&self) -> Result<(), MarketError> {
        if self.commission_bps > FULL_BPS {
            return Err(MarketError::CommissionTooHigh {
                bps: self.commission_bps,
            });
        }
        Ok(())
    }

    /// The price of one unit of `product`.
    pub const fn price(&self, product: Product) -> Money {
        match product {
            Product::Fish => self.fish,
            Product::Salt => self.salt,
            Product::Boar => self.boar,
        }
    }

    /// Splits the gross of `quantity` units at `unit_price` into the
    /// seller's credit and the trader's commission; the two add up to the
    /// gross exactly.
    pub fn split(&self, unit_price: Money, quantity: Quantity) -> (Money, Money) {
        let gross = unit_price * quantity;
        // min: a commission above 100% would make the credit negative.
        let bps = u64::from(self.commission_bps.min(FULL_BPS));
        let commission = match gross.cents().checked_mul(bps) {
            Some(product) => product / u64::from(FULL_BPS),
            // Beyond u64 (about 1.8e15 cents of gross), take the slow road.
            None => {
                let wide = u128::from(gross.cents()) * u128::from(bps) / u128::from(FULL_BPS);
                u64::try_from(wide).unwrap_or(gross.cents())
            }
        };
        let commission = Money(commission);
        (gross - commission, commission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_of_four_fish_is_four_dollars() {
        let pricing = Pricing::default();
        assert_eq!(
            pricing.split(Money::units(10), 4),
            (Money(3_600), Money(400))
        );
    }

    #[test]
    fn rounding_favours_the_seller_and_loses_no_cent() {
        let pricing = Pricing {
            commission_bps: 333,
            ..Pricing::default()
        };
        // 3 x 0.07 = 0.21; 3.33% of 21 cents is 0.6993 cents: commission 0.
        assert_eq!(pricing.split(Money(7), 3), (Money(21), Money(0)));
        let (credit, commission) = pricing.split(Money(1_234), 7);
        assert_eq!(credit + commission, Money(8_638));
        assert_eq!(commission, Money(287));
    }

    #[test]
    fn huge_amounts_do_not_overflow() {
        let pricing = Pricing::default();
        let (credit, commission) = pricing.split(Money(u64::MAX / 4), 3);
        assert_eq!(credit + commission, Money(u64::MAX / 4 * 3));
        assert_eq!(
            commission,
            Money((u128::from(u64::MAX / 4 * 3) / 10) as u64)
        );
    }

    #[test]
    fn commission_above_one_hundred_percent_is_refused() {
        let pricing = Pricing {
            commission_bps: 10_001,
            ..Pricing::default()
        };
        assert_eq!(
            pricing.validate(),
            Err(MarketError::CommissionTooHigh { bps: 10_001 })
        );
        assert_eq!(pricing.split(Money(100), 1), (Money(0), Money(100)));
    }
}
