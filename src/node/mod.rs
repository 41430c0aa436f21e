//! `bazaar node`'s own work beyond the peer: its process loop, its summary
//! at exit, and when to stop.

pub mod process;
pub mod summary;
pub mod watch;
