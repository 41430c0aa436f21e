//! The one driver of the link machine, for tcp and quic.
//!
//! A [`Link`](crate::link::Link) decides when to dial, which connection to
//! keep and when a peer is unreachable; this module performs what it says
//! with tokio, once for both transports. What tcp and quic do differently
//! (how a dial connects and says hello, how a peer's dial is answered, how
//! frames are written and read) is a [`Wire`], which each implements; the
//! queueing, dialling, feeding and counting are here.
//!
//! # Hops
//!
//! Each remote peer has a [`Remote`](remote) that `send` and the peer's
//! [task] share under one lock. `send` feeds its frames to the link
//! there and performs at once what costs no waiting: it counts frames the
//! link drops and, on a wire whose connections allow it
//! ([`DirectWrite`]: tcp), writes an idle connection itself, at most once
//! between two runs of the task, so that a burst is queued in the link and
//! coalesced by the task into one write instead of one system call per
//! frame. Anything else (a dial, a write the socket did not take) is
//! deferred to the task, which it wakes. The task performs the link's
//! other actions, dials, waits on its connection, hands what it reads to
//! the inbox (waiting for room there without holding anything else up),
//! and tells the link how each of those ended.
//!
//! Over tcp the task of a peer reads and writes the one connection of the
//! pair, and is offered the connections that peer dials
//! ([`Links::offer`]). Over quic it only writes: each side dials for its
//! own frames, the accept side reads the peer's, and tells the link when
//! the peer dialled ([`Links::peer_up`]).
//!
//! # What the task asks of a connection
//!
//! The task waits on [`Conn::ready`] beside its other wake-ups, and after
//! every wake-up, whatever woke it, calls [`Conn::advance`] until it
//! returns [`Progress::Idle`]: a write the link handed out in the
//! meantime ([`Conn::write`]) or bytes left from the hello are taken up
//! there. A write reported [`Progress::Written`] is counted as sent and
//! told to the link, which may hand out the next.

mod linked;
mod links;
mod pending;
mod remote;
mod task;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use bazaar_protocol::PeerId;
use bytes::Bytes;

use crate::{link::Dialled, shared::Shared};

pub(crate) use linked::{Linked, linked_transport};
pub(crate) use links::Links;
pub(crate) use pending::Deliver;

/// How one transport dials, answers and moves frames: what tcp and quic
/// give the driver.
pub(crate) trait Wire: Send + Sync + 'static {
    /// A connection whose hellos were exchanged.
    type Conn: Conn;
    /// A connection the peer dialled, its hello read, that the link keeps
    /// or refuses (tcp); a wire whose links are never offered one (quic)
    /// says [`std::convert::Infallible`].
    type Offered: Send + 'static;

    /// Whether frames to ourselves go over the wire too, through our own
    /// listener (quic), rather than straight to the inbox (tcp).
    const LINK_TO_SELF: bool;

    /// Connects to `peer` at `addr`, sends our hello and waits for the
    /// peer's answer, for at most `timeout`.
    fn dial(
        self: &Arc<Self>,
        peer: PeerId,
        addr: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = Dial<Self::Conn>> + Send + 'static;

    /// Whether a connection `peer` dialled may still be offered to the
    /// link; one that broke the rules since its hello is counted and
    /// logged here, and closed.
    fn screen(&self, shared: &Shared, peer: PeerId, offered: &Self::Offered) -> bool;

    /// Answers the hello of a connection the link kept with ours; `None`
    /// if the answer could not be written.
    fn answer(&self, offered: Self::Offered) -> Option<Self::Conn>;

    /// Closes at once, as the transport stops, what stopping its tasks
    /// does not (quic: the endpoint, with the peers' connections to us).
    fn close(&self) {}

    /// Waits, briefly, until the peers heard the close.
    fn closed(&self) -> impl Future<Output = ()> + Send + '_ {
        std::future::ready(())
    }
}

/// A connection the task serves, whose hellos were exchanged.
pub(crate) trait Conn: Send + 'static {
    /// What `send` holds to write on this connection itself.
    type Direct: DirectWrite;

    /// `send`'s handle on this connection.
    fn direct(&self) -> Self::Direct;

    /// Starts writing `frames` (the link's frames in flight), after what
    /// `send` left unwritten in `direct`.
    fn write<'a>(
        &mut self,
        frames: impl ExactSizeIterator<Item = &'a Bytes> + Clone,
        direct: Option<&mut Self::Direct>,
    );

    /// Waits until the connection has news for [`Conn::advance`]; an error
    /// if it broke or the peer closed it. `read`: whether frames read have
    /// somewhere to go. Cancel-safe: the task waits on other things beside.
    fn ready(&mut self, read: bool) -> impl Future<Output = Result<(), String>> + Send + '_;

    /// Does what can be done without waiting: reads and delivers frames,
    /// writes what waits; says what the link must hear.
    fn advance(&mut self, deliver: &mut Deliver<'_>) -> Progress;
}

/// `send`'s way to write an idle connection itself, without waking its
/// task; `()` for a connection only its task writes.
pub(crate) trait DirectWrite: Send + 'static {
    /// Writes `frames` now if the connection takes them all without
    /// waiting, and says whether it did; what it did not write stays here
    /// for the task's [`Conn::write`].
    fn write_now<'a>(&mut self, frames: impl ExactSizeIterator<Item = &'a Bytes> + Clone) -> bool;

    /// Whether bytes wait that only the task can flush.
    fn wants_task(&self) -> bool;
}

impl DirectWrite for () {
    fn write_now<'a>(&mut self, _: impl ExactSizeIterator<Item = &'a Bytes> + Clone) -> bool {
        false
    }

    fn wants_task(&self) -> bool {
        false
    }
}

/// How a dial ended, with the connection if it is up.
pub(crate) enum Dial<C> {
    /// The peer answered our hello.
    Up(C),
    /// The peer closed the connection without answering, cleanly: a live
    /// peer keeping another connection.
    Refused(String),
    /// No connection, no answer in time, the wrong peer answered, or the
    /// connection was reset before an answer: not a live refusal.
    Failed(String),
}

impl<C> Dial<C> {
    /// What the link hears of it.
    const fn outcome(&self) -> Dialled {
        match self {
            Self::Up(_) => Dialled::Up,
            Self::Refused(_) => Dialled::Refused,
            Self::Failed(_) => Dialled::Failed,
        }
    }
}

/// What [`Conn::advance`] did that the link must hear.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing: wait for [`Conn::ready`].
    Idle,
    /// The write in progress is on the wire, all `frames` of it.
    Written {
        /// How many frames it carried.
        frames: u64,
    },
    /// The connection broke, or the peer closed it or broke the rules.
    Lost(String),
}
