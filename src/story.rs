//! What a `bazaar node` says as it runs: one line per event of its peer, in
//! the market's words. The trader's two lab lines are kept exactly:
//! `peer 3 bought 4 fish from peer 2` and `Dear buyers and sellers, My ID
//! is 6, and I am the new coordinator`. Every line is worded here: the
//! library's events carry values, not words (a refusal's reason, an error,
//! brings its own message).

use std::fmt::Write as _;

use bazaar_node::{ElectionCause, Event, StoreFailure, runtime::Report};
use bazaar_protocol::{Fill, Money};

use crate::stats::human;

/// How loud a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loudness {
    /// One of the lab's lines: printed even with `-q`.
    Lab,
    /// The peer's own story: printed unless `-q`.
    Story,
    /// Something went wrong: always printed, as a warning.
    Problem,
    /// Detail for `RUST_LOG=debug`.
    Detail,
}

/// The line for one report, and how loud it is. Every line a peer's
/// events make is worded here, and only here.
pub fn line(report: &Report) -> (Loudness, String) {
    let peer = report.peer;
    match &report.event {
        Event::Coordinator { id, .. } => (
            Loudness::Lab,
            format!("Dear buyers and sellers, My ID is {id}, and I am the new coordinator"),
        ),
        Event::Sold(entry) => (
            Loudness::Lab,
            format!(
                "peer {} bought {} {} from peer {}",
                entry.buyer(),
                entry.quantity,
                entry.product,
                entry.seller()
            ),
        ),
        Event::Asked {
            request,
            product,
            quantity,
            trader,
        } => (
            Loudness::Story,
            format!("peer {peer} asks trader {trader} for {quantity} {product} ({request})"),
        ),
        Event::Answered {
            request,
            product,
            filled: 0,
            latency,
            ..
        } => (
            Loudness::Story,
            format!(
                "peer {peer} was told {product} is out of stock ({request}, answered in {})",
                human(*latency)
            ),
        ),
        Event::Answered {
            request,
            product,
            requested,
            filled,
            fills,
            latency,
        } => {
            let mut text = format!("peer {peer} got {filled}");
            if filled < requested {
                let _ = write!(text, " of {requested}");
            }
            let paid: Money = fills.iter().map(|f| f.unit_price * f.quantity).sum();
            let _ = write!(
                text,
                " {product} from {}, paid {paid}, in {} ({request})",
                sources(fills),
                human(*latency)
            );
            (Loudness::Story, text)
        }
        Event::GaveUp { product } => (
            Loudness::Story,
            format!("peer {peer} gives up on {product}: out of stock too often in a row"),
        ),
        Event::Offered { offer, trader } => (
            Loudness::Story,
            format!(
                "peer {peer} offers {} {} to trader {trader} ({})",
                offer.quantity, offer.product, offer.id
            ),
        ),
        Event::Credited(notice) => (
            Loudness::Story,
            format!(
                "peer {peer} sold {} {} to peer {}, credited {}",
                notice.quantity, notice.product, notice.request.buyer, notice.credit
            ),
        ),
        Event::Following { trader, epoch } => (
            Loudness::Story,
            format!("peer {peer} follows trader {trader} from epoch {epoch}"),
        ),
        Event::ElectionStarted { cause, .. } => (
            Loudness::Story,
            format!("peer {peer} starts an election: {}", why(*cause)),
        ),
        Event::SteppedDown {
            epoch,
            resigned: true,
        } => (
            Loudness::Story,
            format!("peer {peer} resigned as trader of epoch {epoch}"),
        ),
        Event::SteppedDown {
            epoch,
            resigned: false,
        } => (
            Loudness::Story,
            format!("peer {peer} stepped down as trader of epoch {epoch}"),
        ),
        Event::OutageBegan { peer: other } => (
            Loudness::Story,
            format!("peer {peer} cannot reach peer {other}"),
        ),
        Event::OutageEnded {
            peer: other,
            lasted,
        } => (
            Loudness::Story,
            format!(
                "peer {peer} reaches peer {other} again, after {}",
                human(*lasted)
            ),
        ),
        Event::DeskClosed { epoch, failure } => (
            Loudness::Problem,
            format!(
                "peer {peer}: deposed: the store refused epoch {epoch}: {}",
                refusal(*failure)
            ),
        ),
        // The reason is an error's message (`Reject` is an error type).
        Event::Rejected { from, reason } => (
            Loudness::Problem,
            format!("peer {peer}: refused a message from peer {from}: {reason}"),
        ),
        // Said once an outage: its first failure (the trader retries every
        // heartbeat interval; the retries are detail).
        Event::StoreUnavailable { epoch, down } if down.is_zero() => (
            Loudness::Problem,
            format!(
                "peer {peer}: the store failed (epoch {epoch}): dropped what the last commit \
                 held, loading the books again until it answers"
            ),
        ),
        Event::StoreUnavailable { epoch, down } => (
            Loudness::Detail,
            format!("peer {peer}: the store still fails (epoch {epoch}, for {down:?})"),
        ),
        Event::CutOff { epoch, quiet } => (
            Loudness::Problem,
            format!(
                "peer {peer}: heard from no other peer for {quiet:?}: giving up the term of \
                 epoch {epoch}"
            ),
        ),
        Event::BooksReloaded { epoch } => (
            Loudness::Story,
            format!("peer {peer} reloaded the books of epoch {epoch} from the store"),
        ),
        Event::BooksLeased {
            epoch,
            holder,
            retry_after,
        } => (
            Loudness::Story,
            format!(
                "peer {peer} waiting for the books (epoch {epoch}): leased to peer {holder} for \
                 {retry_after:?} more"
            ),
        ),
        Event::Committed { commit, latency } => (
            Loudness::Detail,
            format!("peer {peer}: commit {} durable in {latency:?}", commit.0),
        ),
    }
}

