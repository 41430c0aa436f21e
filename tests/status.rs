//! `bazaar status` against a live cluster and a dead one: one line per
//! peer, never a hang.

mod support;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use support::processes::{BAZAAR, PATIENCE, Processes, write_cluster};

fn status(cluster: &std::path::Path) -> (bool, String) {
    let out = Command::new(BAZAAR)
        .args([
            "status",
            "--cluster",
            cluster.to_str().unwrap(),
            "--timeout",
            "5s",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The words of peer `id`'s line.
fn row(text: &str, id: u32) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|w| w.first().is_some_and(|first| *first == id.to_string()))
        .unwrap_or_else(|| panic!("no line for peer {id}:\n{text}"))
}

#[test]
fn status_shows_who_trades_in_a_live_cluster_and_nobody_in_a_dead_one() {
    let mut procs = Processes::start_with_metrics("status", 3, 20);
    procs.wait_for(Some(3), "I am the new coordinator");
    // Until every peer has answered a buy and follows the trader.
    let deadline = Instant::now() + PATIENCE;
    let text = loop {
        let (ok, text) = status(&procs.cluster);
        let settled = ok
            && (1..=2).all(|id| {
                let r = row(&text, id);
                r.get(2).is_some_and(|w| w == "yes")
                    && r.get(4).is_some_and(|w| w == "3")
                    && r.get(6).is_some_and(|w| w != "0")
            });
        if settled {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster never settled:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let trader = row(&text, 3);
    assert_eq!(trader[2..5], ["yes", "trader", "3"], "{text}");
    assert_eq!(row(&text, 1)[5], trader[5], "the same epoch:\n{text}");

    procs.terminate_all();
    let asked = Instant::now();
    let (ok, text) = status(&procs.cluster);
    assert!(asked.elapsed() < PATIENCE, "status hung on a dead cluster");
    assert!(!ok, "a dead cluster is a failure:\n{text}");
    for id in 1..=3 {
        assert_eq!(row(&text, id)[2], "no", "{text}");
    }
}

#[test]
fn a_peer_with_no_metrics_address_is_unknown() {
    let (dir, cluster) = write_cluster("status-unknown", 2, 20, false);
    let (ok, text) = status(&cluster);
    assert!(!ok, "{text}");
    assert_eq!(row(&text, 1)[1..3], ["-", "unknown"], "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
