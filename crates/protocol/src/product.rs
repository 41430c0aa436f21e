//! The three goods of the market.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A good traded in the bazaar; the seed numbers them 0, 1, 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Product {
    /// The seed's product 0.
    Fish,
    /// The seed's product 1.
    Salt,
    /// The seed's product 2.
    Boar,
}

impl Product {
    /// Every product, in the seed's order.
    pub const ALL: [Self; 3] = [Self::Fish, Self::Salt, Self::Boar];

    /// The seed's number for this product (0, 1 or 2).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The product the seed numbers `index`, if any.
    pub const fn from_index(index: usize) -> Option<Self> {
        match index {
            0 => Some(Self::Fish),
            1 => Some(Self::Salt),
            2 => Some(Self::Boar),
            _ => None,
        }
    }

    /// The product's name as the lab's log lines spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Fish => "fish",
            Self::Salt => "salt",
            Self::Boar => "boar",
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the market's products.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown product {0:?}: expected fish, salt or boar")]
pub struct ParseProductError(pub String);

impl FromStr for Product {
    type Err = ParseProductError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseProductError(s.to_owned()))
    }
}
