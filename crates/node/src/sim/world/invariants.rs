//! The checks the world makes of its peers after each step and at the end:
//! accounts against the ledger, one trader per epoch, no election storm,
//! and liveness once the faults stop.

use std::time::Duration;

use bazaar_protocol::{Epoch, Money, PeerId};

use super::{World, add_receipt};
use crate::sim::{
    Faults, Violation,
    check::{self, Broken, Settled},
};

/// Announcements counted from a quiet moment (the start, a heal) until one
/// trader stands. A bully election needs one; a peer that claims before
/// the highest has started makes two.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StormWatch {
    since: Duration,
    announcements: u32,
}

/// The most announcements a quiet moment may lead to.
const MOST_ANNOUNCEMENTS: u32 = 2;

impl StormWatch {
    /// A watch from the quiet moment `since` (the start, or a heal), on a
    /// network that keeps the election's timing assumption: it loses no
    /// message, and a round trip takes less than the alive timeout. Beyond
    /// it a lost or late `Alive` makes a lower peer claim, as the bully
    /// algorithm must, and no bound holds. At the start, connection set-up
    /// is not exempt: however long a handshake takes, it must not cause a
    /// storm. After a heal, handshakes must come up within the alive
    /// timeout: two traders of two sides, each with followers that gossip
    /// its epoch across links still coming up, can make three
    /// announcements (seed 14894 of 5 peers, with 150 ms handshakes).
    pub(crate) fn from(since: Duration, faults: &Faults, after_heal: bool) -> Option<Self> {
        let alive = crate::Timing::default().election.alive_timeout;
        let timely = faults.loss == 0.0
            && faults.max_delay * 2 < alive
            && (!after_heal || faults.handshake < alive);
        timely.then_some(Self {
            since,
            announcements: 0,
        })
    }

    /// A new trader announced itself.
    pub(crate) fn announced(&mut self) -> Result<(), Broken> {
        self.announcements += 1;
        if self.announcements > MOST_ANNOUNCEMENTS {
            return Err(Violation::Storm {
                announcements: self.announcements,
                since: self.since,
            });
        }
        Ok(())
    }
}

impl World {
    /// Receipts and credits of `peer`, over all its incarnations, against the
    /// ledger: only when they changed (what it paid, what it was
    /// credited), since the ledger only grows.
    pub(super) fn check_accounts(&mut self, peer: PeerId) -> Result<(), Broken> {
        let node = self.node(peer);
        let Some(p) = node.driver.as_ref().map(crate::Driver::peer) else {
            return Ok(());
        };
        let paid = p.buyer().map_or(Money::ZERO, |b| b.receipt().paid);
        let credits = p.seller().map_or(Money::ZERO, |s| s.credits());
        if node.checked == (paid, credits) {
            return Ok(());
        }
        if node.checked.0 != paid {
            let mut receipt = node.past_receipt.clone();
            if let Some(buyer) = p.buyer() {
                add_receipt(&mut receipt, buyer.receipt());
            }
            check::receipts(&self.book, peer, &receipt)?;
        }
        if node.checked.1 != credits {
            check::credits(&self.book, peer, node.past_credits + credits)?;
        }
        self.node_mut(peer).checked = (paid, credits);
        Ok(())
    }

    pub(super) fn check_traders(&self) -> Result<(), Broken> {
        let traders: Vec<(PeerId, Epoch)> = self
            .nodes
            .iter()
            .filter_map(|n| Some(n.driver.as_ref()?.peer()))
            .filter(|p| p.is_trading())
            .filter_map(crate::Peer::trader)
            .collect();
        check::one_trader_per_epoch(&traders)
    }

    /// While a storm is watched for: once every live peer follows one
    /// trader that trades, the watch ends.
    pub(super) fn check_storm(&mut self) -> Result<(), Broken> {
        if self.storm.is_none() {
            return Ok(());
        }
        let mut views = self
            .nodes
            .iter()
            .filter_map(|n| n.driver.as_ref())
            .map(|d| (d.peer().trader(), d.peer().is_trading()));
        let Some((Some((trader, epoch)), _)) = views.next() else {
            return Ok(());
        };
        let agreed = views.all(|(leader, _)| leader == Some((trader, epoch)));
        let trading = self
            .node(trader)
            .driver
            .as_ref()
            .is_some_and(|d| d.peer().is_trading());
        if agreed && trading {
            self.storm = None;
        }
        Ok(())
    }

    pub(super) fn check_settled(&self) -> Result<(), Broken> {
        let peers: Vec<Settled> = self
            .nodes
            .iter()
            .filter_map(|n| {
                let p = n.driver.as_ref()?.peer();
                Some(Settled {
                    id: p.id(),
                    leader: p.trader(),
                    trading: p.is_trading(),
                    resigned: n.resigned,
                    unanswered: p.unanswered().collect(),
                })
            })
            .collect();
        let deadline = self.now.saturating_sub(self.options.settle / 2);
        check::settled(&peers, deadline)
    }
}
