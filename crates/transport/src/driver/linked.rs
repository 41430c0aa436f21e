//! What a tcp or quic transport is made of beside its socket: its
//! identity and counters, its inbox, its links, and the task that accepts
//! connections.

use std::{
    collections::BTreeMap,
    future::Future,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use bazaar_protocol::PeerId;
use bytes::Bytes;
use tokio::task::JoinHandle;

use super::{Links, Wire};
use crate::{
    Event, Stats, TransportConfig, TransportError, inbox::Inbox, shared::Shared, stats::Counters,
};

/// The working parts of a transport whose peers are reached through
/// links; the transport adds its socket and its accept loop.
pub(crate) struct Linked<W: Wire> {
    shared: Arc<Shared>,
    inbox: Inbox,
    links: Arc<Links<W>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl<W: Wire> Linked<W> {
    /// Serves as `local` with `config`: an inbox, and a link over `wire`
    /// to each of `peers` (see [`Links::start`]). Nothing accepts
    /// connections before [`Linked::accept`].
    pub(crate) fn start(
        local: PeerId,
        config: TransportConfig,
        wire: W,
        peers: &BTreeMap<PeerId, SocketAddr>,
    ) -> Self {
        let inbox = Inbox::new(config.inbox_len);
        let shared = Arc::new(Shared {
            local,
            config,
            counters: Counters::default(),
            events: inbox.sender(),
        });
        let links = Arc::new(Links::start(Arc::clone(&shared), wire, peers));
        Self {
            shared,
            inbox,
            links,
            accept: Mutex::new(None),
        }
    }

    /// The links, for the accept side.
    pub(crate) fn links(&self) -> Arc<Links<W>> {
        Arc::clone(&self.links)
    }

    /// Runs `accept` as the task that accepts connections, until the
    /// transport stops.
    pub(crate) fn accept(&self, accept: impl Future<Output = ()> + Send + 'static) {
        *self.lock_accept() = Some(tokio::spawn(accept));
    }

    fn lock_accept(&self) -> MutexGuard<'_, Option<JoinHandle<()>>> {
        self.accept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The peer this transport speaks for.
    pub(crate) fn local(&self) -> PeerId {
        self.shared.local
    }

    /// See [`crate::Transport::send`].
    pub(crate) fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        self.links.send(to, frame)
    }

    /// See [`crate::Transport::send_many`].
    pub(crate) fn send_many(&self, to: PeerId, frames: Vec<Bytes>) -> Result<(), TransportError> {
        self.links.send_many(to, frames)
    }

    /// See [`crate::Transport::recv`].
    pub(crate) async fn recv(&self) -> Option<Event> {
        self.inbox.recv().await
    }

    /// See [`crate::Transport::try_recv`].
    pub(crate) fn try_recv(&self) -> Option<Event> {
        self.inbox.try_recv()
    }

    /// See [`crate::Transport::stats`].
    pub(crate) fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Stops receiving, every link and accepting, the first time; returns
    /// the accept task so that the caller may wait for the listener to be
    /// dropped (and its port freed).
    pub(crate) fn stop(&self) -> Option<JoinHandle<()>> {
        self.inbox.close();
        self.links.close();
        let accept = self.lock_accept().take();
        if let Some(accept) = &accept {
            accept.abort();
        }
        accept
    }

    /// Stops, waits until the listener is dropped (so that its port is
    /// free again), then until the peers heard the close.
    pub(crate) async fn shutdown(&self) {
        if let Some(accept) = self.stop() {
            let _ = accept.await;
        }
        self.links.wire().closed().await;
    }
}

impl<W: Wire> Drop for Linked<W> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Implements [`Transport`](crate::Transport) for a transport whose field
/// `linked` holds its [`Linked`] parts: tcp and quic differ in nothing
/// the trait sees.
macro_rules! linked_transport {
    ($transport:ty) => {
        #[::async_trait::async_trait]
        impl $crate::Transport for $transport {
            fn local_id(&self) -> $crate::PeerId {
                self.linked.local()
            }

            async fn send(
                &self,
                to: $crate::PeerId,
                frame: ::bytes::Bytes,
            ) -> Result<(), $crate::TransportError> {
                self.linked.send(to, frame)
            }

            async fn send_many(
                &self,
                to: $crate::PeerId,
                frames: Vec<::bytes::Bytes>,
            ) -> Result<(), $crate::TransportError> {
                self.linked.send_many(to, frames)
            }

            async fn recv(&self) -> Option<$crate::Event> {
                self.linked.recv().await
            }

            fn try_recv(&self) -> Option<$crate::Event> {
                self.linked.try_recv()
            }

            async fn shutdown(&self) {
                self.linked.shutdown().await;
            }

            fn stats(&self) -> $crate::Stats {
                self.linked.stats()
            }
        }
    };
}

pub(crate) use linked_transport;
