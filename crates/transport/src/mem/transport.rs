//! One peer's endpoint on a [`Hub`].

use std::sync::Arc;

use async_trait::async_trait;
use bazaar_protocol::PeerId;
use bytes::Bytes;

use super::Hub;
use crate::{Event, Stats, Transport, TransportError, inbox::Inbox, stats::Counters};

/// A peer's endpoint on a [`Hub`]; made by [`Hub::endpoint`].
pub struct MemTransport {
    id: PeerId,
    incarnation: u64,
    hub: Hub,
    inbox: Arc<Inbox>,
    counters: Arc<Counters>,
}

impl MemTransport {
    pub(super) fn new(
        id: PeerId,
        incarnation: u64,
        hub: Hub,
        inbox: Arc<Inbox>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            id,
            incarnation,
            hub,
            inbox,
            counters,
        }
    }

    /// The hub this endpoint belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

impl std::fmt::Debug for MemTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemTransport")
            .field("id", &self.id)
            .field("incarnation", &self.incarnation)
            .finish()
    }
}

#[async_trait]
impl Transport for MemTransport {
    fn local_id(&self) -> PeerId {
        self.id
    }

    async fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        self.hub.send(self.id, self.incarnation, to, frame)
    }

    async fn recv(&self) -> Option<Event> {
        self.inbox.recv().await
    }

    fn try_recv(&self) -> Option<Event> {
        self.inbox.try_recv()
    }

    async fn shutdown(&self) {
        self.hub.leave(self.id, self.incarnation);
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}
