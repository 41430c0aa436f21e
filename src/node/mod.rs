//! `bazaar node`'s own work beyond the peer: its story, its summary at
//! exit, its metrics, and when to stop.

pub mod summary;
pub mod watch;
