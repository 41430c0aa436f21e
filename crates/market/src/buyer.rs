//! The buyer: wants a random product, 1 to `max_quantity` units, and buys
//! until it has them all, then picks another.

use std::time::Duration;

use bazaar_protocol::{Buy, BuyReply, PeerId, Product, Quantity, RequestId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Receipt;

/// How a buyer behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuyerConfig {
    /// Pause between a reply and the next request. Default 500 ms.
    pub think: Duration,
    /// How long to wait for a reply before re-sending the request and
    /// suspecting the trader. Default 2 s.
    pub request_timeout: Duration,
    /// Replies of "out of stock" in a row after which the buyer gives up its
    /// product and wants another (at least 1). Default 3.
    pub patience: u32,
    /// The most units a buyer wants at once (at least 1). Default 10.
    pub max_quantity: Quantity,
    /// Request ids count up from here: a restarted buyer must start past
    /// every id of its earlier incarnations, or the trader answers its new
    /// request with an old reply. Default 0.
    pub first_seq: u64,
}

impl Default for BuyerConfig {
    fn default() -> Self {
        Self {
            think: Duration::from_millis(500),
            request_timeout: Duration::from_secs(2),
            patience: 3,
            max_quantity: 10,
            first_seq: 0,
        }
    }
}

/// The buyer's timers. Setting a timer replaces the pending one of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuyerTimer {
    /// The think time before the next request is over.
    Think,
    /// The outstanding request went unanswered too long.
    Request,
}

/// What happens to a buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyerInput {
    /// This peer is the trader now. If it is the buyer itself, the buyer
    /// pauses (a trader neither buys nor sells); otherwise it (re)sends its
    /// unanswered request there, or starts buying.
    TraderIs(PeerId),
    /// There is no trader (an election is under way): wait.
    TraderLost,
    /// The trader answered.
    Reply(BuyReply),
    /// A timer fired.
    Timer(BuyerTimer),
}

/// What a buyer wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyerAction {
    /// Send a buy request to the trader.
    Send {
        /// The trader.
        to: PeerId,
        /// The request.
        buy: Buy,
    },
    /// Start (or restart) a timer.
    SetTimer {
        /// Which timer.
        timer: BuyerTimer,
        /// When it fires, from now.
        after: Duration,
    },
    /// Stop a pending timer.
    CancelTimer(BuyerTimer),
    /// The trader did not answer in time: it may be dead; start an election.
    SuspectTrader,
    /// It was told "out of stock" for `product` `patience` times in a row,
    /// and gives the product up: its next want is another. News for the
    /// driver to report; nothing to perform.
    GaveUp {
        /// The product given up.
        product: Product,
    },
}

/// What a buyer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuyerStats {
    /// New requests sent.
    pub requests: u64,
    /// Requests re-sent (timeouts and new traders).
    pub retries: u64,
    /// Replies to its requests (duplicates not counted).
    pub replies: u64,
    /// Replies with no fills.
    pub out_of_stock: u64,
    /// Wants fully bought.
    pub wants_met: u64,
    /// Wants given up for lack of stock.
    pub wants_abandoned: u64,
}

/// What the buyer is after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Want {
    product: Product,
    remaining: Quantity,
}

/// The buyer's machine. One request is outstanding at a time; a retry
/// carries the same [`RequestId`], so the trader never fills it twice.
#[derive(Debug, Clone)]
pub struct Buyer {
    id: PeerId,
    config: BuyerConfig,
    rng: ChaCha8Rng,
    trader: Option<PeerId>,
    want: Option<Want>,
    avoid: Option<Product>,
    request: Option<Buy>,
    seq: u64,
    timer: Option<BuyerTimer>,
    out_of_stock_streak: u32,
    receipt: Receipt,
    stats: BuyerStats,
}

impl Buyer {
    /// A buyer for peer `id`, drawing its wants from a generator seeded with
    /// `seed`. It starts when told who the trader is.
    pub fn new(id: PeerId, config: BuyerConfig, seed: u64) -> Self {
        Self {
            id,
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            trader: None,
            want: None,
            avoid: None,
            request: None,
            seq: config.first_seq,
            timer: None,
            out_of_stock_streak: 0,
            receipt: Receipt::default(),
            stats: BuyerStats::default(),
        }
    }

    /// The buyer's peer id.
    pub const fn id(&self) -> PeerId {
        self.id
    }

    /// The trader it knows of, if any.
    pub const fn trader(&self) -> Option<PeerId> {
        self.trader
    }

    /// Whether it is buying: a trader is known and is not this peer.
    pub fn is_active(&self) -> bool {
        self.trader.is_some_and(|t| t != self.id)
    }

    /// The product and units it still wants, once it has picked them.
    pub fn wants(&self) -> Option<(Product, Quantity)> {
        self.want.map(|w| (w.product, w.remaining))
    }

