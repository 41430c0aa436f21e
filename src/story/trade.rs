//! The lines of buying and selling: the lab's sale line, a buyer's asks
//! and answers, a seller's offers and credits.

use std::fmt::Write as _;

use bazaar_node::Event;
use bazaar_protocol::{Fill, Money, PeerId};

use super::Loudness;
use crate::stats::human;

/// The line of a trade event of `peer`'s.
pub(super) fn line(peer: PeerId, event: &Event) -> (Loudness, String) {
    match event {
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
        other => unreachable!("not a trade event: {other:?}"),
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
