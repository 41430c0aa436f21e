//! `bazaar up`, the lab's parent program: it runs a cluster of processes,
//! kills the trader on a schedule, reports at the end, and never leaves a
//! peer behind, not even when it is SIGKILLed itself. No timing is
//! asserted; waits are bounds on hangs.

mod support;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use support::processes::{BAZAAR, PATIENCE, write_cluster};

/// `bazaar up` on `cluster` with `args`, its output read line by line.
fn up(cluster: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(BAZAAR)
        .args(["up", "--cluster", cluster.to_str().unwrap()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bazaar up starts");
    let (tx, rx) = mpsc::channel();
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    (child, rx)
}

/// Every line until `up` exits (both pipes closed); panics after `bound`.
fn all_lines(rx: &mpsc::Receiver<String>, bound: Duration) -> Vec<String> {
    let deadline = Instant::now() + bound;
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => return lines,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "bazaar up did not finish; its last lines:\n{}",
                    tail(&lines)
                )
            }
        }
    }
}

fn tail(lines: &[String]) -> String {
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// The peer processes `up` said it started: `[up] started peer 3 (pid 1234)`.
fn pids(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter(|l| l.starts_with("[up] ") && l.contains("(pid "))
        .filter_map(|l| l.rsplit("(pid ").next()?.trim_end_matches(')').parse().ok())
        .collect()
}

/// Whether process `pid` is still a peer of the cluster in `dir` (a pid
/// reused by another program, or a zombie, has another command line).
fn alive_in(pid: u32, dir: &Path) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(dir.to_str().unwrap()))
}

fn none_left(pids: &[u32], dir: &Path) {
    let deadline = Instant::now() + PATIENCE;
    while pids.iter().any(|&p| alive_in(p, dir)) {
        assert!(
            Instant::now() < deadline,
            "peers left behind: {:?}",
            pids.iter()
                .filter(|&&p| alive_in(p, dir))
                .collect::<Vec<_>>()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn up_runs_a_cluster_kills_its_trader_and_reports_from_the_summaries() {
    let (dir, cluster) = write_cluster("up-run", 4, 20, true);
    let (mut child, rx) = up(
        &cluster,
        &[
            "--duration",
            "9s",
            "--kill-trader-every",
            "3s",
            "--restart-after",
            "300ms",
        ],
    );
    let lines = all_lines(&rx, PATIENCE * 3);
    let status = child.wait().unwrap();
    let text = tail(&lines);
    assert!(status.success(), "bazaar up failed: {status}\n{text}");

    let killed = lines
        .iter()
        .position(|l| l.starts_with("[up] killed trader"))
        .unwrap_or_else(|| panic!("no trader was killed:\n{text}"));
    let victim: u32 = lines[killed]
        .split_whitespace()
        .nth(3)
        .and_then(|w| w.parse().ok())
        .expect("the killed trader's id");
    let buyer: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("[peer 1] "))
        .collect();
    assert!(
        buyer.iter().any(|l| l.contains("peer 1 asks trader")),
        "no request in peer 1's log:\n{text}"
    );
    assert!(
        buyer.iter().any(|l| l.contains("peer 1 got ")),
        "no purchase in peer 1's log:\n{text}"
    );
    let after: Vec<&String> = lines[killed..]
        .iter()
        .filter(|l| l.starts_with("[peer 1] "))
        .collect();
    assert!(
        after
            .iter()
            .any(|l| l.contains("peer 1 follows trader")
                && !l.contains(&format!("trader {victim} "))),
        "peer 1 never followed a new trader after {victim} was killed:\n{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("peer 1 summary: ")),
        "no summary from peer 1:\n{text}"
    );
    for header in [
        "peer role    requests",
        "  all ",
        "elections: ",
        "audit passed",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(header)),
            "no {header:?} in the report:\n{text}"
        );
    }
    let started = pids(&lines);
    assert!(
        started.len() >= 4,
        "a pid line for each peer:\n{}",
        tail(&lines)
    );
    none_left(&started, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn up_leaves_no_peer_behind_when_it_is_sigkilled() {
    let (dir, cluster) = write_cluster("up-killed", 3, 20, false);
    let (mut child, rx) = up(&cluster, &[]);
    let deadline = Instant::now() + PATIENCE;
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|l: &String| l.contains("I am the new coordinator"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("no trader was elected:\n{}", tail(&lines)),
        }
    }
    let started = pids(&lines);
    assert_eq!(started.len(), 3, "{}", tail(&lines));
    child.kill().expect("SIGKILL bazaar up");
    let _ = child.wait();
    none_left(&started, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A store that cannot be opened stops `up` before any peer starts: one
/// line naming it, and exit 2, as every other command does.
#[test]
fn up_with_a_store_it_cannot_open_starts_no_peer_and_exits_2() {
    let (dir, cluster) = write_cluster("up-badstore", 3, 20, false);
    // Port 1 on loopback refuses at once: no server listens there.
    let (mut child, rx) = up(
        &cluster,
        &[
            "--store",
            "postgres://bazaar@127.0.0.1:1/books",
            "--duration",
            "2s",
        ],
    );
    let lines = all_lines(&rx, PATIENCE);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{}", lines.join("\n"));
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{}", lines.join("\n"));
    assert!(
        errors[0].contains("cannot open the books") && errors[0].contains("127.0.0.1:1"),
        "{}",
        errors[0]
    );
    assert!(
        pids(&lines).is_empty(),
        "peers started:\n{}",
        lines.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
