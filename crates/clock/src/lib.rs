//! A Lamport clock and the totally ordered timestamps it hands out.
//!
//! Pure and standalone: no I/O, no wall clock, no dependency on any other
//! bazaar crate. Every send ticks the sender's clock; every receive sets it to
//! `max(local, remote) + 1`. Timestamps order by time, then by peer id, so any
//! two events of a market compare.

mod lamport;
mod timestamp;

pub use lamport::LamportClock;
pub use timestamp::Timestamp;
