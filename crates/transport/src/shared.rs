//! What a transport's connection tasks share with it.

use bazaar_protocol::PeerId;
use tokio::sync::mpsc;

use crate::{Event, TransportConfig, stats::Counters};

/// The identity, limits, counters and event sink of one transport.
pub(crate) struct Shared {
    /// The peer this transport speaks for.
    pub(crate) local: PeerId,
    /// Its limits and timings.
    pub(crate) config: TransportConfig,
    /// Its counters.
    pub(crate) counters: Counters,
    /// Where received frames and unreachable reports go.
    pub(crate) events: mpsc::Sender<Event>,
}
