//! The deterministic simulator: many [`Driver`](crate::Driver)s, the very
//! type the tokio runtime drives, under one seeded scheduler over simulated
//! time, with a faulty simulated network whose connections take a while to
//! come up, store calls that answer late and in any order, crashes and
//! restarts (the store surviving, as a disk would) and resignations.
//!
//! No tokio, no threads, no wall clock: one seed replays one run exactly.
//! After every step the world checks the invariants of docs/ARCHITECTURE.md (goods,
//! money, no double fill, receipts and credits against the ledger, clocks,
//! one trader per epoch and fencing, no election storm); once the faults
//! stop it checks liveness (one trader, the highest live peer, every buy
//! answered). What broke is a [`Violation`].
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
mod tables;
mod trace;
mod violation;
mod world;

pub use options::{Faults, Plant, SimOptions};
pub use report::{RunReport, run_many, run_one};
pub use violation::Violation;
pub use world::RunTally;
