//! What goes into a peer and what comes out of it.

use std::{fmt, time::Duration};

use bazaar_election::Timer as ElectionTimer;
use bazaar_market::{Batch, Book, BuyerTimer, LedgerEntry, SellerTimer};
use bazaar_protocol::{Envelope, Epoch, PeerId, Product, Quantity, RequestId};

use crate::store::StoreError;

/// A timer a peer asks its driver to run, by name. At most one of each is
/// pending: setting it again moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerTimer {
    /// One of the election's timers.
    Election(ElectionTimer),
    /// One of the buyer's timers.
    Buyer(BuyerTimer),
    /// One of the seller's timers.
    Seller(SellerTimer),
    /// Time for the trader to send a heartbeat.
    Heartbeat,
    /// The trader has been silent too long.
    TraderSilent,
    /// Time for the trader to resign.
    Resign,
}

/// One event for [`Peer::handle`](crate::Peer::handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The peer starts (or restarts from nothing but its store).
    Start,
    /// Bytes arrived from `from`, as the transport authenticated it.
    Frame {
        /// The sending peer.
        from: PeerId,
        /// One encoded envelope.
        bytes: Vec<u8>,
    },
    /// A timer fired.
    Timer(PeerTimer),
    /// The transport cannot reach `peer`.
    Unreachable(PeerId),
    /// The driver has nothing more queued right now: the trader serves
    /// everything that arrived since its last batch.
    Drained,
    /// The books asked for by [`Action::LoadBooks`] are here.
    BooksLoaded {
        /// The epoch they were loaded and fenced for.
        epoch: Epoch,
        /// The books.
        book: Box<Book>,
    },
    /// The commit asked for by [`Action::Commit`] is durable.
    Committed {
        /// The commit's sequence number.
        seq: u64,
    },
    /// The store refused or failed a load or a commit: the books are
    /// ahead of the store, or a newer trader exists.
    StoreFailed {
        /// The epoch of the refused operation.
        epoch: Epoch,
        /// What the store said.
        error: String,
    },
    /// The trader resigns now (an operator's command).
    Resign,
    /// The store refused a load or a commit because a trader of a newer
    /// epoch opened it: what [`Input::store_error`] makes of
    /// [`StoreError::Fenced`].
    Fenced {
        /// The epoch of the refused operation.
        epoch: Epoch,
        /// The newest epoch the store has seen.
        newest: Epoch,
    },
}

impl Input {
    /// The input that tells a peer how its load or commit of `epoch`
    /// failed: [`Input::Fenced`] for fencing, so that it learns the epoch
    /// to beat, and [`Input::StoreFailed`] otherwise.
    pub fn store_error(epoch: Epoch, error: &StoreError) -> Self {
        match *error {
            StoreError::Fenced { newest, .. } => Self::Fenced { epoch, newest },
            _ => Self::StoreFailed {
                epoch,
                error: error.to_string(),
            },
        }
    }
}

/// One effect a peer wants performed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Encode and send an envelope.
    Send {
        /// The recipient.
        to: PeerId,
        /// What to send; its clock is already ticked.
        envelope: Envelope,
    },
    /// Run a timer, replacing any pending one of its kind.
    SetTimer {
        /// Which timer.
        timer: PeerTimer,
        /// How long from now.
        after: Duration,
    },
    /// Drop a pending timer.
    CancelTimer(PeerTimer),
    /// Fence the store at `epoch` and load the books; answer with
    /// [`Input::BooksLoaded`] or [`Input::StoreFailed`].
    LoadBooks {
        /// The new trader's epoch.
        epoch: Epoch,
    },
    /// Commit a batch in one transaction; answer with [`Input::Committed`]
    /// or [`Input::StoreFailed`]. Its replies wait until then.
    Commit {
        /// Sequence number to answer with.
        seq: u64,
        /// The trader's epoch: the store refuses an older one.
        epoch: Epoch,
        /// What the batch changed.
        batch: Box<Batch>,
    },
    /// Something worth telling the operator.
    Event(Event),
}

/// What happened, for logs and statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// This peer is the new trader, with its books loaded.
    Coordinator {
        /// This peer.
        id: PeerId,
        /// Its epoch.
        epoch: Epoch,
    },
    /// This peer follows a new trader.
    Following {
        /// The trader.
        trader: PeerId,
        /// Its epoch.
        epoch: Epoch,
    },
    /// The trader sold (logged by the trader, after the commit).
    Sold(LedgerEntry),
    /// This buyer's request was answered.
    Answered {
        /// The request.
        request: RequestId,
        /// What was asked for.
        product: Product,
        /// Units received.
        filled: Quantity,
        /// From the first send of the request to the reply.
        latency: Duration,
    },
    /// This peer stopped being trader.
    SteppedDown {
        /// The epoch it led.
        epoch: Epoch,
        /// Whether it resigned (rather than being deposed or fenced).
        resigned: bool,
    },
    /// The store refused this trader: it is deposed.
    Fenced {
        /// The refused epoch.
        epoch: Epoch,
        /// What the store said.
        error: String,
    },
    /// A frame or request was refused.
    Rejected {
        /// Who sent it.
        from: PeerId,
        /// Why it was refused.
        reason: String,
    },
}

impl fmt::Display for Event {
    /// The lab's log lines, and plain lines for the rest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Coordinator { id, .. } => {
                write!(
                    f,
                    "Dear buyers and sellers, My ID is {id}, and I am the new coordinator"
                )
            }
            Self::Following { trader, epoch } => {
                write!(f, "following trader {trader} (epoch {epoch})")
            }
            Self::Sold(entry) => write!(f, "{entry}"),
            Self::Answered {
                request,
                product,
                filled,
                latency,
            } => {
                write!(f, "{request}: got {filled} {product} in {latency:?}")
            }
            Self::SteppedDown {
                epoch,
                resigned: true,
            } => write!(f, "resigned as trader of epoch {epoch}"),
            Self::SteppedDown {
                epoch,
                resigned: false,
            } => write!(f, "stepped down as trader of epoch {epoch}"),
            Self::Fenced { epoch, error } => {
                write!(f, "deposed: the store refused epoch {epoch}: {error}")
            }
            Self::Rejected { from, reason } => {
                write!(f, "refused a message from peer {from}: {reason}")
            }
        }
    }
}
