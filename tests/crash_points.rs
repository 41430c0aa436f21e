//! Crash points: real node processes trading hard over tcp, the trader
//! SIGKILLed at pseudo-random moments over and over and brought straight
//! back. After each kill the next trader carries on from the books; at the
//! end the stored books balance, and no buyer holds anything the ledger
//! does not record (no acknowledged buy lost, nothing filled twice).

mod support;

use std::{collections::BTreeMap, thread, time::Duration};

use support::processes::{Processes, ledger_units};

/// A small deterministic generator, so a failing run can be replayed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

#[test]
fn sigkilled_traders_lose_no_acknowledged_buy_over_tcp() {
    const PEERS: u32 = 5;
    const KILLS: usize = 6;
    let mut procs = Processes::start("crash-points", PEERS, 2);
    let mut moments = Moments(0x5eed_cafe);
    let trader = PEERS;
    for kill in 0..KILLS {
        // A sale logged by this incarnation of the trader, after the last
        // kill.
        procs.wait_for(Some(trader), " bought ");
        thread::sleep(Duration::from_millis(moments.next_ms(0, 400)));
        procs.kill(trader);
        let survivor = trader - 1;
        procs.drain();
        procs.wait_for(Some(survivor), "and I am the new coordinator");
        procs.wait_for(Some(survivor), " bought ");
        eprintln!(
            "kill {kill}: trader {trader} SIGKILLed at a random moment, {survivor} carried on"
        );
        // Back it comes, and the bully rule gives it the market again.
        procs.spawn(trader);
        procs.wait_for(Some(trader), "and I am the new coordinator");
        procs.drain();
    }

    let tail = procs.terminate_all();
    let (passed, audit) = procs.books("audit");
    assert!(passed && audit.contains("audit passed"), "{audit}");
    let (_, ledger) = procs.books("ledger");
    let owed = ledger_units(&ledger);
    // What each peer's last incarnation holds must be in the ledger:
    // received goods beyond it would be a buy acknowledged but never
    // recorded.
    let mut checked = 0;
    for (id, line) in tail.iter().filter(|(_, l)| l.contains(" holds fish=")) {
        let held: BTreeMap<String, u64> = line
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .filter(|(k, _)| ["fish", "salt", "boar"].contains(k))
            .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
            .collect();
        for (product, units) in held {
            let recorded = owed.get(&(*id, product.clone())).copied().unwrap_or(0);
            assert!(
                units <= recorded,
                "peer {id} holds {units} {product}, the ledger records {recorded}"
            );
        }
        checked += 1;
    }
    assert_eq!(
        checked, PEERS,
        "every peer reported its holdings at the stop"
    );
}
