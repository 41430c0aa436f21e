//! Money in integer minor units, so that sums are exact.

use std::{
    fmt,
    iter::Sum,
    ops::{Add, AddAssign, Mul, Sub},
};

use serde::{Deserialize, Serialize};

/// An amount of money in minor units (cents). Never a float: the money
/// invariant (paid = credits + commission) must hold to the cent.
///
/// Sums and products saturate rather than overflow: amounts come off the
/// wire, and a forged one must not panic a peer. Real markets stay many
/// orders of magnitude below `u64::MAX` cents.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Money(pub u64);

impl Money {
    /// No money.
    pub const ZERO: Self = Self(0);

    /// An amount of whole units (dollars).
    pub const fn units(units: u64) -> Self {
        Self(units * 100)
    }

    /// The amount in minor units.
    pub const fn cents(self) -> u64 {
        self.0
    }
}

impl Add for Money {
    type Output = Self;

    fn add(self, rhs: Self) -> Self {
        Self(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl Sub for Money {
    type Output = Self;

    fn sub(self, rhs: Self) -> Self {
        Self(self.0 - rhs.0)
    }
}

impl Mul<u32> for Money {
    type Output = Self;

    fn mul(self, rhs: u32) -> Self {
        Self(self.0.saturating_mul(u64::from(rhs)))
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}
