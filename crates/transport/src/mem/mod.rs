//! Frames between peers of one process, through a [`Hub`].
//!
//! The hub is a plain value (no global state): each peer's endpoint has a
//! channel, and every send passes through the hub's seeded fault injection
//! ([`Hub::set_drop_probability`], [`Hub::set_delay`], [`Hub::partition`],
//! [`Hub::crash`] and [`Hub::restart`]). The same seed and the same sends give
//! the same deliveries; with [`Delay::Uniform`] that holds under tokio's
//! paused clock, where time moves only when every task waits.

mod delay;
mod hub;
mod transport;

pub use hub::{Delay, Hub};
pub use transport::MemTransport;
