//! The bazaar's node, as a library: the pure [`Peer`] that composes the
//! clock, the election and the market roles, and what drives it.
//!
//! - [`Peer`]: input in, actions out; no I/O.
//! - [`Driver`]: the peer with its timers, held frames, outbox and store
//!   calls in flight, sans-I/O; its docs give the contract every shell
//!   keeps.
//! - [`runtime::Runtime`]: the tokio shell of one driver over a
//!   [`Transport`](bazaar_transport::Transport) and a [`store::Store`].
//! - [`sim`]: the deterministic shell of many drivers, with faults.
//! - [`market::LocalMarket`]: a whole market in one process, and
//!   [`audit::Audit`], its end-of-run audit.
//! - [`store`]: where the books live between traders: in memory
//!   (`MemStore`), in SQLite (`SqliteStore`, behind the default `sqlite`
//!   feature) for the peers of one host, and in PostgreSQL (`PgStore`,
//!   behind the default `postgres` feature) for peers on several hosts.
//! - [`cluster`]: the cluster file; [`incarnations`]: a process's last
//!   [`Incarnation`], kept on disk.
//!
//! No command line, no global logger: the `bazaar` application adds those.

pub mod audit;
pub mod cluster;
mod driver;
mod held;
pub mod incarnations;
pub mod market;
pub mod net;
mod peer;
pub mod runtime;
pub mod sim;
pub mod store;
mod timers;

pub use driver::{CallId, Driver, Sent, StoreCall, Stored, Transmit};
pub use held::HOLD;
pub use peer::{
    Action, CommitId, ElectionCause, Event, Incarnation, Input, Peer, PeerConfig, PeerTimer,
    Reject, ResignPolicy, Role, StoreFailure, Timing, UnknownRole,
};
pub use timers::TimerQueue;
