//! The deterministic simulator: many [`Peer`](crate::Peer)s driven by one
//! seeded scheduler over simulated time, a faulty simulated network, crashes
//! and restarts (the store surviving, as a disk would) and resignations.
//!
//! No tokio, no threads, no wall clock: one seed replays one run exactly.
//! After every step the world checks the invariants of docs/ARCHITECTURE.md (goods,
//! money, no double fill, receipts and credits against the ledger, clocks,
//! one trader per epoch and fencing); once the faults stop it checks
//! liveness (one trader, the highest live peer, every buy answered).
//!
//! ```
//! use bazaar_node::sim::{SimOptions, run_one};
//!
//! let report = run_one(7, &SimOptions { peers: 3, ..SimOptions::default() });
//! assert!(report.outcome.is_ok(), "{report}");
//! ```

mod check;
mod faulty;
mod network;
mod options;
mod report;
mod trace;
mod violation;
mod world;

pub use options::{Faults, Plant, SimOptions};
pub use report::{RunReport, run_many, run_one};
pub use violation::Violation;
pub use world::Tally;
