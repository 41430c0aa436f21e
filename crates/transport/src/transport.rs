//! The face every transport shows the node.

use async_trait::async_trait;
use bazaar_protocol::PeerId;
use bytes::Bytes;

use crate::{Stats, TransportError};

/// What a transport hands to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A frame arrived from a peer.
    Frame {
        /// The sender, as it proved itself (hello, certificate, hub).
        from: PeerId,
        /// The frame's bytes.
        frame: Bytes,
    },
    /// A peer could not be reached; frames queued for it were dropped.
    /// Reported once per outage: again only after the peer was reached.
    Unreachable {
        /// The peer that could not be reached.
        peer: PeerId,
    },
}

/// A message-oriented link to the other peers of a cluster.
///
/// Delivery is best effort and in order per pair of peers: a frame may be
/// lost (dead peer, full queue, fault injection) but is never duplicated or
/// reordered with respect to earlier frames between the same two peers
/// (except under mem's random delay, which reorders on purpose). Retries
/// and timeouts are the protocol's job.
///
/// # Frames sent during an outage
///
/// An outage of a peer starts when the transport fails to reach it, which
/// it reports once as [`Event::Unreachable`], and ends when it reaches the
/// peer again. A frame sent during an outage waits (within the queue's
/// bound) for the transport's next attempt to reach the peer: if that
/// attempt reaches it, the frame is delivered in order; if it fails, the
/// frame is dropped and counted in [`Stats::dropped_unreachable`]. Attempts
/// go on, further and further apart up to the configured backoff, for as
/// long as frames wait, so no frame waits forever (mem attempts at every
/// send: a frame to a crashed or cut-off peer is dropped at once).
///
/// Otherwise a frame is dropped only in flight on a connection that breaks
/// or is replaced, at a full queue ([`Stats::dropped_full`]), or by fault
/// injection. So,
/// below the queue's bound and without injected faults, what a peer
/// receives from a sender after an outage is every frame sent from some
/// frame on: in order, without a gap, never twice. Which frame comes first
/// depends on timing, and a caller must not assume it.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The id of the peer this transport speaks for.
    fn local_id(&self) -> PeerId;

    /// Queues a frame for a peer. Never waits on the peer: a full queue
    /// drops the frame (counted in [`Stats::dropped_full`]) and returns `Ok`.
    ///
    /// # Errors
    /// [`TransportError::UnknownPeer`] for an id outside the peer list,
    /// [`TransportError::FrameTooLarge`] for a frame over the maximum,
    /// [`TransportError::Shutdown`] after [`Transport::shutdown`].
    async fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError>;

    /// Queues `frames` for a peer, in order, as [`Transport::send`] does
    /// one by one; a transport that can puts them on the wire together
    /// (tcp and quic: one write on an idle connection instead of one per
    /// frame).
    ///
    /// # Errors
    /// As [`Transport::send`], for the first frame refused; the frames
    /// before it may have been queued.
    async fn send_many(&self, to: PeerId, frames: Vec<Bytes>) -> Result<(), TransportError> {
        for frame in frames {
            self.send(to, frame).await?;
        }
        Ok(())
    }

    /// The next event; `None` once the transport is shut down.
    async fn recv(&self) -> Option<Event>;

    /// The next event if one is waiting already, without waiting: for a
    /// caller that takes in a burst at once after [`Transport::recv`].
    /// `None` if none is waiting (or another caller is receiving), and
    /// once shut down.
    fn try_recv(&self) -> Option<Event>;

    /// Closes every connection and listener; later sends fail and `recv`
    /// returns `None`. Returns once the listening address is free again.
    async fn shutdown(&self);

    /// The transport's counters so far.
    fn stats(&self) -> Stats;
}
