//! What goes into a peer and what comes out of it.

use std::{fmt, time::Duration};

use bazaar_election::{Refusal, Timer as ElectionTimer};
use bazaar_market::{Batch, Book, BuyerTimer, LedgerEntry, MarketError, Pricing, SellerTimer};
use bazaar_protocol::{
    CodecError, Envelope, Epoch, Fill, Offer, PeerId, Product, Quantity, RequestId, SaleNotice,
};

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
    /// Time for the trader to renew its lease on the books, or to give up
    /// its term if it has heard from no other peer.
    Lease,
    /// Time for the trader to try the store again: its books were leased
    /// to another peer, or the store was unavailable.
    Books,
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
    Committed(CommitId),
    /// The store refused or failed a load or a commit of `epoch`.
    StoreFailed {
        /// The epoch of the refused operation.
        epoch: Epoch,
        /// Why.
        failure: StoreFailure,
    },
    /// The trader resigns now (an operator's command).
    Resign,
}

/// Why a store refused or failed a load or a commit, as much as the peer
/// needs to know; the driver logs the store's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailure {
    /// A trader of epoch `newest` has opened the store: this term is over,
    /// and the next claim must beat `newest`.
    Fenced {
        /// The newest epoch the store has seen.
        newest: Epoch,
    },
    /// Another peer holds the books' lease: a live trader uses them. The
    /// claim may be tried again after `retry_after`.
    Leased {
        /// The trader holding the lease.
        holder: PeerId,
        /// When the lease runs out, by the store's clock.
        retry_after: Duration,
    },
    /// The store could not be read or written (a disk, a connection). A
    /// commit's outcome is unknown: it may have landed.
    Unavailable,
    /// The stored books are damaged, or the batch does not fit them.
    Corrupt,
}

impl fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fenced { newest } => write!(f, "the store has seen epoch {newest}"),
            Self::Leased {
                holder,
                retry_after,
            } => write!(
                f,
                "the books are leased to peer {holder} for {retry_after:?} more"
            ),
            Self::Unavailable => f.write_str("the store is unavailable"),
            Self::Corrupt => f.write_str("the stored books are damaged"),
        }
    }
}

/// Names one commit of a trader, so that its answer finds the sends it
/// holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitId(pub u64);

/// Why a peer refused a frame or a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// The bytes are not an envelope.
    Malformed(CodecError),
    /// The sender is not a peer of this cluster.
    Stranger,
    /// The envelope names another sender than the transport authenticated.
    Impersonation {
        /// Who the envelope claims to be from.
        claimed: PeerId,
    },
    /// The trader refused an offer or a buy (one in another peer's name).
    Market(MarketError),
    /// The election refused an epoch no honest peer sends (or, from this
    /// peer itself, a claim past the last epoch).
    Epoch {
        /// The epoch refused.
        epoch: Epoch,
        /// Why.
        reason: Refusal,
    },
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed frame: {e}"),
            Self::Stranger => f.write_str("not a peer of this cluster"),
            Self::Impersonation { claimed } => {
                write!(f, "envelope claims to be from peer {claimed}")
            }
            Self::Market(e) => e.fmt(f),
            Self::Epoch { epoch, reason } => write!(f, "epoch {epoch} refused: {reason}"),
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
        /// The new trader: the lease's holder.
        trader: PeerId,
        /// How long the lease lasts unless renewed.
        lease: Duration,
        /// The prices of books never written before.
        pricing: Pricing,
    },
    /// Load the books again for the term of `epoch`, after a commit whose
    /// outcome is unknown; answer with [`Input::BooksLoaded`] or
    /// [`Input::StoreFailed`].
    ReloadBooks {
        /// The trader's epoch.
        epoch: Epoch,
    },
    /// Extend the lease of the term of `epoch` by `lease` from now (a zero
    /// lease gives it back: the term is over); answer only a failure, with
    /// [`Input::StoreFailed`].
    RenewLease {
        /// The trader's epoch.
        epoch: Epoch,
        /// How long from now.
        lease: Duration,
    },
    /// Commit a batch in one transaction; answer with [`Input::Committed`]
    /// or [`Input::StoreFailed`]. Its replies wait until then.
    Commit {
        /// The id to answer with.
        commit: CommitId,
        /// The trader's epoch: the store refuses an older one.
        epoch: Epoch,
        /// What the batch changed.
        batch: Box<Batch>,
    },
    /// Something worth telling the operator.
    Event(Event),
}

