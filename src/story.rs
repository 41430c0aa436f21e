//! What a `bazaar node` says as it runs: one line per event of its peer, in
//! the market's words. The trader's two lab lines are kept exactly:
//! `peer 3 bought 4 fish from peer 2` and `Dear buyers and sellers, My ID
//! is 6, and I am the new coordinator`.

use std::fmt::Write as _;

use bazaar_node::{Event, runtime::Report};
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

/// The line for one report, and how loud it is.
pub fn line(report: &Report) -> (Loudness, String) {
    let peer = report.peer;
    match &report.event {
        e @ (Event::Coordinator { .. } | Event::Sold(_)) => (Loudness::Lab, e.to_string()),
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
            format!("peer {peer} starts an election: {cause}"),
        ),
        e @ Event::SteppedDown { .. } => (Loudness::Story, format!("peer {peer} {e}")),
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
        e @ (Event::DeskClosed { .. }
        | Event::Rejected { .. }
        | Event::StoreUnavailable { .. }
        | Event::CutOff { .. }) => (Loudness::Problem, format!("peer {peer}: {e}")),
        e @ (Event::BooksReloaded { .. } | Event::BooksLeased { .. }) => {
            (Loudness::Story, format!("peer {peer} {e}"))
        }
        e @ Event::Committed { .. } => (Loudness::Detail, format!("peer {peer}: {e}")),
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

    use bazaar_node::ElectionCause;
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