    /// The request awaiting a reply, if any.
    pub const fn outstanding(&self) -> Option<&Buy> {
        self.request.as_ref()
    }

    /// What it received and paid, for audits against the ledger.
    pub const fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    /// What it has done so far.
    pub const fn stats(&self) -> &BuyerStats {
        &self.stats
    }

    /// Takes one input, returns the actions to perform in order.
    pub fn handle(&mut self, input: BuyerInput) -> Vec<BuyerAction> {
        let mut out = Vec::new();
        match input {
            BuyerInput::TraderIs(trader) => self.on_trader(Some(trader), &mut out),
            BuyerInput::TraderLost => self.on_trader(None, &mut out),
            BuyerInput::Reply(reply) => self.on_reply(&reply, &mut out),
            BuyerInput::Timer(timer) => self.on_timer(timer, &mut out),
        }
        out
    }

    fn on_trader(&mut self, trader: Option<PeerId>, out: &mut Vec<BuyerAction>) {
        if self.trader == trader {
            return;
        }
        self.trader = trader;
        if !self.is_active() {
            self.cancel_timer(out);
        } else if self.request.is_some() {
            self.stats.retries += 1;
            self.send(out);
        } else if self.timer.is_none() {
            self.set_timer(BuyerTimer::Think, out);
        }
    }

    fn on_timer(&mut self, timer: BuyerTimer, out: &mut Vec<BuyerAction>) {
        if self.timer != Some(timer) {
            return; // Stale: cancelled or replaced before it fired.
        }
        self.timer = None;
        if !self.is_active() {
            return;
        }
        match timer {
            BuyerTimer::Think if self.request.is_none() => {
                let want = match self.want {
                    Some(want) => want,
                    None => self.pick(),
                };
                self.want = Some(want);
                self.seq += 1;
                let id = RequestId {
                    buyer: self.id,
                    seq: self.seq,
                };
                self.request = Some(Buy {
                    id,
                    product: want.product,
                    quantity: want.remaining,
                });
                self.stats.requests += 1;
                self.send(out);
            }
            BuyerTimer::Request if self.request.is_some() => {
                self.stats.retries += 1;
                self.send(out);
                out.push(BuyerAction::SuspectTrader);
            }
            BuyerTimer::Think | BuyerTimer::Request => {}
        }
    }

    fn on_reply(&mut self, reply: &BuyReply, out: &mut Vec<BuyerAction>) {
        // Only the outstanding request counts: a duplicate or an old reply
        // has been counted already.
        if self.request.is_none_or(|b| b.id != reply.id) {
            return;
        }
        self.request = None;
        self.stats.replies += 1;
        let filled = reply.filled();
        if filled > 0 {
            *self.receipt.goods.entry(reply.product).or_default() += u64::from(filled);
            self.receipt.paid += reply.paid();
        }
        if let Some(want) = &mut self.want {
            if filled == 0 {
                self.stats.out_of_stock += 1;
                self.out_of_stock_streak += 1;
                if self.out_of_stock_streak >= self.config.patience.max(1) {
                    self.stats.wants_abandoned += 1;
                    self.avoid = Some(want.product);
                    out.push(BuyerAction::GaveUp {
                        product: want.product,
                    });
                    self.want = None;
                    self.out_of_stock_streak = 0;
                }
            } else {
                self.out_of_stock_streak = 0;
                want.remaining = want.remaining.saturating_sub(filled);
                if want.remaining == 0 {
                    self.stats.wants_met += 1;
                    self.avoid = None;
                    self.want = None;
                }
            }
        }
        self.cancel_timer(out);
        if self.is_active() {
            self.set_timer(BuyerTimer::Think, out);
        }
    }

    /// A new want: any product, or any but the one just given up.
    fn pick(&mut self) -> Want {
        let choices: Vec<Product> = Product::ALL
            .into_iter()
            .filter(|&p| Some(p) != self.avoid)
            .collect();
        let product = choices[self.rng.random_range(0..choices.len())];
        let remaining = self.rng.random_range(1..=self.config.max_quantity.max(1));
        Want { product, remaining }
    }

    /// Sends the outstanding request to the trader and arms its timeout.
    fn send(&mut self, out: &mut Vec<BuyerAction>) {
        if let (Some(to), Some(buy)) = (self.trader, self.request) {
            out.push(BuyerAction::Send { to, buy });
            self.set_timer(BuyerTimer::Request, out);
        }
    }

    fn set_timer(&mut self, timer: BuyerTimer, out: &mut Vec<BuyerAction>) {
        let after = match timer {
            BuyerTimer::Think => self.config.think,
            BuyerTimer::Request => self.config.request_timeout,
        };
        self.timer = Some(timer);
        out.push(BuyerAction::SetTimer { timer, after });
    }

    fn cancel_timer(&mut self, out: &mut Vec<BuyerAction>) {
        if let Some(timer) = self.timer.take() {
            out.push(BuyerAction::CancelTimer(timer));
        }
    }
}
