//! The invariants the simulator holds the market to, one function each.
//! Each returns `Err` with the [`Violation`] that broke.
//!
//! The market's own checks ([`Book::audit`], [`audit::check_receipts`],
//! [`audit::check_seller_credits`]) do the accounting; these functions
//! point them at what the simulator sees.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use bazaar_market::{Batch, Book, Match, Receipt, audit};
use bazaar_protocol::{Buy, Epoch, Money, PeerId, RequestId};

use super::Violation;

/// What a failed check says.
pub(crate) type Broken = Violation;

/// Clocks: a step that sent or received moved the peer's Lamport time
/// strictly forward; every send carries a fresh, increasing time; a
/// receive lands after the send.
pub(crate) fn clock(
    peer: PeerId,
    before: u64,
    after: u64,
    received: Option<u64>,
    sent: impl IntoIterator<Item = u64>,
) -> Result<(), Broken> {
    if let Some(remote) = received
        && after <= remote.max(before)
    {
        return Err(Violation::ClockReceive {
            peer,
            remote,
            after,
        });
    }
    let mut last = before;
    let mut sent_any = false;
    for time in sent {
        sent_any = true;
        if time <= last {
            return Err(Violation::ClockSend { peer, last, time });
        }
        last = time;
    }
    if after < last || (sent_any && after <= before) {
        return Err(Violation::ClockSend {
            peer,
            last: last.max(before),
            time: after,
        });
    }
    Ok(())
}

/// Goods, money and no double fill, on the store's books.
pub(crate) fn books(book: &Book) -> Result<(), Broken> {
    book.audit().map(drop).map_err(Violation::Books)
}

/// A buyer has received at most what the books say it bought, over all
/// its incarnations.
pub(crate) fn receipts(book: &Book, buyer: PeerId, receipt: &Receipt) -> Result<(), Broken> {
    let mine = BTreeMap::from([(buyer, receipt.clone())]);
    let sold = book
        .totals()
        .receipts
        .get(&buyer)
        .cloned()
        .unwrap_or_default();
    let market = BTreeMap::from([(buyer, sold)]);
    audit::check_receipts(&market, &mine, Match::AtMost).map_err(Violation::Receipts)
}

/// A seller holds at most the credits the books give it, over all its
/// incarnations.
pub(crate) fn credits(book: &Book, seller: PeerId, credits: Money) -> Result<(), Broken> {
    let mine = BTreeMap::from([(seller, credits)]);
    let earned = BTreeMap::from([(seller, book.credit(seller))]);
    audit::check_seller_credits(&earned, &mine, Match::AtMost).map_err(Violation::Credits)
}

/// What the store accepted, summed batch by batch as the simulator saw the
/// commits go through: the history the books' running totals must match,
/// kept apart from any store's own arithmetic.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accepted {
    sold: bazaar_market::Totals,
    credits: BTreeMap<PeerId, Money>,
    commission: Money,
    requests: u64,
    /// Each buyer's last request served.
    last_served: BTreeMap<PeerId, u64>,
}

impl Accepted {
    /// Adds one accepted batch; no request may be served twice, and a
    /// buyer's requests are served in the order it made them.
    pub(crate) fn add(&mut self, batch: &Batch) -> Result<(), Broken> {
        for served in &batch.served {
            let request = served.request;
            let last = self.last_served.insert(request.buyer, request.seq);
            if let Some(after) = last.filter(|&last| last >= request.seq) {
                return Err(Violation::ServedOutOfOrder { request, after });
            }
        }
        self.requests += batch.served.len() as u64;
        let summed = audit::ledger_totals(&batch.sales);
        for (key, units) in summed.sold {
            *self.sold.sold.entry(key).or_default() += units;
        }
        for (buyer, receipt) in summed.receipts {
            let mine = self.sold.receipts.entry(buyer).or_default();
            for (product, units) in receipt.goods {
                *mine.goods.entry(product).or_default() += units;
            }
            mine.paid += receipt.paid;
        }
        self.sold.sales += summed.sales;
        for sale in &batch.sales {
            *self.credits.entry(sale.seller()).or_default() += sale.credit;
            self.commission += sale.commission;
        }
        Ok(())
    }

