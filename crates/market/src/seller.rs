//! The seller: offers a random product, 1 to `max_quantity` units, and when
//! that lot is sold out picks another and offers it.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use bazaar_protocol::{Deposited, Money, Offer, OfferId, PeerId, Product, Quantity, SaleNotice};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a seller behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SellerConfig {
    /// How long to wait for the trader's receipt of a deposit before
    /// re-sending it and suspecting the trader. Default 2 s.
    pub deposit_timeout: Duration,
    /// The most units in one lot (at least 1). Default 10.
    pub max_quantity: Quantity,
    /// Offer ids count up from here: a restarted seller must start past
    /// every id of its earlier incarnations, or the trader takes its new
    /// lot for an old deposit. Default 0.
    pub first_seq: u64,
}

impl Default for SellerConfig {
    fn default() -> Self {
        Self {
            deposit_timeout: Duration::from_secs(2),
            max_quantity: 10,
            first_seq: 0,
        }
    }
}

/// The seller's timers. Setting a timer replaces the pending one of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SellerTimer {
    /// The deposit went unacknowledged too long.
    Deposit,
}

/// What happens to a seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SellerInput {
    /// This peer is the trader now. If it is the seller itself, the seller
    /// pauses (a trader neither buys nor sells); otherwise it re-sends its
    /// unacknowledged deposit there, or starts selling.
    TraderIs(PeerId),
    /// There is no trader (an election is under way): wait.
    TraderLost,
    /// The trader recorded a deposit.
    Deposited(Deposited),
    /// Some of the seller's goods sold.
    Sale(SaleNotice),
    /// A timer fired.
    Timer(SellerTimer),
}

/// What a seller wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SellerAction {
    /// Send a deposit to the trader.
    Send {
        /// The trader.
        to: PeerId,
        /// The deposit.
        offer: Offer,
    },
    /// Start (or restart) a timer.
    SetTimer {
        /// Which timer.
        timer: SellerTimer,
        /// When it fires, from now.
        after: Duration,
    },
    /// Stop a pending timer.
    CancelTimer(SellerTimer),
    /// The trader did not acknowledge in time: it may be dead; start an
    /// election.
    SuspectTrader,
    /// A new lot goes to the trader `to`; the `Send` that carries it
    /// follows. A deposit re-sent (a timeout, a new trader) is a `Send`
    /// alone. News for the driver to report; nothing to perform.
    Offered {
        /// The trader.
        to: PeerId,
        /// The new lot.
        offer: Offer,
    },
    /// Some of its goods sold, and it was credited: said for the first
    /// copy of a sale notice only, however often the trader sends it.
    /// News for the driver to report; nothing to perform.
    Credited(SaleNotice),
}

/// What a seller has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SellerStats {
    /// New lots offered.
    pub offers: u64,
    /// Deposits re-sent (timeouts and new traders).
    pub resends: u64,
    /// Sale notices counted (duplicates not counted).
    pub notices: u64,
    /// Units sold.
    pub units_sold: u64,
    /// Lots sold out.
    pub lots_sold_out: u64,
}

/// The lot the seller has on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OfferedLot {
    offer: Offer,
    acknowledged: bool,
    sold: Quantity,
}

/// The seller's machine. One lot is on offer at a time; a re-sent deposit
/// carries the same [`OfferId`] and a re-sent sale notice the same
/// [`RequestId`](bazaar_protocol::RequestId), so neither counts twice.
#[derive(Debug, Clone)]
pub struct Seller {
    id: PeerId,
    config: SellerConfig,
    rng: ChaCha8Rng,
    trader: Option<PeerId>,
    lot: Option<OfferedLot>,
    seq: u64,
    timer: Option<SellerTimer>,
    credits: Money,
    sold: BTreeMap<Product, u64>,
    /// Which sale notices were counted, per buyer.
    noticed: BTreeMap<PeerId, Noticed>,
    stats: SellerStats,
}

impl Seller {
    /// A seller for peer `id`, drawing its lots from a generator seeded with
    /// `seed`. It starts when told who the trader is.
    pub fn new(id: PeerId, config: SellerConfig, seed: u64) -> Self {
        Self {
            id,
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            trader: None,
            lot: None,
            seq: config.first_seq,
            timer: None,
            credits: Money::ZERO,
            sold: BTreeMap::new(),
            noticed: BTreeMap::new(),
            stats: SellerStats::default(),
        }
    }

