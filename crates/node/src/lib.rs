//! The bazaar's node: the pure [`Peer`] that composes the clock, the
//! election and the market roles, and the drivers and tools around it.

pub mod bench;
pub mod cli;
pub mod cluster;
pub mod demo;
pub mod logging;
pub mod net;
mod peer;
pub mod runtime;
pub mod sim;
pub mod stats;
pub mod store;
mod timers;

pub use peer::{Action, Event, Input, Peer, PeerConfig, PeerTimer, ResignPolicy, Timing};
pub use timers::TimerQueue;
