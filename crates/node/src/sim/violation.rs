//! What the simulator found broken: one variant per invariant, carrying
//! the data that broke it. Tests match on variants; the words are for
//! people.

use std::{fmt, time::Duration};

use bazaar_market::Violation as MarketViolation;
use bazaar_protocol::{Buy, Epoch, Money, PeerId, Product, Quantity, RequestId};

use crate::Reject;

/// A broken invariant of docs/ARCHITECTURE.md, as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A receive did not land after its send.
    ClockReceive {
        /// The receiving peer.
        peer: PeerId,
        /// The sender's time.
        remote: u64,
        /// The receiver's time after the step.
        after: u64,
    },
    /// A send did not carry a fresh, increasing time, or the clock fell
    /// behind what it sent.
    ClockSend {
        /// The sending peer.
        peer: PeerId,
        /// The time before the send.
        last: u64,
        /// The time it sent at, or its clock after the step.
        time: u64,
    },
    /// The store's books fail their own audit (goods, money, no double
    /// fill).
    Books(MarketViolation),
    /// The store's books disagree with the sum of the batches it accepted.
    BooksDisagree {
        /// Requests, sales and commission the books hold.
        held: (u64, u64, Money),
        /// Requests, sales and commission the accepted batches add up to.
        accepted: (u64, u64, Money),
    },
    /// The store refused a trader's batch as not fitting its books: the
    /// trader's books had drifted from the store's.
    BatchRejected {
        /// The trader.
        peer: PeerId,
        /// Its epoch.
        epoch: Epoch,
        /// The store's words.
        detail: String,
    },
    /// A buyer received more than the ledger says it bought.
    Receipts(MarketViolation),
    /// A seller holds more credit than the ledger gives it.
    Credits(MarketViolation),
    /// A buyer's request was served after a later one of its own (or
    /// twice).
    ServedOutOfOrder {
        /// The request served.
        request: RequestId,
        /// The buyer's request served before it.
        after: u64,
    },
    /// A batch served a request its buyer never made.
    ServedUnasked {
        /// The request.
        request: RequestId,
    },
    /// A batch served a request as something else than what was asked.
    ServedOtherwise {
        /// The request.
        request: RequestId,
        /// What was served.
        served: (Quantity, Product),
        /// What the buyer asked for.
        asked: (Quantity, Product),
    },
    /// A buyer reused a request id for another buy.
    RequestReused {
        /// The buyer's buy as sent now.
        now: Buy,
        /// The buy first sent under the id.
        first: Buy,
    },
    /// Two peers hold an open desk in one epoch.
    TwoTraders {
        /// The epoch.
        epoch: Epoch,
        /// The two peers.
        peers: (PeerId, PeerId),
    },
    /// The store took a commit of an epoch older than one it had opened.
    StaleCommit {
        /// The committing peer.
        peer: PeerId,
        /// Its epoch.
        epoch: Epoch,
        /// The newest epoch the store had opened.
        newest: Epoch,
    },
    /// Two peers committed in one epoch.
    TwoCommitters {
        /// The epoch.
        epoch: Epoch,
        /// The two peers.
        peers: (PeerId, PeerId),
    },
    /// Once faults stopped, the live peers did not agree on one trader.
    NoAgreement {
        /// Each live peer and the trader it follows.
        views: Vec<(PeerId, Option<(PeerId, Epoch)>)>,
    },
    /// Every live peer follows a trader that is down.
    TraderDown {
        /// The trader.
        trader: PeerId,
    },
    /// The agreed trader's desk is not open.
    DeskShut {
        /// The trader.
        trader: PeerId,
        /// Its epoch.
        epoch: Epoch,
    },
    /// A lower peer trades while a higher one lives (and has not
    /// resigned).
    NotTheHighest {
        /// The trader.
        trader: PeerId,
        /// A live higher peer.
        higher: PeerId,
    },
    /// A buy sent long before the end is still unanswered.
    Unanswered {
        /// The buyer.
        peer: PeerId,
        /// The request.
        request: RequestId,
        /// When it was first sent.
        sent: Duration,
    },
    /// An election storm: from a quiet start or a heal, more new traders
    /// announced themselves than a bully election needs before one stood.
    Storm {
        /// Announcements made.
        announcements: u32,
        /// The quiet moment counted from (the start, or a heal).
        since: Duration,
    },
    /// A peer refused a message from another: in a market of honest peers
    /// over a network that only loses, delays and duplicates, none should.
    Refused {
        /// The peer that refused.
        peer: PeerId,
        /// The sender.
        from: PeerId,
        /// Why.
        reason: Reject,
    },
    /// The store failed in a way no fault was drawn for.
    Store {
        /// The peer whose call failed, if any.
        peer: Option<PeerId>,
        /// The store's words.
        detail: String,
    },
}

