//! What goes into a peer and what comes out of it.

use std::time::Duration;

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
    /// The store refused or failed the commit asked for by
    /// [`Action::Commit`]: nothing it held may leave.
    CommitFailed {
        /// The commit.
        commit: CommitId,
        /// Why.
        failure: StoreFailure,
    },
    /// The store refused or failed a load of the books or a renewal of the
    /// lease of `epoch` (a commit's failure is [`Input::CommitFailed`]: the
    /// peer must know which call failed, since a commit in flight beside a
    /// failed renewal may still land).
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

/// Names one commit of a trader, so that its answer finds the sends it
/// holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitId(pub u64);

/// Why a peer refused a frame or a request: an error of the input, which
/// changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// The bytes are not an envelope.
    #[error("malformed frame: {0}")]
    Malformed(CodecError),
    /// The sender is not a peer of this cluster.
    #[error("not a peer of this cluster")]
    Stranger,
    /// The envelope names another sender than the transport authenticated.
    #[error("envelope claims to be from peer {claimed}")]
    Impersonation {
        /// Who the envelope claims to be from.
        claimed: PeerId,
    },
    /// The trader refused an offer or a buy (one in another peer's name).
    #[error("{0}")]
    Market(MarketError),
    /// The election refused an epoch no honest peer sends (or, from this
    /// peer itself, a claim past the last epoch).
    #[error("epoch {epoch} refused: {reason}")]
    Epoch {
        /// The epoch refused.
        epoch: Epoch,
        /// Why.
        reason: Refusal,
    },
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
    /// or [`Input::CommitFailed`]. Its replies wait until then.
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

/// What happened, for logs and statistics: values, not words. The
/// application that embeds the peer words its log lines; `Debug` shows an
/// event whole, as the simulator's trace does.
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
        /// How long the store has been failing, as this peer has seen it
        /// across its terms: zero at the first failure of an outage.
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