    /// The seller's peer id.
    pub const fn id(&self) -> PeerId {
        self.id
    }

    /// The trader it knows of, if any.
    pub const fn trader(&self) -> Option<PeerId> {
        self.trader
    }

    /// Whether it is selling: a trader is known and is not this peer.
    pub fn is_active(&self) -> bool {
        self.trader.is_some_and(|t| t != self.id)
    }

    /// The lot on offer, if any.
    pub fn offering(&self) -> Option<&Offer> {
        self.lot.as_ref().map(|lot| &lot.offer)
    }

    /// Units of the lot on offer not yet reported sold.
    pub fn remaining(&self) -> Quantity {
        self.lot
            .map_or(0, |lot| lot.offer.quantity.saturating_sub(lot.sold))
    }

    /// Whether the trader has acknowledged the lot on offer.
    pub fn is_deposited(&self) -> bool {
        self.lot.is_some_and(|lot| lot.acknowledged)
    }

    /// What it has been credited in all, for audits against the ledger.
    pub const fn credits(&self) -> Money {
        self.credits
    }

    /// Units sold per product.
    pub const fn sold(&self) -> &BTreeMap<Product, u64> {
        &self.sold
    }

    /// What it has done so far.
    pub const fn stats(&self) -> &SellerStats {
        &self.stats
    }

    /// Takes one input, returns the actions to perform in order.
    pub fn handle(&mut self, input: SellerInput) -> Vec<SellerAction> {
        let mut out = Vec::new();
        match input {
            SellerInput::TraderIs(trader) => self.on_trader(Some(trader), &mut out),
            SellerInput::TraderLost => self.on_trader(None, &mut out),
            SellerInput::Deposited(deposited) => self.on_deposited(deposited, &mut out),
            SellerInput::Sale(notice) => self.on_sale(&notice, &mut out),
            SellerInput::Timer(timer) => self.on_timer(timer, &mut out),
        }
        out
    }

    fn on_trader(&mut self, trader: Option<PeerId>, out: &mut Vec<SellerAction>) {
        if self.trader == trader {
            return;
        }
        self.trader = trader;
        if !self.is_active() {
            self.cancel_timer(out);
            return;
        }
        // A new trader gets the lot again, acknowledged or not: its receipt
        // says how much is left, in case sale notices died with the last.
        if self.lot.is_some() {
            self.stats.resends += 1;
            self.send(out);
        } else {
            self.offer_next(out);
        }
    }

    fn on_deposited(&mut self, deposited: Deposited, out: &mut Vec<SellerAction>) {
        let Some(lot) = self
            .lot
            .as_mut()
            .filter(|lot| lot.offer.id == deposited.offer)
        else {
            return;
        };
        let first_receipt = !lot.acknowledged;
        lot.acknowledged = true;
        // The book is the truth: units it sold whose notices never came
        // count as sold (their money is in the ledger's credits).
        let sold = lot.offer.quantity.saturating_sub(deposited.remaining);
        lot.sold = lot.sold.max(sold);
        let sold_out = lot.sold >= lot.offer.quantity;
        if first_receipt {
            self.cancel_timer(out);
        }
        if sold_out {
            self.lot = None;
            self.stats.lots_sold_out += 1;
            if self.is_active() {
                self.offer_next(out);
            }
        }
    }

    fn on_sale(&mut self, notice: &SaleNotice, out: &mut Vec<SellerAction>) {
        let request = notice.request;
        if !self
            .noticed
            .entry(request.buyer)
            .or_default()
            .count(request.seq)
        {
            return; // Counted already: a re-sent notice.
        }
        // Saturating: a garbled or hostile notice must not panic the peer
        // (found by the node's fuzzer: two notices of huge credit).
        self.credits = Money(self.credits.cents().saturating_add(notice.credit.cents()));
        *self.sold.entry(notice.product).or_default() += u64::from(notice.quantity);
        self.stats.notices += 1;
        self.stats.units_sold += u64::from(notice.quantity);
        out.push(SellerAction::Credited(*notice));
        let Some(lot) = &mut self.lot else { return };
        if lot.offer.product != notice.product {
            return;
        }
        lot.sold = lot.sold.saturating_add(notice.quantity);
        let sold_out = lot.sold >= lot.offer.quantity;
        if !lot.acknowledged {
            // A sale proves the deposit was recorded.
            lot.acknowledged = true;
            self.cancel_timer(out);
        }
        if sold_out {
            self.lot = None;
            self.stats.lots_sold_out += 1;
            if self.is_active() {
                self.offer_next(out);
            }
        }
    }

