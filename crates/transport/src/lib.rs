//! Bazaar's transports: move frames (bytes) between peer ids.
//!
//! One [`Transport`] trait and three implementations that the node switches
//! between with no other change: [`mem`] (an in-process [`Hub`] with seeded,
//! deterministic fault injection), [`tcp`] (tokio, length-delimited frames)
//! and [`quic`] (quinn with mutual TLS from a cluster CA, see [`tls`]).
//!
//! The transport knows peer ids and frames, nothing of messages. Sends never
//! block on a dead or slow peer: each peer has a bounded queue, connections
//! are made lazily and remade with backoff, and a peer that cannot be reached
//! is reported as [`Event::Unreachable`] so that the node can react. That
//! policy is one machine with no I/O, [`link::Link`], which one driver runs
//! for tcp and quic alike; what happens to frames sent during an outage is
//! part of the [`Transport`] contract.

mod config;
mod driver;
mod error;
mod hello;
mod inbox;
mod peers;
mod shared;
mod stats;
mod transport;

pub mod link;
pub mod mem;
pub mod quic;
pub mod tcp;
pub mod tls;

pub use bazaar_protocol::PeerId;
pub use config::TransportConfig;
pub use error::TransportError;

pub use mem::{Delay, Hub, MemTransport};
pub use quic::{QuicBinding, QuicTransport};
pub use stats::Stats;
pub use tcp::{TcpBinding, TcpTransport};
pub use tls::{ClusterCa, PeerIdentity};

pub use transport::{Event, Transport};