    /// The store's books say what the accepted batches add up to.
    pub(crate) fn matches(&self, book: &Book) -> Result<(), Broken> {
        let totals = book.totals();
        let same = totals.receipts == self.sold.receipts
            && totals.sold == self.sold.sold
            && totals.sales == self.sold.sales
            && totals.requests == self.requests
            && book.credits() == &self.credits
            && book.commission() == self.commission;
        if same {
            return Ok(());
        }
        Err(Violation::BooksDisagree {
            held: (totals.requests, totals.sales, book.commission()),
            accepted: (self.requests, self.sold.sales, self.commission),
        })
    }
}

/// Every request a batch serves is one its buyer made, for what it asked.
pub(crate) fn asked(batch: &Batch, asked: &BTreeMap<RequestId, Buy>) -> Result<(), Broken> {
    for served in &batch.served {
        match asked.get(&served.request) {
            Some(buy) if buy.product == served.product && buy.quantity == served.requested => {}
            Some(buy) => {
                return Err(Violation::ServedOtherwise {
                    request: served.request,
                    served: (served.requested, served.product),
                    asked: (buy.quantity, buy.product),
                });
            }
            None => {
                return Err(Violation::ServedUnasked {
                    request: served.request,
                });
            }
        }
    }
    Ok(())
}

/// At most one trader per epoch: no two peers hold an open desk with the
/// same epoch.
pub(crate) fn one_trader_per_epoch(traders: &[(PeerId, Epoch)]) -> Result<(), Broken> {
    let mut seen: BTreeMap<Epoch, PeerId> = BTreeMap::new();
    for &(peer, epoch) in traders {
        if let Some(other) = seen.insert(epoch, peer) {
            let peers = (other, peer);
            return Err(Violation::TwoTraders { epoch, peers });
        }
    }
    Ok(())
}

/// Fencing: the store accepted a commit only from the newest epoch it had
/// opened, and each epoch's commits come from one peer.
pub(crate) fn fenced(
    peer: PeerId,
    epoch: Epoch,
    newest: Epoch,
    owners: &mut BTreeMap<Epoch, PeerId>,
) -> Result<(), Broken> {
    if epoch < newest {
        return Err(Violation::StaleCommit {
            peer,
            epoch,
            newest,
        });
    }
    match owners.insert(epoch, peer) {
        Some(other) if other != peer => Err(Violation::TwoCommitters {
            epoch,
            peers: (other, peer),
        }),
        _ => Ok(()),
    }
}

/// What liveness looks at in one live peer at the end of a run.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    pub(crate) id: PeerId,
    /// The trader it follows, or itself.
    pub(crate) leader: Option<(PeerId, Epoch)>,
    pub(crate) trading: bool,
    /// It resigned as trader since it last started, so a lower peer may
    /// lead.
    pub(crate) resigned: bool,
    /// Its buys not yet answered, with when each was first sent.
    pub(crate) unanswered: Vec<(RequestId, Duration)>,
}

