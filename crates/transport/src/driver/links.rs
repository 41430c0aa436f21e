//! The links of one transport, one per remote peer, each with its task.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use bazaar_protocol::PeerId;
use bytes::Bytes;
use tokio::{sync::mpsc, task::AbortHandle};
use tracing::debug;

use super::{Wire, remote::Remote, task::Task};
use crate::{
    Event, TransportError,
    link::{Input, Link, LinkConfig},
    shared::Shared,
    stats::Counters,
};

/// Connections the peer dialled that wait for its task; more are closed
/// (their dialler retries).
const OFFERS_MAX: usize = 4;

/// A link and a task for every remote peer of one transport.
pub(crate) struct Links<W: Wire> {
    shared: Arc<Shared>,
    wire: Arc<W>,
    open: AtomicBool,
    by_peer: BTreeMap<PeerId, Arc<Remote<W>>>,
    tasks: Vec<AbortHandle>,
}

impl<W: Wire> Links<W> {
    /// A link and an idle task for each of `peers`, reached over `wire`;
    /// ourselves included only if the wire says so
    /// ([`Wire::LINK_TO_SELF`]). Nothing is dialled before the first
    /// frame.
    pub(crate) fn start(
        shared: Arc<Shared>,
        wire: W,
        peers: &BTreeMap<PeerId, SocketAddr>,
    ) -> Self {
        let wire = Arc::new(wire);
        let mut by_peer = BTreeMap::new();
        let mut tasks = Vec::new();
        for (&peer, &addr) in peers {
            if peer == shared.local && !W::LINK_TO_SELF {
                continue;
            }
            let (offers_tx, offers_rx) = mpsc::channel(OFFERS_MAX);
            let link = Link::new(shared.local, peer, LinkConfig::from(&shared.config));
            let remote = Arc::new(Remote::new(peer, addr, link, offers_tx));
            let task = Task::new(
                Arc::clone(&remote),
                Arc::clone(&shared),
                Arc::clone(&wire),
                offers_rx,
            );
            tasks.push(tokio::spawn(task.run()).abort_handle());
            by_peer.insert(peer, remote);
        }
        Self {
            shared,
            wire,
            open: AtomicBool::new(true),
            by_peer,
            tasks,
        }
    }

    /// Sends `frame` to `to`; see [`crate::Transport::send`].
    pub(crate) fn send(&self, to: PeerId, frame: Bytes) -> Result<(), TransportError> {
        self.shared.config.check_frame_len(to, frame.len())?;
        match self.route(to)? {
            Some(remote) => remote.handle(Input::Frame(frame), &self.shared.counters),
            None => self.send_to_self(frame)?,
        }
        Ok(())
    }

    /// Sends `frames` to `to` in order, in one write if the connection is
    /// idle; see [`crate::Transport::send_many`].
    pub(crate) fn send_many(&self, to: PeerId, frames: Vec<Bytes>) -> Result<(), TransportError> {
        for frame in &frames {
            self.shared.config.check_frame_len(to, frame.len())?;
        }
        match self.route(to)? {
            Some(remote) => remote.handle(Input::Frames(frames), &self.shared.counters),
            None => {
                for frame in frames {
                    self.send_to_self(frame)?;
                }
            }
        }
        Ok(())
    }

    /// Where frames for `to` go: its remote, or `None` for ourselves.
    /// Refused once shut down, and for a peer we do not know.
    fn route(&self, to: PeerId) -> Result<Option<&Remote<W>>, TransportError> {
        let local = self.shared.local;
        if !self.open.load(Ordering::Acquire) {
            return Err(TransportError::Shutdown(local));
        }
        match self.by_peer.get(&to) {
            Some(remote) => Ok(Some(remote)),
            None if to == local => Ok(None),
            None => Err(TransportError::UnknownPeer(to)),
        }
    }

    /// A frame to ourselves, with no link to ourselves, goes straight to
    /// our inbox.
    fn send_to_self(&self, frame: Bytes) -> Result<(), TransportError> {
        let counters = &self.shared.counters;
        let event = Event::Frame {
            from: self.shared.local,
            frame,
        };
        match self.shared.events.try_send(event) {
            Ok(()) => {
                Counters::add(&counters.sent, 1);
                Counters::add(&counters.received, 1);
            }
            Err(mpsc::error::TrySendError::Full(_)) => Counters::add(&counters.dropped_full, 1),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(TransportError::Shutdown(self.shared.local));
            }
        }
        Ok(())
    }

    /// The transport's identity, limits, counters and inbox.
    pub(crate) const fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// How the links dial and answer.
    pub(crate) fn wire(&self) -> &W {
        &self.wire
    }

    /// Whether `from` is a peer we have a link to.
    pub(crate) fn knows(&self, from: PeerId) -> bool {
        self.by_peer.contains_key(&from)
    }

    /// Hands a connection whose hello named `from`, a peer we know, to
    /// `from`'s task, which offers it to the link.
    pub(crate) fn offer(&self, from: PeerId, offered: W::Offered) {
        let Some(remote) = self.by_peer.get(&from) else {
            return;
        };
        if remote.offers.try_send(offered).is_err() {
            debug!(peer = %self.shared.local, %from, "too many connections waiting; closing one");
        }
    }

    /// Tells `peer`'s link that the peer dialled us for its own frames, so
    /// it is up (see [`Input::PeerUp`]).
    pub(crate) fn peer_up(&self, peer: PeerId, restarted: bool) {
        if !self.open.load(Ordering::Acquire) {
            return;
        }
        if let Some(remote) = self.by_peer.get(&peer) {
            remote.handle(Input::PeerUp { restarted }, &self.shared.counters);
        }
    }

    /// Stops every task and closes every connection; queued frames are
    /// dropped.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::Release);
        for task in &self.tasks {
            task.abort();
        }
        for remote in self.by_peer.values() {
            remote.lock().direct = None;
        }
        self.wire.close();
    }
}
