//! What `send` and the task of one remote peer share: the peer's link,
//! behind one lock.

use std::{
    net::SocketAddr,
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use bazaar_protocol::PeerId;
use tokio::{
    sync::{Notify, mpsc},
    time::Instant,
};

use super::{Conn, DirectWrite, Wire};
use crate::{
    link::{Action, ConnId, Dropped, Input, Link},
    stats::Counters,
};

/// One remote peer, as `send`, the accept side and the peer's task see it.
pub(super) struct Remote<W: Wire> {
    pub(super) peer: PeerId,
    pub(super) addr: SocketAddr,
    out: Mutex<Out<W>>,
    /// `send` wrote a frame itself since the task last ran: the next
    /// write is the task's, so that a burst is coalesced. Only a hint,
    /// hence an atomic beside the lock rather than under it: the task
    /// clears it at every wake without taking the lock.
    pub(super) wrote_directly: AtomicBool,
    /// Wakes the task: `send` left it something to do.
    pub(super) wake: Notify,
    /// Connections the peer dialled, for the task to offer to the link.
    pub(super) offers: mpsc::Sender<W::Offered>,
}

/// The link and what `send` needs beside it; behind the remote's lock.
pub(super) struct Out<W: Wire> {
    pub(super) link: Link,
    /// `send`'s handle on the link's connection, as the task adopted it.
    pub(super) direct: Option<(ConnId, <W::Conn as Conn>::Direct)>,
    /// Actions from `send` that only the task can perform, in order.
    pub(super) deferred: Vec<Action>,
}

impl<W: Wire> Remote<W> {
    pub(super) fn new(
        peer: PeerId,
        addr: SocketAddr,
        link: Link,
        offers: mpsc::Sender<W::Offered>,
    ) -> Self {
        Self {
            peer,
            addr,
            out: Mutex::new(Out {
                link,
                direct: None,
                deferred: Vec::new(),
            }),
            wrote_directly: AtomicBool::new(false),
            wake: Notify::new(),
            offers,
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Out<W>> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Feeds `input` (frames from `send`, or news from the accept side) to
    /// the link and performs what needs no waiting: a write of an idle
    /// connection, a count of frames dropped; anything else is deferred to
    /// the task, which it wakes.
    pub(super) fn handle(&self, input: Input, counters: &Counters) {
        let now = Instant::now().into_std();
        let mut out = self.lock();
        let mut wake = false;
        out.link.handle(now, input);
        while let Some(action) = out.link.poll_action() {
            match action {
                Action::Write { conn, frames } if self.write_directly(&mut out, conn) => {
                    Counters::add(&counters.sent, frames as u64);
                    out.link.handle(now, Input::Written { conn });
                }
                Action::Drop { frames, reason } => count_dropped(counters, frames, reason),
                other => {
                    out.deferred.push(other);
                    wake = true;
                }
            }
        }
        wake |= out
            .direct
            .as_ref()
            .is_some_and(|(_, direct)| direct.wants_task());
        drop(out);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Writes the link's frames in flight on `conn` now, if it is the
    /// connection adopted and `send` may; whether all of them went out.
    fn write_directly(&self, out: &mut Out<W>, conn: ConnId) -> bool {
        let Out { link, direct, .. } = out;
        match direct {
            Some((current, direct))
                if *current == conn && !self.wrote_directly.swap(true, Ordering::Relaxed) =>
            {
                direct.write_now(link.in_flight())
            }
            _ => false,
        }
    }
}

/// Counts frames the link dropped.
pub(super) fn count_dropped(counters: &Counters, frames: u64, reason: Dropped) {
    let counter = match reason {
        Dropped::QueueFull => &counters.dropped_full,
        Dropped::Unreachable | Dropped::ConnectionLost => &counters.dropped_unreachable,
    };
    Counters::add(counter, frames);
}
