//! A failure's printed replay line reproduces it: the line `bazaar sim`
//! prints for a planted bug, with every option that is not the default, is
//! run as it is and fails the same way.

use std::process::Command;

const BAZAAR: &str = env!("CARGO_BIN_EXE_bazaar");

fn sim(args: &[&str]) -> (bool, String) {
    let out = Command::new(BAZAAR).arg("sim").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_printed_replay_line_fails_the_same_way() {
    let (passed, first) = sim(&[
        "--seeds",
        "20",
        "--peers",
        "4",
        "--faulty",
        "3s",
        "--settle",
        "2s",
        "--plant",
        "skip-retry-dedup",
    ]);
    assert!(!passed, "the planted bug is caught:\n{first}");
    let failure = first.lines().next().unwrap();
    let replay = first
        .lines()
        .find_map(|l| l.strip_prefix("replay: bazaar sim "))
        .expect("a replay line");
    assert!(replay.contains("--faulty 3000ms"), "{replay}");
    assert!(replay.contains("--settle 2000ms"), "{replay}");
    assert!(replay.contains("--plant skip-retry-dedup"), "{replay}");
    let args: Vec<&str> = replay.split_whitespace().collect();
    let (passed, again) = sim(&args);
    assert!(!passed);
    assert_eq!(again.lines().next(), Some(failure), "{again}");
}