impl Violation {
    /// The invariant's family, as the first word of the sentence: `clock`,
    /// `books`, `receipts`, `credits`, `fills`, `requests`, `election`,
    /// `fencing`, `liveness`, `protocol` or `store`.
    pub const fn family(&self) -> &'static str {
        match self {
            Self::ClockReceive { .. } | Self::ClockSend { .. } => "clock",
            Self::Books(_) | Self::BooksDisagree { .. } | Self::BatchRejected { .. } => "books",
            Self::Receipts(_) => "receipts",
            Self::Credits(_) => "credits",
            Self::ServedOutOfOrder { .. } => "fills",
            Self::ServedUnasked { .. }
            | Self::ServedOtherwise { .. }
            | Self::RequestReused { .. } => "requests",
            Self::TwoTraders { .. } => "election",
            Self::StaleCommit { .. } | Self::TwoCommitters { .. } => "fencing",
            Self::NoAgreement { .. }
            | Self::TraderDown { .. }
            | Self::DeskShut { .. }
            | Self::NotTheHighest { .. }
            | Self::Unanswered { .. }
            | Self::Storm { .. } => "liveness",
            Self::Refused { .. } => "protocol",
            Self::Store { .. } => "store",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.family())?;
        match self {
            Self::ClockReceive { .. } | Self::ClockSend { .. } => self.fmt_clock(f),
            Self::Books(v) | Self::Receipts(v) | Self::Credits(v) => write!(f, "{v}"),
            Self::BooksDisagree { .. } | Self::BatchRejected { .. } => self.fmt_books(f),
            Self::ServedOutOfOrder { .. }
            | Self::ServedUnasked { .. }
            | Self::ServedOtherwise { .. }
            | Self::RequestReused { .. } => self.fmt_requests(f),
            Self::TwoTraders { .. } | Self::StaleCommit { .. } | Self::TwoCommitters { .. } => {
                self.fmt_terms(f)
            }
            Self::NoAgreement { .. }
            | Self::TraderDown { .. }
            | Self::DeskShut { .. }
            | Self::NotTheHighest { .. }
            | Self::Unanswered { .. }
            | Self::Storm { .. } => self.fmt_liveness(f),
            Self::Refused { peer, from, reason } => {
                write!(
                    f,
                    "peer {peer} refused a message from peer {from}: {reason:?}"
                )
            }
            Self::Store { peer, detail } => match peer {
                Some(peer) => write!(f, "peer {peer}: {detail}"),
                None => f.write_str(detail),
            },
        }
    }
}

/// The sentences of each kind of violation, after its family's name.
impl Violation {
    fn fmt_clock(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClockReceive {
                peer,
                remote,
                after,
            } => write!(
                f,
                "peer {peer} received a message sent at {remote} and its clock only reached {after}"
            ),
            Self::ClockSend { peer, last, time } => {
                write!(f, "peer {peer} stood at time {time} after time {last}")
            }
            other => unreachable!("not a clock violation: {other:?}"),
        }
    }

    fn fmt_books(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BooksDisagree { held, accepted } => write!(
                f,
                "the store holds {} requests, {} sales, commission {}; the batches it \
                 accepted add up to {} requests, {} sales, commission {}",
                held.0, held.1, held.2, accepted.0, accepted.1, accepted.2
            ),
            Self::BatchRejected {
                peer,
                epoch,
                detail,
            } => write!(
                f,
                "the store refused a batch of peer {peer} at epoch {epoch}: {detail}"
            ),
            other => unreachable!("not a violation of the store's books: {other:?}"),
        }
    }

    fn fmt_requests(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServedOutOfOrder { request, after } => write!(
                f,
                "{request} was served after request {after} of the same buyer"
            ),
            Self::ServedUnasked { request } => {
                write!(f, "{request} was served but its buyer never made it")
            }
            Self::ServedOtherwise {
                request,
                served,
                asked,
            } => write!(
                f,
                "{request} was served as {} {} but the buyer asked for {} {}",
                served.0, served.1, asked.0, asked.1
            ),
            Self::RequestReused { now, first } => write!(
                f,
                "{} was reused for {} {} (first sent for {} {})",
                now.id, now.quantity, now.product, first.quantity, first.product
            ),
            other => unreachable!("not a violation of requests: {other:?}"),
        }
    }

    fn fmt_terms(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TwoTraders { epoch, peers } => {
                write!(
                    f,
                    "peers {} and {} both trade in epoch {epoch}",
                    peers.0, peers.1
                )
            }
            Self::StaleCommit {
                peer,
                epoch,
                newest,
            } => write!(
                f,
                "the store took a commit of epoch {epoch} from peer {peer} after epoch \
                 {newest} opened it"
            ),
            Self::TwoCommitters { epoch, peers } => write!(
                f,
                "peers {} and {} both committed in epoch {epoch}",
                peers.0, peers.1
            ),
            other => unreachable!("not a violation of one trader or committer per term: {other:?}"),
        }
    }

    fn fmt_liveness(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAgreement { views } => {
                f.write_str("no agreement:")?;
                for (i, (peer, leader)) in views.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    match leader {
                        Some((l, e)) => write!(f, "{sep}peer {peer} follows {l} (epoch {e})")?,
                        None => write!(f, "{sep}peer {peer} follows nobody")?,
                    }
                }
                Ok(())
            }
            Self::TraderDown { trader } => {
                write!(f, "every live peer follows peer {trader}, which is down")
            }
            Self::DeskShut { trader, epoch } => {
                write!(
                    f,
                    "peer {trader} leads epoch {epoch} but its desk is not open"
                )
            }
            Self::NotTheHighest { trader, higher } => {
                write!(
                    f,
                    "peer {trader} trades while peer {higher} is live and higher"
                )
            }
            Self::Unanswered {
                peer,
                request,
                sent,
            } => write!(
                f,
                "peer {peer}'s {request}, first sent at {sent:?}, is still unanswered"
            ),
            Self::Storm {
                announcements,
                since,
            } => write!(
                f,
                "an election storm: {announcements} traders announced themselves since \
                 {since:?} before one stood"
            ),
            other => unreachable!("not a liveness violation: {other:?}"),
        }
    }
}

impl std::error::Error for Violation {}
