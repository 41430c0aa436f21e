//! The trader's desk: its epoch, and its book once loaded.

use bazaar_market::{Book, Persist, Trader, TraderAction, TraderInput};
use bazaar_protocol::Epoch;

/// What a peer holds while it is trader.
#[derive(Debug)]
pub(crate) struct Desk {
    epoch: Epoch,
    state: State,
    sales: u64,
    /// Whether the books were open in this term before: a load now is a
    /// reload, after a commit whose outcome is unknown.
    opened: bool,
    /// Whether this trader traded in an earlier epoch and carries on in
    /// this one (it outbid a lower peer's claim): its books load again,
    /// fenced at the new epoch, and it is no new coordinator.
    carried_on: bool,
}

#[derive(Debug)]
enum State {
    /// Waiting for the store; requests that arrive meanwhile wait too.
    Loading(Vec<TraderInput>),
    /// Serving from the loaded book.
    Open(Box<Trader>),
}

impl Desk {
    /// A desk for a new term, waiting for its books.
    pub(crate) const fn loading(epoch: Epoch) -> Self {
        Self {
            epoch,
            state: State::Loading(Vec::new()),
            sales: 0,
            opened: false,
            carried_on: false,
        }
    }

    /// Carries the desk into the newer epoch `epoch`, the same trader's:
    /// the books load again, fenced at it, and requests that arrive
    /// meanwhile wait (those not yet served are dropped, and retried).
    pub(crate) fn carry_on(&mut self, epoch: Epoch) {
        self.carried_on |= self.opened;
        self.opened = false;
        self.epoch = epoch;
        self.reload();
    }

    /// Whether the trader carries on from an earlier epoch.
    pub(crate) const fn carried_on(&self) -> bool {
        self.carried_on
    }

    /// Drops the books, to load them again from the store: they may be
    /// ahead of it, or behind. Requests that arrive meanwhile wait.
    pub(crate) fn reload(&mut self) {
        if matches!(self.state, State::Open(_)) {
            self.state = State::Loading(Vec::new());
        }
    }

    /// Whether the books were open before in this term.
    pub(crate) const fn was_open(&self) -> bool {
        self.opened
    }

    pub(crate) const fn epoch(&self) -> Epoch {
        self.epoch
    }

    pub(crate) const fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    pub(crate) fn book(&self) -> Option<&Book> {
        match &self.state {
            State::Open(trader) => Some(trader.book()),
            State::Loading(_) => None,
        }
    }

    pub(crate) const fn sales(&self) -> u64 {
        self.sales
    }

    pub(crate) const fn count_sale(&mut self) {
        self.sales += 1;
    }

    /// Opens the desk with `book` and takes in what waited for it.
    pub(crate) fn open(&mut self, book: Book) -> Vec<TraderAction> {
        let mut trader = Trader::new(book);
        let waiting = match std::mem::replace(&mut self.state, State::Loading(Vec::new())) {
            State::Loading(waiting) => waiting,
            State::Open(_) => Vec::new(),
        };
        let actions = waiting
            .into_iter()
            .flat_map(|input| trader.handle(input))
            .collect();
        self.state = State::Open(Box::new(trader));
        self.opened = true;
        actions
    }

    /// Takes an offer or a buy; returns what the trader answers at once, or
    /// `None` while the books are loading.
    pub(crate) fn take(&mut self, input: TraderInput) -> Option<Vec<TraderAction>> {
        match &mut self.state {
            State::Loading(waiting) => {
                waiting.push(input);
                None
            }
            State::Open(trader) => Some(trader.handle(input)),
        }
    }

    /// Serves the batch, if the books are open and anything waits.
    pub(crate) fn flush(&mut self) -> Option<Persist> {
        match &mut self.state {
            State::Open(trader) => trader.flush(),
            State::Loading(_) => None,
        }
    }
}
