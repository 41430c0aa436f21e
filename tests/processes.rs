//! Six real OS processes over tcp sharing one data directory: SIGKILL the
//! trader, the next one is elected from the same books, and buys go on.

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use bazaar_node::cluster::Cluster;

const BAZAAR: &str = env!("CARGO_BIN_EXE_bazaar");
const PATIENCE: Duration = Duration::from_secs(30);

/// A `bazaar node` process and the lines it logs.
struct Node {
    child: Child,
}

/// Free loopback ports, found by binding and letting go.
fn free_addrs(n: usize) -> Vec<SocketAddr> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("loopback binds"))
        .collect();
    listeners.iter().map(|l| l.local_addr().unwrap()).collect()
}

fn write_cluster(dir: &Path, n: u32) -> std::path::PathBuf {
    let mut cluster = Cluster::local(n, "127.0.0.1".parse().unwrap(), 1);
    for (peer, addr) in cluster.peers.iter_mut().zip(free_addrs(n as usize)) {
        peer.addr = addr;
    }
    let path = dir.join("cluster.toml");
    cluster.save(&path).unwrap();
    path
}

fn start(cluster: &Path, id: u32, lines: mpsc::Sender<(u32, String)>) -> Node {
    let mut child = Command::new(BAZAAR)
        .args([
            "node",
            "--cluster",
            cluster.to_str().unwrap(),
            "--id",
            &id.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bazaar starts");
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send((id, line)).is_err() {
                break;
            }
        }
    });
    Node { child }
}

/// Waits for a line from `who` containing `text`; panics after PATIENCE.
fn wait_for(lines: &mpsc::Receiver<(u32, String)>, who: u32, text: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok((id, line)) if id == who && line.contains(text) => return line,
            Ok(_) => {}
            Err(_) => panic!("peer {who} never logged {text:?}"),
        }
    }
}

fn terminate(node: &mut Node) {
    let pid = node.child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = node.child.try_wait() {
            assert!(
                status.success(),
                "SIGTERM stops a node cleanly, got {status}"
            );
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("a node ignored SIGTERM");
}

#[test]
fn six_processes_survive_a_sigkill_of_the_trader_over_tcp() {
    let dir = std::env::temp_dir().join(format!("bazaar-processes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cluster = write_cluster(&dir, 6);
    let (tx, lines) = mpsc::channel();
    let mut nodes: Vec<Node> = (1..=6).map(|id| start(&cluster, id, tx.clone())).collect();

    wait_for(&lines, 6, "My ID is 6, and I am the new coordinator");
    wait_for(&lines, 6, " bought ");
    nodes[5].child.kill().expect("SIGKILL the trader");
    let _ = nodes[5].child.wait();

    wait_for(&lines, 5, "My ID is 5, and I am the new coordinator");
    for _ in 0..5 {
        wait_for(&lines, 5, " bought ");
    }
    for node in &mut nodes[..5] {
        terminate(node);
    }

    let audit = Command::new(BAZAAR)
        .args(["audit", "--data-dir", dir.join("data").to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    assert!(report.contains("audit passed"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