    fn on_timer(&mut self, timer: SellerTimer, out: &mut Vec<SellerAction>) {
        if self.timer != Some(timer) {
            return; // Stale: cancelled or replaced before it fired.
        }
        self.timer = None;
        if self.is_active() && self.lot.is_some_and(|lot| !lot.acknowledged) {
            self.stats.resends += 1;
            self.send(out);
            out.push(SellerAction::SuspectTrader);
        }
    }

    /// Picks a new lot and offers it.
    fn offer_next(&mut self, out: &mut Vec<SellerAction>) {
        let product = Product::ALL[self.rng.random_range(0..Product::ALL.len())];
        let quantity = self.rng.random_range(1..=self.config.max_quantity.max(1));
        self.seq += 1;
        let offer = Offer {
            id: OfferId {
                seller: self.id,
                seq: self.seq,
            },
            product,
            quantity,
        };
        self.lot = Some(OfferedLot {
            offer,
            acknowledged: false,
            sold: 0,
        });
        self.stats.offers += 1;
        if let Some(to) = self.trader {
            out.push(SellerAction::Offered { to, offer });
        }
        self.send(out);
    }

    /// Sends the lot's deposit to the trader and arms its timeout.
    fn send(&mut self, out: &mut Vec<SellerAction>) {
        if let (Some(to), Some(lot)) = (self.trader, self.lot) {
            out.push(SellerAction::Send {
                to,
                offer: lot.offer,
            });
            self.timer = Some(SellerTimer::Deposit);
            out.push(SellerAction::SetTimer {
                timer: SellerTimer::Deposit,
                after: self.config.deposit_timeout,
            });
        }
    }

    fn cancel_timer(&mut self, out: &mut Vec<SellerAction>) {
        if let Some(timer) = self.timer.take() {
            out.push(SellerAction::CancelTimer(timer));
        }
    }
}

/// The sale notices a seller has counted for one buyer's requests, in
/// bounded memory. The trader serves a buyer's requests in the order of
/// their ids, one at a time, and sends each notice once, so a notice comes
/// twice only as a duplicate, and out of order only from a trader deposed
/// meanwhile. The highest id counted, and the ids counted in the window of
/// [`Noticed::WINDOW`] below it, tell a duplicate from a first copy; a
/// notice older than the window is taken as counted. Taking it wrongly
/// could only leave the seller's own account short of the ledger, never
/// above it: the ledger's credit is the seller's money either way.
#[derive(Debug, Clone, Default)]
struct Noticed {
    highest: u64,
    recent: BTreeSet<u64>,
}

impl Noticed {
    /// How far below the highest counted id a late notice is still told
    /// apart.
    const WINDOW: u64 = 64;

    /// Records the notice of request `seq`; returns whether it is its first
    /// copy.
    fn count(&mut self, seq: u64) -> bool {
        let floor = self.highest.saturating_sub(Self::WINDOW);
        if (seq <= floor && !self.recent.is_empty()) || !self.recent.insert(seq) {
            return false;
        }
        if seq > self.highest {
            self.highest = seq;
            let floor = seq.saturating_sub(Self::WINDOW);
            self.recent = self.recent.split_off(&(floor + 1));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Noticed;

    #[test]
    fn a_notice_counts_once_even_out_of_order_within_the_window() {
        let mut noticed = Noticed::default();
        assert!(noticed.count(5));
        assert!(!noticed.count(5), "a duplicate");
        assert!(noticed.count(7));
        assert!(noticed.count(6), "late, but first");
        assert!(!noticed.count(6));
        assert!(noticed.count(200));
        assert!(!noticed.count(100), "too late to tell: taken as counted");
        assert!(noticed.count(199));
        assert!(noticed.recent.len() <= 64, "memory stays bounded");
    }

    #[test]
    fn memory_stays_bounded_over_a_long_run() {
        let mut noticed = Noticed::default();
        for seq in 1..100_000 {
            assert!(noticed.count(seq));
        }
        assert_eq!(noticed.recent.len(), 64);
    }
}
