//! The market of the bazaar: the trader's [`Book`], and the [`Trader`],
//! [`Buyer`] and [`Seller`] machines.
//!
//! Pure and deterministic: no I/O, no threads, no wall clock, no OS
//! randomness. Each machine takes one input and returns the actions it wants
//! performed (send this, set that timer, persist this batch); time is
//! relative (`SetTimer { after }`) and randomness comes from a seed the
//! caller owns. The invariants of the market (goods and money conserved, no
//! request filled twice) are functions in [`audit`], shared by the unit
//! tests, the property tests, the node's demo and the simulator.

pub mod audit;
mod batch;
mod book;
mod buyer;
mod error;
mod ledger;
mod pricing;
mod seller;
mod trader;

pub use audit::{AuditSummary, Goods, Match};
pub use batch::{Batch, Served};
pub use book::{Answer, Book, Lot, RequestState, Totals};
pub use buyer::{Buyer, BuyerAction, BuyerConfig, BuyerInput, BuyerStats, BuyerTimer};
pub use error::{MarketError, Violation};
pub use ledger::{Ledger, LedgerEntry, Receipt};
pub use pricing::Pricing;
pub use seller::{Seller, SellerAction, SellerConfig, SellerInput, SellerStats, SellerTimer};
pub use trader::{Persist, Trader, TraderAction, TraderInput};
