//! The end-of-run audit of a whole market: the books, and every live
//! peer's own account against them.

use std::{collections::BTreeMap, fmt};

use bazaar_market::{
    AuditSummary, Book, LedgerEntry, Match, Receipt, Violation, audit::check_seller_credits,
};
use bazaar_protocol::{Money, PeerId};

use crate::Peer;

/// What the audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// The books' totals, if they balance.
    pub summary: Result<AuditSummary, Violation>,
    /// Buyers whose goods or payments differ from the ledger.
    pub buyers: Vec<String>,
    /// Sellers credited more than the ledger says.
    pub sellers: Vec<String>,
}

impl Audit {
    /// Audits `book` against the peers that are still alive.
    ///
    /// Goods and money must balance in the books exactly; each live buyer
    /// must have received exactly what the ledger says it bought, leaving
    /// out only the one request it still waits on (its reply in flight at
    /// the stop); no seller may hold more credit than the ledger gives it
    /// (a sale notice may be in flight, or lost with a crashed trader: the
    /// ledger, not the notice, is the seller's money).
    pub fn run(book: &Book, peers: &BTreeMap<PeerId, Peer>) -> Self {
        let summary = book.audit();
        let nothing = Receipt::default();
        let buyers = peers
            .values()
            .filter_map(|p| Some((p.id(), p.buyer()?)))
            .filter_map(|(id, buyer)| {
                let sold = book.totals().receipts.get(&id).unwrap_or(&nothing);
                // A reply in flight at the stop: the book answered the
                // request the buyer still waits on, so leave it out.
                let owed = match (buyer.outstanding(), book.answers().get(&id)) {
                    (Some(waiting), Some(last)) if last.served.request == waiting.id => {
                        less(sold, &last.sales)
                    }
                    _ => sold.clone(),
                };
                let got = buyer.receipt();
                (!same_receipt(got, &owed)).then(|| {
                    format!(
                        "peer {id} received {} but the ledger says {}",
                        show(got),
                        show(&owed)
                    )
                })
            })
            .collect();
        let credits: BTreeMap<PeerId, Money> = peers
            .values()
            .filter_map(|p| Some((p.id(), p.seller()?.credits())))
            .collect();
        let sellers = match check_seller_credits(book.credits(), &credits, Match::AtMost) {
            Ok(()) => Vec::new(),
            Err(v) => vec![v.to_string()],
        };
        Self {
            summary,
            buyers,
            sellers,
        }
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.summary.is_ok() && self.buyers.is_empty() && self.sellers.is_empty()
    }
}

/// `receipt` without `sales`.
fn less(receipt: &Receipt, sales: &[LedgerEntry]) -> Receipt {
    let mut left = receipt.clone();
    for sale in sales {
        if let Some(units) = left.goods.get_mut(&sale.product) {
            *units = units.saturating_sub(u64::from(sale.quantity));
        }
        left.paid = Money(left.paid.cents().saturating_sub(sale.paid().cents()));
    }
    left
}

fn same_receipt(a: &Receipt, b: &Receipt) -> bool {
    let units = |r: &Receipt| {
        r.goods
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(p, n)| (*p, *n))
            .collect::<Vec<_>>()
    };
    units(a) == units(b) && a.paid == b.paid
}

fn show(r: &Receipt) -> String {
    let goods: Vec<String> = r.goods.iter().map(|(p, n)| format!("{n} {p}")).collect();
    format!("[{}] for {}", goods.join(", "), r.paid)
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.summary {
            Ok(s) => {
                let goods: Vec<String> = s
                    .goods
                    .iter()
                    .map(|(p, g)| {
                        format!(
                            "{p} {} offered = {} sold + {} on offer",
                            g.offered, g.sold, g.on_offer
                        )
                    })
                    .collect();
                writeln!(f, "goods:   ok ({})", goods.join("; "))?;
                writeln!(
                    f,
                    "money:   ok (buyers paid {} = sellers' credits {} + commission {})",
                    s.paid, s.credits, s.commission
                )?;
                writeln!(
                    f,
                    "fills:   ok ({} requests answered, {} sales, none filled twice)",
                    s.requests, s.sales
                )?;
            }
            Err(v) => writeln!(f, "books:   FAILED: {v}")?,
        }
        if self.buyers.is_empty() {
            writeln!(
                f,
                "buyers:  ok (every live buyer holds exactly what the ledger says)"
            )?;
        }
        for b in &self.buyers {
            writeln!(f, "buyers:  FAILED: {b}")?;
        }
        if self.sellers.is_empty() {
            writeln!(f, "sellers: ok (no seller credited beyond the ledger)")?;
        }
        for s in &self.sellers {
            writeln!(f, "sellers: FAILED: {s}")?;
        }
        write!(
            f,
            "audit:   {}",
            if self.passed() { "PASSED" } else { "FAILED" }
        )
    }
}
