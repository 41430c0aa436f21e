//! Counters a transport keeps about itself.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a transport's counters since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames handed to the wire (tcp, quic) or to the destination's inbox (mem).
    pub sent: u64,
    /// Frames received and handed to `recv`.
    pub received: u64,
    /// Frames dropped because the destination's queue was full.
    pub dropped_full: u64,
    /// Frames dropped because the destination could not be reached.
    pub dropped_unreachable: u64,
    /// Frames dropped on purpose by fault injection (mem only).
    pub dropped_fault: u64,
    /// Connections remade to a peer after a first one was lost.
    pub reconnects: u64,
    /// Incoming connections closed for bad input: garbage, an oversize
    /// length prefix, a bad hello, a certificate that does not match.
    pub rejected: u64,
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) dropped_full: AtomicU64,
    pub(crate) dropped_unreachable: AtomicU64,
    pub(crate) dropped_fault: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) rejected: AtomicU64,
}

impl Counters {
    /// Adds `n` to one counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Reads every counter.
    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            sent: self.sent.load(Relaxed),
            received: self.received.load(Relaxed),
            dropped_full: self.dropped_full.load(Relaxed),
            dropped_unreachable: self.dropped_unreachable.load(Relaxed),
            dropped_fault: self.dropped_fault.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
        }
    }
}
