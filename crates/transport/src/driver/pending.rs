//! Events that wait for room in the inbox, so that a full inbox holds up
//! the reading of one connection and nothing else.

use std::collections::VecDeque;

use bazaar_protocol::PeerId;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{Event, shared::Shared, stats::Counters};

/// The events of one remote peer's task that wait for room in the inbox,
/// in order.
#[derive(Default)]
pub(super) struct Pending(VecDeque<Event>);

impl Pending {
    /// Whether no event waits.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Puts `event` in the inbox, or keeps it behind those that wait until
    /// there is room.
    pub(super) fn push(&mut self, events: &mpsc::Sender<Event>, event: Event) {
        if !self.0.is_empty() {
            self.0.push_back(event);
        } else if let Err(mpsc::error::TrySendError::Full(event)) = events.try_send(event) {
            self.0.push_back(event);
        }
    }

    /// Hands the oldest event that waits to the room found for it.
    pub(super) fn deliver(&mut self, permit: mpsc::OwnedPermit<Event>) {
        if let Some(event) = self.0.pop_front() {
            permit.send(event);
        }
    }
}

/// Where a connection hands the frames it reads: the inbox, through the
/// events that wait for room.
pub(crate) struct Deliver<'a> {
    /// The transport's identity, limits and counters.
    pub(crate) shared: &'a Shared,
    /// The peer the frames come from.
    pub(crate) peer: PeerId,
    pending: &'a mut Pending,
}

impl<'a> Deliver<'a> {
    pub(super) const fn new(shared: &'a Shared, peer: PeerId, pending: &'a mut Pending) -> Self {
        Self {
            shared,
            peer,
            pending,
        }
    }

    /// Whether the inbox takes frames now: no event waits for room.
    pub(crate) fn has_room(&self) -> bool {
        self.pending.is_empty()
    }

    /// Hands a frame from the peer to the inbox, counted as received.
    pub(crate) fn frame(&mut self, frame: Bytes) {
        Counters::add(&self.shared.counters.received, 1);
        let from = self.peer;
        self.pending
            .push(&self.shared.events, Event::Frame { from, frame });
    }
}