/// Why a peer starts an election, as its line ends.
fn why(cause: ElectionCause) -> String {
    match cause {
        ElectionCause::StartUp => "it has just started".into(),
        ElectionCause::TraderSilent { trader } => {
            format!("trader {trader} stopped sending heartbeats")
        }
        ElectionCause::TraderUnreachable { trader } => format!("trader {trader} is unreachable"),
        ElectionCause::RequestUnanswered { trader } => {
            format!("trader {trader} left a request unanswered")
        }
        ElectionCause::TraderResigned { trader } => format!("trader {trader} resigned"),
        ElectionCause::NoSuccessor => "it resigned and nobody took over".into(),
        ElectionCause::Reconnected => "it hears from other peers again after being cut off".into(),
        ElectionCause::LowerPeerCalled { by } => format!("lower peer {by} called an election"),
        ElectionCause::LowerPeerClaimed { by } => {
            format!("lower peer {by} claimed to be the coordinator")
        }
        ElectionCause::NoAnnouncement => "a higher peer answered but never announced itself".into(),
        ElectionCause::NewerEpoch { epoch } => format!("it learned of the newer epoch {epoch}"),
        ElectionCause::Fenced { newest } => format!("the store has seen epoch {newest}"),
    }
}

/// Why the store refused or failed a trader's call, as its line ends.
fn refusal(failure: StoreFailure) -> String {
    match failure {
        StoreFailure::Fenced { newest } => format!("the store has seen epoch {newest}"),
        StoreFailure::Leased {
            holder,
            retry_after,
        } => format!("the books are leased to peer {holder} for {retry_after:?} more"),
        StoreFailure::Unavailable => "the store is unavailable".into(),
        StoreFailure::Corrupt => "the stored books are damaged".into(),
    }
}

/// Logs one report: the lab's lines always, the story unless `quiet`,
/// problems as warnings, detail at debug level.
pub fn tell(report: &Report, quiet: bool) {
    match line(report) {
        (Loudness::Lab, text) => tracing::info!("{text}"),
        (Loudness::Story, text) if !quiet => tracing::info!("{text}"),
        (Loudness::Problem, text) => tracing::warn!("{text}"),
        (Loudness::Story | Loudness::Detail, text) => tracing::debug!("{text}"),
    }
}