/// Liveness, once faults have stopped: every live peer follows one trader
/// with one epoch; that trader trades and is the highest live peer that
/// has not resigned; no buy first sent before `deadline` is unanswered,
/// but the trader's own.
pub(crate) fn settled(peers: &[Settled], deadline: Duration) -> Result<(), Broken> {
    // A peer alone is cut off from every other: it gives up any term it
    // takes (nobody could trade with it anyway), and waits for company.
    if let [alone] = peers
        && alone.leader.is_none()
    {
        return Ok(());
    }
    let leaders: BTreeSet<Option<(PeerId, Epoch)>> = peers.iter().map(|p| p.leader).collect();
    let [Some((trader, epoch))] = leaders.iter().copied().collect::<Vec<_>>()[..] else {
        let views = peers.iter().map(|p| (p.id, p.leader)).collect();
        return Err(Violation::NoAgreement { views });
    };
    let Some(desk) = peers.iter().find(|p| p.id == trader) else {
        return Err(Violation::TraderDown { trader });
    };
    if !desk.trading {
        return Err(Violation::DeskShut { trader, epoch });
    }
    if let Some(higher) = peers.iter().find(|p| p.id > trader && !p.resigned) {
        let higher = higher.id;
        return Err(Violation::NotTheHighest { trader, higher });
    }
    // The trader's own buyer is paused while it trades (docs/ARCHITECTURE.md), so
    // its pending buy waits for the next term.
    for p in peers.iter().filter(|p| !p.trading) {
        if let Some((request, sent)) = p.unanswered.iter().find(|(_, sent)| *sent < deadline) {
            return Err(Violation::Unanswered {
                peer: p.id,
                request: *request,
                sent: *sent,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receive_must_land_after_its_send() {
        assert!(clock(PeerId(1), 3, 9, Some(8), []).is_ok());
        assert!(clock(PeerId(1), 3, 8, Some(8), []).is_err());
    }

    #[test]
    fn sends_must_tick_the_clock() {
        assert!(clock(PeerId(1), 3, 5, None, [4, 5]).is_ok());
        assert!(clock(PeerId(1), 3, 5, None, [4, 4]).is_err());
        assert!(clock(PeerId(1), 3, 3, None, [3]).is_err());
    }

    #[test]
    fn two_traders_in_one_epoch_are_caught() {
        assert!(one_trader_per_epoch(&[(PeerId(1), Epoch(5)), (PeerId(2), Epoch(6))]).is_ok());
        assert!(one_trader_per_epoch(&[(PeerId(1), Epoch(5)), (PeerId(2), Epoch(5))]).is_err());
    }

    #[test]
    fn a_commit_from_a_deposed_epoch_is_caught() {
        let mut owners = BTreeMap::new();
        assert!(fenced(PeerId(3), Epoch(8), Epoch(8), &mut owners).is_ok());
        assert!(fenced(PeerId(3), Epoch(7), Epoch(8), &mut owners).is_err());
        assert!(fenced(PeerId(2), Epoch(8), Epoch(8), &mut owners).is_err());
    }

    fn settled_peer(id: u32, leader: u32, epoch: u64) -> Settled {
        Settled {
            id: PeerId(id),
            leader: Some((PeerId(leader), Epoch(epoch))),
            trading: id == leader,
            resigned: false,
            unanswered: Vec::new(),
        }
    }

    #[test]
    fn liveness_wants_the_highest_live_peer_agreed_by_all() {
        let good = [settled_peer(1, 3, 6), settled_peer(3, 3, 6)];
        assert!(settled(&good, Duration::ZERO).is_ok());
        let split = [settled_peer(1, 3, 6), settled_peer(3, 3, 9)];
        assert!(settled(&split, Duration::ZERO).is_err());
        let low = [settled_peer(1, 1, 4), settled_peer(3, 1, 4)];
        assert!(settled(&low, Duration::ZERO).is_err());
        let mut resigned = low.clone();
        resigned[1].resigned = true;
        assert!(settled(&resigned, Duration::ZERO).is_ok());
    }

    #[test]
    fn an_old_unanswered_buy_fails_liveness() {
        let mut peers = [settled_peer(1, 3, 6), settled_peer(3, 3, 6)];
        let request = RequestId {
            buyer: PeerId(1),
            seq: 1,
        };
        peers[0].unanswered.push((request, Duration::from_secs(1)));
        assert!(settled(&peers, Duration::from_secs(1)).is_ok());
        assert!(settled(&peers, Duration::from_secs(2)).is_err());
    }
}
