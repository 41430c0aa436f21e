//! A live market whose every database server is down for a while: the
//! books on a PostgreSQL primary and its synchronous standby, both
//! SIGKILLed, then started again. The trader says so once (a warning a
//! term, not a line a retry), sells nothing it cannot commit, does not
//! crash or spin, and trades again once a writable server is back; every
//! sale a buyer was told of is in the books, and they pass the audit.
//! Counts and times are printed; only what must hold is asserted.

mod support;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use support::pg::PgServer;
use support::processes::{BAZAAR, Processes, ledger_units, received_units, write_cluster};

/// CPU time (user and system) that process `pid` has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    // Clock ticks of 10 ms (USER_HZ is 100 on Linux).
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn with_every_database_down_the_market_waits_and_trades_again_when_one_is_back() {
    let Some(mut primary) = PgServer::start("outage") else {
        return;
    };
    primary.database("books");
    let mut standby = PgServer::standby_of(&primary, "outage-standby", None);
    primary.require_sync_standby();
    primary.wait_for_standby();
    let url = PgServer::url_of_all(&[&primary, &standby], "books");
    let mut procs = Processes::launch_with(
        write_cluster("pg-outage", 6, 20, false),
        6,
        &["--store", &url],
    );
    procs.wait_for(Some(6), "My ID is 6, and I am the new coordinator");
    for _ in 0..20 {
        procs.wait_for(None, " bought ");
    }

    procs.drain();
    let from_the_kill = procs.seen().len();
    primary.kill();
    standby.kill();
    let down = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    procs.drain();
    let mark = procs.seen().len();
    let cpu_before: Duration = procs.nodes.values().map(|c| cpu_time(c.id())).sum();
    let outage = Duration::from_secs(4);
    std::thread::sleep(outage);
    procs.drain();
    let cpu = procs
        .nodes
        .values()
        .map(|c| cpu_time(c.id()))
        .sum::<Duration>()
        .saturating_sub(cpu_before);
    let outage_lines = procs.seen().split_off(from_the_kill);
    let during = procs.seen().split_off(mark);
    let count = |text: &str| during.iter().filter(|(_, l)| l.contains(text)).count();
    let failed = outage_lines
        .iter()
        .filter(|(_, l)| l.contains("the store failed"))
        .count();
    let terms = count("I am the new coordinator");
    let elections = count("ELECTION") + count("election");
    eprintln!(
        "outage: {:?} with no server: {failed} 'store failed' warnings in all, {terms} terms \
         announced, {elections} election lines, {cpu:?} of CPU for six peers",
        outage
    );
    assert_eq!(
        count(" bought ") + count(" got "),
        0,
        "sold with no database"
    );
    assert!(
        procs
            .nodes
            .iter_mut()
            .all(|(_, c)| c.try_wait().unwrap().is_none()),
        "a peer exited"
    );

    primary.restart();
    standby.restart();
    let back = Instant::now();
    let (trader, _) = procs.wait_for(None, " bought ");
    eprintln!(
        "outage: servers back {:?} after the kill; peer {trader} sold {:?} later",
        back - down,
        back.elapsed()
    );
    for _ in 0..20 {
        procs.wait_for(None, " bought ");
    }
    procs.terminate_all();
    let out = Command::new(BAZAAR)
        .args(["ledger", "--store", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stored = ledger_units(&String::from_utf8_lossy(&out.stdout));
    for (key, units) in received_units(&procs.seen()) {
        let kept = stored.get(&key).copied().unwrap_or(0);
        assert!(kept >= units, "{key:?}: told {units}, kept {kept}");
    }
    let audit = Command::new(BAZAAR)
        .args(["audit", "--store", &url])
        .output()
        .unwrap();
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stdout)
    );
}