/// `peer 2` or `peer 2 (3) and peer 4 (1)`.
fn sources(fills: &[Fill]) -> String {
    match fills {
        [one] => format!("peer {}", one.seller),
        many => {
            let parts: Vec<String> = many
                .iter()
                .map(|f| format!("peer {} ({})", f.seller, f.quantity))
                .collect();
            parts.join(" and ")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bazaar_protocol::{PeerId, Product, RequestId};

    use super::*;

    fn report(event: Event) -> Report {
        Report {
            peer: PeerId(1),
            event,
        }
    }

    const REQUEST: RequestId = RequestId {
        buyer: PeerId(1),
        seq: 7,
    };

    #[test]
    fn a_buy_filled_by_two_sellers_names_both() {
        let fill = |seller, quantity| Fill {
            seller: PeerId(seller),
            quantity,
            unit_price: Money::units(10),
        };
        let answered = Event::Answered {
            request: REQUEST,
            product: Product::Fish,
            requested: 5,
            filled: 4,
            fills: vec![fill(2, 3), fill(4, 1)],
            latency: Duration::from_micros(1_250),
        };
        assert_eq!(
            line(&report(answered)),
            (
                Loudness::Story,
                "peer 1 got 4 of 5 fish from peer 2 (3) and peer 4 (1), paid 40.00, in 1.25ms (buy 1#7)"
                    .into()
            )
        );
    }

    #[test]
    fn out_of_stock_says_so() {
        let answered = Event::Answered {
            request: REQUEST,
            product: Product::Salt,
            requested: 5,
            filled: 0,
            fills: vec![],
            latency: Duration::from_micros(850),
        };
        assert_eq!(
            line(&report(answered)).1,
            "peer 1 was told salt is out of stock (buy 1#7, answered in 850µs)"
        );
    }

    #[test]
    fn an_election_says_why() {
        let started = Event::ElectionStarted {
            cause: ElectionCause::TraderUnreachable { trader: PeerId(6) },
            epoch: bazaar_protocol::Epoch(3),
        };
        assert_eq!(
            line(&report(started)).1,
            "peer 1 starts an election: trader 6 is unreachable"
        );
    }

    /// Every event's line, word for word: what the operators know.
    #[test]
    fn every_event_has_its_one_line() {
        use bazaar_market::{LedgerEntry, MarketError};
        use bazaar_node::{CommitId, Reject};
        use bazaar_protocol::{CodecError, Epoch, Offer, OfferId, SaleNotice};

        let epoch = Epoch(9);
        let ms = Duration::from_millis;
        let offer = Offer {
            id: OfferId {
                seller: PeerId(1),
                seq: 2,
            },
            product: Product::Boar,
            quantity: 3,
        };
        let started = |cause| Event::ElectionStarted { cause, epoch };
        let closed = |failure| Event::DeskClosed { epoch, failure };
        let rejected = |reason| Event::Rejected {
            from: PeerId(6),
            reason,
        };
        let cases = [
            (
                Event::Sold(LedgerEntry {
                    request: RequestId {
                        buyer: PeerId(3),
                        seq: 1,
                    },
                    offer: OfferId {
                        seller: PeerId(2),
                        seq: 1,
                    },
                    product: Product::Fish,
                    quantity: 4,
                    unit_price: Money::units(10),
                    credit: Money(3_600),
                    commission: Money(400),
                }),
                Loudness::Lab,
                "peer 3 bought 4 fish from peer 2",
            ),
            (
                Event::Following {
                    trader: PeerId(6),
                    epoch,
                },
                Loudness::Story,
                "peer 1 follows trader 6 from epoch 9",
            ),
            (
                Event::Asked {
                    request: REQUEST,
                    product: Product::Salt,
                    quantity: 5,
                    trader: PeerId(6),
                },
                Loudness::Story,
                "peer 1 asks trader 6 for 5 salt (buy 1#7)",
            ),
            (
                Event::GaveUp {
                    product: Product::Boar,
                },
                Loudness::Story,
                "peer 1 gives up on boar: out of stock too often in a row",
            ),
            (
                Event::Offered {
                    offer,
                    trader: PeerId(6),
                },
                Loudness::Story,
                "peer 1 offers 3 boar to trader 6 (offer 1#2)",
            ),
            (
                Event::Credited(SaleNotice {
                    request: RequestId {
                        buyer: PeerId(3),
                        seq: 4,
                    },
                    product: Product::Salt,
                    quantity: 3,
                    credit: Money(1_350),
                }),
                Loudness::Story,
                "peer 1 sold 3 salt to peer 3, credited 13.50",
            ),
            (
                started(ElectionCause::StartUp),
                Loudness::Story,
                "peer 1 starts an election: it has just started",
            ),
            (
                started(ElectionCause::TraderSilent { trader: PeerId(6) }),
                Loudness::Story,
                "peer 1 starts an election: trader 6 stopped sending heartbeats",
            ),
            (
                started(ElectionCause::RequestUnanswered { trader: PeerId(6) }),
                Loudness::Story,
                "peer 1 starts an election: trader 6 left a request unanswered",
            ),
            (
                started(ElectionCause::TraderResigned { trader: PeerId(6) }),
                Loudness::Story,
                "peer 1 starts an election: trader 6 resigned",
            ),
            (
                started(ElectionCause::NoSuccessor),
                Loudness::Story,
                "peer 1 starts an election: it resigned and nobody took over",
            ),
            (
                started(ElectionCause::Reconnected),
                Loudness::Story,
                "peer 1 starts an election: it hears from other peers again after being cut off",
            ),
            (
                started(ElectionCause::LowerPeerCalled { by: PeerId(2) }),
                Loudness::Story,
                "peer 1 starts an election: lower peer 2 called an election",
            ),
            (
                started(ElectionCause::LowerPeerClaimed { by: PeerId(2) }),
                Loudness::Story,
                "peer 1 starts an election: lower peer 2 claimed to be the coordinator",
            ),
            (
                started(ElectionCause::NoAnnouncement),
                Loudness::Story,
                "peer 1 starts an election: a higher peer answered but never announced itself",
            ),
            (
                started(ElectionCause::NewerEpoch { epoch: Epoch(14) }),
                Loudness::Story,
                "peer 1 starts an election: it learned of the newer epoch 14",
            ),
            (
                started(ElectionCause::Fenced { newest: Epoch(14) }),
                Loudness::Story,
                "peer 1 starts an election: the store has seen epoch 14",
            ),
            (
                Event::SteppedDown {
                    epoch,
                    resigned: true,
                },
                Loudness::Story,
                "peer 1 resigned as trader of epoch 9",
            ),
            (
                Event::SteppedDown {
                    epoch,
                    resigned: false,
                },
                Loudness::Story,
                "peer 1 stepped down as trader of epoch 9",
            ),
            (
                Event::OutageBegan { peer: PeerId(2) },
                Loudness::Story,
                "peer 1 cannot reach peer 2",
            ),
            (
                Event::OutageEnded {
                    peer: PeerId(2),
                    lasted: ms(1_500),
                },
                Loudness::Story,
                "peer 1 reaches peer 2 again, after 1.50s",
            ),
            (
                closed(StoreFailure::Fenced { newest: Epoch(14) }),
                Loudness::Problem,
                "peer 1: deposed: the store refused epoch 9: the store has seen epoch 14",
            ),
            (
                closed(StoreFailure::Leased {
                    holder: PeerId(5),
                    retry_after: ms(120),
                }),
                Loudness::Problem,
                "peer 1: deposed: the store refused epoch 9: the books are leased to peer 5 for 120ms more",
            ),
            (
                closed(StoreFailure::Unavailable),
                Loudness::Problem,
                "peer 1: deposed: the store refused epoch 9: the store is unavailable",
            ),
            (
                closed(StoreFailure::Corrupt),
                Loudness::Problem,
                "peer 1: deposed: the store refused epoch 9: the stored books are damaged",
            ),
            (
                rejected(Reject::Malformed(CodecError::Empty)),
                Loudness::Problem,
                "peer 1: refused a message from peer 6: malformed frame: empty message: no bytes to decode",
            ),
            (
                rejected(Reject::Stranger),
                Loudness::Problem,
                "peer 1: refused a message from peer 6: not a peer of this cluster",
            ),
            (
                rejected(Reject::Impersonation { claimed: PeerId(2) }),
                Loudness::Problem,
                "peer 1: refused a message from peer 6: envelope claims to be from peer 2",
            ),
            (
                rejected(Reject::Market(MarketError::NotOwnMessage {
                    from: PeerId(6),
                    owner: PeerId(2),
                })),
                Loudness::Problem,
                "peer 1: refused a message from peer 6: peer 6 sent a message in the name of peer 2",
            ),
            (
                Event::StoreUnavailable {
                    epoch,
                    down: Duration::ZERO,
                },
                Loudness::Problem,
                "peer 1: the store failed (epoch 9): dropped what the last commit held, loading the books again until it answers",
            ),
            (
                Event::StoreUnavailable {
                    epoch,
                    down: ms(40),
                },
                Loudness::Detail,
                "peer 1: the store still fails (epoch 9, for 40ms)",
            ),
            (
                Event::CutOff {
                    epoch,
                    quiet: ms(250),
                },
                Loudness::Problem,
                "peer 1: heard from no other peer for 250ms: giving up the term of epoch 9",
            ),
            (
                Event::BooksReloaded { epoch },
                Loudness::Story,
                "peer 1 reloaded the books of epoch 9 from the store",
            ),
            (
                Event::BooksLeased {
                    epoch,
                    holder: PeerId(5),
                    retry_after: ms(120),
                },
                Loudness::Story,
                "peer 1 waiting for the books (epoch 9): leased to peer 5 for 120ms more",
            ),
            (
                Event::Committed {
                    commit: CommitId(17),
                    latency: Duration::from_micros(1_250),
                },
                Loudness::Detail,
                "peer 1: commit 17 durable in 1.25ms",
            ),
        ];
        for (event, loudness, text) in cases {
            assert_eq!(line(&report(event)), (loudness, text.to_owned()));
        }
    }

    #[test]
    fn the_lab_lines_stay_as_the_lab_wrote_them() {
        let coordinator = Event::Coordinator {
            id: PeerId(6),
            epoch: bazaar_protocol::Epoch(3),
        };
        assert_eq!(
            line(&report(coordinator)),
            (
                Loudness::Lab,
                "Dear buyers and sellers, My ID is 6, and I am the new coordinator".into()
            )
        );
    }
}
