//! The bazaar's node: the pure [`Peer`] that composes the clock, the
//! election and the market roles, and the drivers and tools around it.

pub mod cluster;
pub mod logging;
mod peer;
pub mod stats;
pub mod store;
mod timers;

pub use peer::{Action, Event, Input, Peer, PeerConfig, PeerTimer, ResignPolicy, Timing};
pub use timers::TimerQueue;