/// Why a peer starts an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionCause {
    /// The peer has just started.
    StartUp,
    /// The trader's heartbeats stopped.
    TraderSilent {
        /// The trader it followed.
        trader: PeerId,
    },
    /// The transport could not reach the trader.
    TraderUnreachable {
        /// The trader it followed.
        trader: PeerId,
    },
    /// A buy or a deposit went unanswered, and the trader had been quiet
    /// for a heartbeat interval.
    RequestUnanswered {
        /// The trader it followed.
        trader: PeerId,
    },
    /// The trader resigned.
    TraderResigned {
        /// The trader that resigned.
        trader: PeerId,
    },
    /// This peer resigned, and no successor announced itself in time.
    NoSuccessor,
    /// It gave up its term cut off from every other peer, and hears from
    /// them again.
    Reconnected,
    /// A lower peer called an election: a live higher peer takes over.
    LowerPeerCalled {
        /// The peer that called it.
        by: PeerId,
    },
    /// A lower peer claimed to be trader while this one lives.
    LowerPeerClaimed {
        /// The claimant.
        by: PeerId,
    },
    /// A higher peer answered `Alive` but never announced itself.
    NoAnnouncement,
    /// A message carried a newer epoch than this trader's: it stepped down.
    NewerEpoch {
        /// The epoch it learned of.
        epoch: Epoch,
    },
    /// The store has seen a newer trader than this one.
    Fenced {
        /// The newest epoch the store has seen.
        newest: Epoch,
    },
}

