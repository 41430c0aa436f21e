//! Peers on several hosts, for real: six `bazaar node` processes, each in a
//! network namespace of its own (its own address on a bridge), trading over
//! tcp with the books in one PostgreSQL server on a seventh host that every
//! peer reaches over the bridge. The trader's
//! link is cut, then the trader is SIGKILLed, then the hosts are split
//! {1,2,3} | {4,5,6} while both sides still reach the store; after each,
//! the market goes on and the stored books pass the audit.
//!
//! Needs root and iproute2; skipped with a line saying why otherwise, and
//! never skipped when `CI` is set. Times are printed, never asserted: the
//! machine is shared.

mod support;

use std::time::{Duration, Instant};

use std::path::Path;

use bazaar::hosts::{DB_HOST, Hosts, STANDBY_HOST, TimedLine, unavailable};
use support::processes::{BAZAAR, ledger_units, received_units};

/// The tests here run one at a time: each makes seven or eight hosts and
/// a market, and times what it sees.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Six peer hosts and a database host named for the test `name`, made
/// once no other test here runs (the guard); `None`, after a line saying
/// why, where they cannot be made (never under `CI`).
fn six_hosts(name: &str) -> Option<(std::sync::MutexGuard<'static, ()>, Hosts)> {
    let one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(why) = unavailable() {
        support::pg::skip_unless_ci(&format!("six hosts ({name})"), &why, "network namespace");
        return None;
    }
    let hosts = Hosts::create(Path::new(BAZAAR), name, 6, 20).expect("the hosts are made");
    Some((one, hosts))
}

/// Lines of `peers` in `lines` containing `text`.
fn count(lines: &[TimedLine], peers: &[u32], text: &str) -> usize {
    lines
        .iter()
        .filter(|(id, _, l)| peers.contains(id) && l.contains(text))
        .count()
}

/// The distinct epochs the peers of a side claimed in `lines`: announced
/// ("new coordinator") or waiting on a leased store.
fn claims(lines: &[TimedLine], peers: &[u32]) -> std::collections::BTreeSet<String> {
    lines
        .iter()
        .filter(|(id, _, _)| peers.contains(id))
        .filter_map(|(id, _, l)| {
            if l.contains("I am the new coordinator") {
                Some(format!("peer {id} announced"))
            } else {
                l.split("waiting for the books (epoch ")
                    .nth(1)
                    .and_then(|rest| rest.split(')').next())
                    .map(|epoch| format!("peer {id} epoch {epoch}"))
            }
        })
        .collect()
}

/// Waits for `peer` to announce itself as trader and then to sell; returns
/// when each was read.
fn trades(hosts: &Hosts, peer: u32, seen: &mut Vec<TimedLine>) -> (Instant, Instant) {
    let announcement = format!("My ID is {peer}, and I am the new coordinator");
    let (_, announced, _) = hosts
        .wait_for(Some(peer), &announcement, seen)
        .unwrap_or_else(|| {
            panic!(
                "peer {peer} never announced itself; last lines: {:?}",
                tail(seen)
            )
        });
    let (_, sold, _) = hosts
        .wait_for(Some(peer), " bought ", seen)
        .unwrap_or_else(|| panic!("peer {peer} never sold; last lines: {:?}", tail(seen)));
    (announced, sold)
}

/// The last lines read, for a failure's message.
fn tail(seen: &[TimedLine]) -> Vec<String> {
    let from = seen.len().saturating_sub(30);
    seen[from..]
        .iter()
        .map(|(id, _, l)| format!("[{id}] {l}"))
        .collect()
}

