//! What a peer does when it is not the trader.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What a peer does when it is not the trader. A trader neither buys nor
/// sells; when it steps down it resumes its role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Buys goods from the trader.
    Buyer,
    /// Deposits goods with the trader.
    Seller,
    /// Both buys and sells.
    #[default]
    Both,
    /// Neither: takes part in elections only, and trades when elected.
    Idle,
}

impl Role {
    /// Every role, in the order the help lists them.
    pub const ALL: [Self; 4] = [Self::Buyer, Self::Seller, Self::Both, Self::Idle];

    /// Whether this role buys.
    pub const fn buys(self) -> bool {
        matches!(self, Self::Buyer | Self::Both)
    }

    /// Whether this role sells.
    pub const fn sells(self) -> bool {
        matches!(self, Self::Seller | Self::Both)
    }

    /// The role's name as written in the cluster file and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Buyer => "buyer",
            Self::Seller => "seller",
            Self::Both => "both",
            Self::Idle => "idle",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected buyer, seller, both or idle")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_name() {
        for role in Role::ALL {
            assert_eq!(role.name().parse(), Ok(role));
        }
        assert_eq!("BUYER".parse(), Ok(Role::Buyer));
        assert_eq!("thief".parse::<Role>(), Err(UnknownRole("thief".into())));
    }
}