impl fmt::Display for ElectionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StartUp => f.write_str("it has just started"),
            Self::TraderSilent { trader } => {
                write!(f, "trader {trader} stopped sending heartbeats")
            }
            Self::TraderUnreachable { trader } => write!(f, "trader {trader} is unreachable"),
            Self::RequestUnanswered { trader } => {
                write!(f, "trader {trader} left a request unanswered")
            }
            Self::TraderResigned { trader } => write!(f, "trader {trader} resigned"),
            Self::NoSuccessor => f.write_str("it resigned and nobody took over"),
            Self::Reconnected => f.write_str("it hears from other peers again after being cut off"),
            Self::LowerPeerCalled { by } => write!(f, "lower peer {by} called an election"),
            Self::LowerPeerClaimed { by } => {
                write!(f, "lower peer {by} claimed to be the coordinator")
            }
            Self::NoAnnouncement => {
                f.write_str("a higher peer answered but never announced itself")
            }
            Self::NewerEpoch { epoch } => write!(f, "it learned of the newer epoch {epoch}"),
            Self::Fenced { newest } => write!(f, "the store has seen epoch {newest}"),
        }
    }
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
    /// This buyer asked the trader for goods (a new request; re-sends of
    /// it are not reported).
    Asked {
        /// The request.
        request: RequestId,
        /// What it asks for.
        product: Product,
        /// How many units.
        quantity: Quantity,
        /// The trader asked.
        trader: PeerId,
    },
    /// This buyer's request was answered; no fills means out of stock.
    Answered {
        /// The request.
        request: RequestId,
        /// What was asked for.
        product: Product,
        /// Units asked for.
        requested: Quantity,
        /// Units received: the sum of `fills`.
        filled: Quantity,
        /// Where the units came from, and at what price.
        fills: Vec<Fill>,
        /// From the first send of the request to the reply.
        latency: Duration,
    },
    /// This buyer was told "out of stock" too often in a row and gives up
    /// its product for another.
    GaveUp {
        /// The product given up.
        product: Product,
    },
    /// This seller offered a new lot to the trader (re-sends of it are not
    /// reported).
    Offered {
        /// The lot.
        offer: Offer,
        /// The trader it went to.
        trader: PeerId,
    },
    /// Some of this seller's goods sold, and it was credited (each notice
    /// once, however often the trader sends it).
    Credited(SaleNotice),
    /// This peer starts an election: the election machine says it started
    /// one (`bazaar_election::Action::ElectionStarted`), the peer says why.
    ElectionStarted {
        /// Why: what made the peer feed the election the input that
        /// started it.
        cause: ElectionCause,
        /// The highest epoch it had seen as it started: its `Election`s
        /// carry it, and its claim, if it wins, is past it.
        epoch: Epoch,
    },
    /// This trader's batch is durable; its replies and notices leave now.
    Committed {
        /// The commit.
        commit: CommitId,
        /// From asking the driver to commit to the answer.
        latency: Duration,
    },
    /// A peer this one had reached cannot be reached any more. Reported once
    /// per outage; a peer never reached yet (not started, perhaps) is not
    /// reported.
    OutageBegan {
        /// The peer.
        peer: PeerId,
    },
    /// A peer whose outage was reported is heard from again.
    OutageEnded {
        /// The peer.
        peer: PeerId,
        /// How long the outage lasted, from its report to the first frame.
        lasted: Duration,
    },
    /// This peer stopped being trader.
    SteppedDown {
        /// The epoch it led.
        epoch: Epoch,
        /// Whether it resigned (rather than being deposed or fenced).
        resigned: bool,
    },
    /// The books were loaded again after a commit whose outcome was
    /// unknown: the trader serves on from what the store holds.
    BooksReloaded {
        /// The trader's epoch.
        epoch: Epoch,
    },
    /// Another peer holds the books' lease: this trader waits for it to run
    /// out, and its followers with it.
    BooksLeased {
        /// This trader's epoch.
        epoch: Epoch,
        /// The lease's holder.
        holder: PeerId,
        /// How long until the store lets this trader try again.
        retry_after: Duration,
    },
    /// The store failed this trader's call: what a commit in flight held is
    /// dropped, and the books are loaded again.
    StoreUnavailable {
        /// The trader's epoch.
        epoch: Epoch,
        /// How long the store has been failing.
        down: Duration,
    },
    /// The trader has heard from no other peer for a heartbeat timeout:
    /// cut off, it gives up its term.
    CutOff {
        /// The term it gives up.
        epoch: Epoch,
        /// How long it heard from nobody.
        quiet: Duration,
    },
    /// The store refused or failed this trader's load or commit: its desk
    /// closed, and what it held for the commit is dropped.
    DeskClosed {
        /// The trader's epoch.
        epoch: Epoch,
        /// Why.
        failure: StoreFailure,
    },
    /// A frame or request was refused.
    Rejected {
        /// Who sent it.
        from: PeerId,
        /// Why it was refused.
        reason: Reject,
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
            Self::Asked {
                request,
                product,
                quantity,
                trader,
            } => write!(
                f,
                "{request}: asks trader {trader} for {quantity} {product}"
            ),
            Self::Answered {
                request,
                product,
                filled: 0,
                latency,
                ..
            } => write!(
                f,
                "{request}: {product} out of stock (answered in {latency:?})"
            ),
            Self::Answered {
                request,
                product,
                filled,
                latency,
                ..
            } => {
                write!(f, "{request}: got {filled} {product} in {latency:?}")
            }
            Self::GaveUp { product } => write!(f, "gives up on {product}: out of stock"),
            Self::Offered { offer, trader } => write!(
                f,
                "{}: offers {} {} to trader {trader}",
                offer.id, offer.quantity, offer.product
            ),
            Self::Credited(notice) => write!(
                f,
                "sold {} {} to peer {}, credited {}",
                notice.quantity, notice.product, notice.request.buyer, notice.credit
            ),
            Self::ElectionStarted { cause, epoch } => {
                write!(f, "starts an election past epoch {epoch}: {cause}")
            }
            Self::Committed { commit, latency } => {
                write!(f, "commit {} durable in {latency:?}", commit.0)
            }
            Self::OutageBegan { peer } => write!(f, "peer {peer} is unreachable"),
            Self::OutageEnded { peer, lasted } => {
                write!(f, "peer {peer} is reachable again after {lasted:?}")
            }
            Self::SteppedDown {
                epoch,
                resigned: true,
            } => write!(f, "resigned as trader of epoch {epoch}"),
            Self::SteppedDown {
                epoch,
                resigned: false,
            } => write!(f, "stepped down as trader of epoch {epoch}"),
            Self::DeskClosed { epoch, failure } => {
                write!(f, "deposed: the store refused epoch {epoch}: {failure}")
            }
            Self::BooksReloaded { epoch } => {
                write!(f, "reloaded the books of epoch {epoch} from the store")
            }
            Self::BooksLeased {
                epoch,
                holder,
                retry_after,
            } => write!(
                f,
                "waiting for the books (epoch {epoch}): leased to peer {holder} for {retry_after:?} more"
            ),
            Self::StoreUnavailable { epoch, down } => write!(
                f,
                "the store failed (epoch {epoch}, for {down:?}): dropped what the last commit held, loading the books again"
            ),
            Self::CutOff { epoch, quiet } => write!(
                f,
                "heard from no other peer for {quiet:?}: giving up the term of epoch {epoch}"
            ),
            Self::Rejected { from, reason } => {
                write!(f, "refused a message from peer {from}: {reason}")
            }
        }
    }
}
