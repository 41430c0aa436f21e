//! Six real OS processes over tcp sharing one data directory: SIGKILL the
//! trader, the next one is elected from the same books, and buys go on.

mod support;

use support::processes::Processes;

#[test]
fn six_processes_survive_a_sigkill_of_the_trader_over_tcp() {
    let mut procs = Processes::start("sigkill", 6, 50);
    procs.wait_for(Some(6), "My ID is 6, and I am the new coordinator");
    procs.wait_for(Some(6), " bought ");
    procs.kill(6);
    procs.wait_for(Some(5), "My ID is 5, and I am the new coordinator");
    for _ in 0..5 {
        procs.wait_for(Some(5), " bought ");
    }
    procs.terminate_all();
    let (passed, report) = procs.books("audit");
    assert!(passed, "{report}");
    assert!(report.contains("audit passed"), "{report}");
}
