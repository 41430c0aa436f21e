//! The `bazaar` application: the command line, the demo's loop, table and
//! progress line, the bench with its report and plots, logging set-up and
//! response-time statistics, a node's story, summary and metrics, `bazaar
//! up` (the lab's parent program), `bazaar status`, and the live web view
//! of `--web`. The market itself lives in the library crates
//! (`bazaar-node` and below); this crate only drives and presents it.

pub mod bench;
pub mod books;
pub mod cli;
pub mod demo;
pub mod hosts;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod stats;
pub mod status;
pub mod story;
pub mod table;
pub mod up;
pub mod web;
pub mod workers;