#[test]
#[ignore = "needs root, iproute2 and PostgreSQL: network namespaces; cargo test -- --ignored"]
fn six_hosts_trade_through_a_cut_link_a_killed_trader_and_a_partition() {
    let Some((_one, mut hosts)) = six_hosts("six") else {
        return;
    };
    // The books in one PostgreSQL server on a host of its own, reached
    // over the bridge; each peer keeps only its last incarnation and its
    // summary in a data directory of its own.
    let db = hosts.ns_named("db");
    let Some(server) = support::pg::PgServer::start_in("hosts", &db, Hosts::address(DB_HOST))
    else {
        return;
    };
    let url = server.url();
    hosts.node_flags(&["--store", &url]);
    hosts.spawn_all();
    let mut seen = Vec::new();
    trades(&hosts, 6, &mut seen);

    // The trader's link is cut: peer 5 takes over from the same books.
    let cut = Instant::now();
    hosts.link(6, false).unwrap();
    let (announced, sold) = trades(&hosts, 5, &mut seen);
    eprintln!(
        "link cut: peer 5 announced after {:?}, sold after {:?}",
        announced - cut,
        sold - cut
    );
    hosts.link(6, true).unwrap();
    trades(&hosts, 6, &mut seen);

    // The trader is killed: the same.
    let killed = Instant::now();
    hosts.kill(6);
    let (announced, sold) = trades(&hosts, 5, &mut seen);
    eprintln!(
        "SIGKILL: peer 5 announced after {:?}, sold after {:?}",
        announced - killed,
        sold - killed
    );
    hosts.spawn(6);
    trades(&hosts, 6, &mut seen);

    // A partition: the side holding the books (with the trader) trades on;
    // the other side's claim waits for the lease instead of deposing it.
    let before = hosts.collect(Duration::from_secs(3), &mut seen);
    hosts.partition(&[1, 2, 3], &[4, 5, 6]).unwrap();
    let during = hosts.collect(Duration::from_secs(5), &mut seen);
    hosts.heal().unwrap();
    let after = hosts.collect(Duration::from_secs(3), &mut seen);
    // The trading side's own buyers: peer 5 (peers 4 and 6 sell and trade).
    let rate = |lines: &[TimedLine], secs: f64| count(lines, &[6], "peer 5 bought ") as f64 / secs;
    let served = |lines: &[TimedLine], secs: f64| {
        (count(lines, &[5], "peer 5 got ") + count(lines, &[5], "out of stock")) as f64 / secs
    };
    let (a, b) = (claims(&during, &[1, 2, 3]), claims(&during, &[4, 5, 6]));
    eprintln!(
        "partition: the trading side's buyer (peer 5): sales/s before {:.1}, during {:.1}; \
         buys answered/s before {:.1}, during {:.1}; claims on side 1-3 {a:?}, on side 4-6 {b:?}",
        rate(&before, 3.0),
        rate(&during, 5.0),
        served(&before, 3.0),
        served(&during, 5.0)
    );
    assert!(a.len() <= 2, "side 1-3 claimed {a:?}");
    assert!(b.len() <= 2, "side 4-6 claimed {b:?}");
    assert!(
        count(&during, &[6], " bought ") > 0,
        "the side with the books traded"
    );
    assert!(
        count(&after, &[6], " bought ") > 0,
        "after the heal peer 6 trades"
    );

    assert_eq!(
        hosts.terminate_all(),
        Vec::<u32>::new(),
        "every peer stopped cleanly"
    );
    let (passed, report) = hosts.bazaar_in(&hosts.ns(1), &["audit", "--store", &url]);
    assert!(passed, "{report}");
}

#[test]
#[ignore = "needs root, iproute2 and PostgreSQL: network namespaces; cargo test -- --ignored"]
fn six_hosts_trade_on_when_the_database_host_is_cut_off_and_its_standby_promoted() {
    let Some((_one, mut hosts)) = six_hosts("standby") else {
        return;
    };
    // The books on a primary (host "db") and its synchronous standby (host
    // "db2"), each on a host of its own; the peers name both.
    let db = hosts.ns_named("db");
    let db2 = hosts
        .add_host("db2", STANDBY_HOST)
        .expect("the standby's host");
    let Some(mut primary) =
        support::pg::PgServer::start_in("hosts-primary", &db, Hosts::address(DB_HOST))
    else {
        return;
    };
    let standby = support::pg::PgServer::standby_of(
        &primary,
        "hosts-standby",
        Some((db2, Hosts::address(STANDBY_HOST))),
    );
    primary.require_sync_standby();
    primary.wait_for_standby();
    let url = support::pg::PgServer::url_of_all(&[&primary, &standby], "postgres");
    hosts.node_flags(&["--store", &url]);
    hosts.spawn_all();
    let mut seen = Vec::new();
    trades(&hosts, 6, &mut seen);
    for _ in 0..10 {
        hosts.wait_for(None, " bought ", &mut seen).expect("sales");
    }

    // The primary's host is cut off from the network (its server still
    // runs there, unreachable); the standby is promoted on its host.
    hosts.link_named("db", false).unwrap();
    let cut = Instant::now();
    // What was sold before the cut is read now: after it, nothing can be
    // committed until the promotion (the primary waits for its standby).
    hosts.collect(Duration::from_millis(500), &mut seen);
    standby.promote();
    let promoted = Instant::now();
    let (seller, _, _) = hosts
        .wait_for(None, " bought ", &mut seen)
        .unwrap_or_else(|| panic!("no sale after the promotion; last lines: {:?}", tail(&seen)));
    let resumed = Instant::now();
    eprintln!(
        "database host cut off: promoted after {:?}; peer {seller} sold {:?} after the \
         promotion, {:?} after the cut",
        promoted - cut,
        resumed - promoted,
        resumed - cut
    );
    for _ in 0..10 {
        hosts
            .wait_for(None, " bought ", &mut seen)
            .expect("sales go on");
    }
    assert_eq!(
        hosts.terminate_all(),
        Vec::<u32>::new(),
        "every peer stopped cleanly"
    );
    // The old primary never comes back: its host is fenced off for good,
    // as an operator must (its server is stopped with the test).
    primary.kill();
    let promoted_url = standby.url();
    let (ok, ledger) = hosts.bazaar_in(&hosts.ns(1), &["ledger", "--store", &promoted_url]);
    assert!(ok, "{ledger}");
    let stored = ledger_units(&ledger);
    let told: Vec<(u32, String)> = seen.iter().map(|(id, _, l)| (*id, l.clone())).collect();
    for (key, units) in received_units(&told) {
        let kept = stored.get(&key).copied().unwrap_or(0);
        assert!(kept >= units, "{key:?}: told {units}, kept {kept}");
    }
    let (passed, report) = hosts.bazaar_in(&hosts.ns(1), &["audit", "--store", &promoted_url]);
    assert!(passed, "{report}");
}
