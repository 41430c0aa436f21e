//! Real `bazaar node` processes: start them, read what they log, kill
//! them, stop them, and read the books they leave.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use bazaar_node::cluster::Cluster;

/// The binary under test.
pub const BAZAAR: &str = env!("CARGO_BIN_EXE_bazaar");

/// A bound on every wait, against hangs; never a performance claim.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A cluster of node processes sharing one data directory.
pub struct Processes {
    pub dir: PathBuf,
    pub cluster: PathBuf,
    pub nodes: BTreeMap<u32, Child>,
    pub lines: mpsc::Receiver<(u32, String)>,
    /// Flags every `bazaar node` gets besides the cluster and the id.
    pub node_args: Vec<String>,
    tx: mpsc::Sender<(u32, String)>,
    /// The last lines read, shown when a wait times out.
    recent: std::cell::RefCell<std::collections::VecDeque<(u32, String)>>,
    /// Every line read so far, in order.
    seen: std::cell::RefCell<Vec<(u32, String)>>,
}

/// Writes a cluster file of `n` peers on free loopback ports (and metrics
/// addresses if `metrics`) in a fresh folder named for `test`; returns the
/// folder and the file.
pub fn write_cluster(test: &str, n: u32, think_ms: u64, metrics: bool) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("bazaar-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cluster = Cluster::local(n, "127.0.0.1".parse().unwrap(), 1);
    cluster.timing.think_ms = think_ms;
    let mut addrs = free_addrs(2 * n as usize).into_iter();
    for peer in &mut cluster.peers {
        peer.addr = addrs.next().unwrap();
        let extra = addrs.next().unwrap();
        if metrics {
            peer.metrics = Some(extra);
        }
    }
    let path = dir.join("cluster.toml");
    cluster.save(&path).unwrap();
    (dir, path)
}

/// Free loopback ports, found by binding and letting go.
pub fn free_addrs(n: usize) -> Vec<SocketAddr> {
    bazaar_node::net::free_loopback_addrs(n).expect("loopback binds")
}

impl Processes {
    /// Writes a cluster of `n` peers in a fresh folder named for `test`,
    /// with `think_ms` of thinking, and starts every peer.
    pub fn start(test: &str, n: u32, think_ms: u64) -> Self {
        Self::launch(write_cluster(test, n, think_ms, false), n)
    }

    /// The same, each peer serving its metrics at the address the cluster
    /// file gives it.
    pub fn start_with_metrics(test: &str, n: u32, think_ms: u64) -> Self {
        Self::launch(write_cluster(test, n, think_ms, true), n)
    }

    /// Starts every peer of a cluster already written, each with
    /// `node_args` besides the cluster and the id.
    pub fn launch_with((dir, path): (PathBuf, PathBuf), n: u32, node_args: &[&str]) -> Self {
        let (tx, lines) = mpsc::channel();
        let mut procs = Self {
            dir,
            cluster: path,
            nodes: BTreeMap::new(),
            lines,
            node_args: node_args.iter().map(|a| (*a).to_owned()).collect(),
            tx,
            recent: Default::default(),
            seen: Default::default(),
        };
        for id in 1..=n {
            procs.spawn(id);
        }
        procs
    }

    fn launch(cluster: (PathBuf, PathBuf), n: u32) -> Self {
        Self::launch_with(cluster, n, &[])
    }

    /// Starts (or restarts) peer `id`.
    pub fn spawn(&mut self, id: u32) {
        let mut child = Command::new(BAZAAR)
            .args([
                "node",
                "--cluster",
                self.cluster.to_str().unwrap(),
                "--id",
                &id.to_string(),
            ])
            .args(&self.node_args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bazaar starts");
        let stderr = child.stderr.take().unwrap();
        let lines = self.tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send((id, line)).is_err() {
                    break;
                }
            }
        });
        self.nodes.insert(id, child);
    }

    /// Waits for a line containing `text` from `who` (any peer if `None`);
    /// returns the peer and the line. Panics after PATIENCE.
    pub fn wait_for(&self, who: Option<u32>, text: &str) -> (u32, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((id, line)) => {
                    self.seen.borrow_mut().push((id, line.clone()));
                    let mut recent = self.recent.borrow_mut();
                    recent.push_back((id, line.clone()));
                    if recent.len() > 60 {
                        recent.pop_front();
                    }
                    if who.is_none_or(|w| w == id) && line.contains(text) {
                        return (id, line);
                    }
                }
                Err(_) => {
                    let recent: Vec<String> = self
                        .recent
                        .borrow()
                        .iter()
                        .map(|(id, l)| format!("[{id}] {l}"))
                        .collect();
                    panic!(
                        "no peer {who:?} logged {text:?} in time; last lines:\n{}",
                        recent.join("\n")
                    )
                }
            }
        }
    }

    /// Forgets every line logged so far, so that later waits see only new
    /// ones.
    pub fn drain(&self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.borrow_mut().push(line);
        }
    }

    /// Every line read so far (by waits, drains and
    /// [`Processes::terminate_all`]), in order.
    pub fn seen(&self) -> Vec<(u32, String)> {
        self.seen.borrow().clone()
    }

    /// SIGKILL: no goodbye, no flush.
    pub fn kill(&mut self, id: u32) {
        if let Some(mut child) = self.nodes.remove(&id) {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
        }
    }

    /// SIGTERM to every peer; each must exit cleanly. Returns every line
    /// logged from here on.
    pub fn terminate_all(&mut self) -> Vec<(u32, String)> {
        for child in self.nodes.values() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + PATIENCE;
        for (id, mut child) in std::mem::take(&mut self.nodes) {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(status.success(), "peer {id} did not stop cleanly: {status}");
                    break;
                }
                assert!(Instant::now() < deadline, "peer {id} ignored SIGTERM");
                thread::sleep(Duration::from_millis(20));
            }
        }
        thread::sleep(Duration::from_millis(100)); // let the readers drain
        let rest: Vec<(u32, String)> = self.lines.try_iter().collect();
        self.seen.borrow_mut().extend(rest.iter().cloned());
        rest
    }

    /// Runs `bazaar <what> --data-dir DIR/data`; returns success and stdout.
    pub fn books(&self, what: &str) -> (bool, String) {
        let out = Command::new(BAZAAR)
            .args([what, "--data-dir", self.dir.join("data").to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// Where the books are.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The cluster file as written.
    pub fn cluster(&self) -> Cluster {
        Cluster::load(&self.cluster).unwrap()
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.nodes.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Units per (buyer, product name) in `bazaar ledger` lines such as
/// `epoch 2 batch 17: peer 3 bought 4 fish from peer 2`.
pub fn ledger_units(ledger: &str) -> BTreeMap<(u32, String), u64> {
    let mut units = BTreeMap::new();
    for line in ledger.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "bought") {
            let buyer: u32 = words[i - 1].parse().expect("a buyer id");
            let n: u64 = words[i + 1].parse().expect("a quantity");
            *units.entry((buyer, words[i + 2].to_owned())).or_default() += n;
        }
    }
    units
}

/// Units per (buyer, product name) that buyers were told they got, in
/// lines such as `peer 1 got 4 of 5 fish from peer 2 (3) and peer 4 (1), ...`.
pub fn received_units(lines: &[(u32, String)]) -> BTreeMap<(u32, String), u64> {
    let mut units = BTreeMap::new();
    for (_, line) in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(i) = words.iter().position(|w| *w == "got") else {
            continue;
        };
        if i < 2 || words[i - 2] != "peer" {
            continue;
        }
        let (Ok(buyer), Some(Ok(n))) = (
            words[i - 1].parse::<u32>(),
            words.get(i + 1).map(|w| w.parse::<u64>()),
        ) else {
            continue;
        };
        let product = match words.get(i + 2) {
            Some(&"of") => words.get(i + 4),
            other => other,
        };
        if let Some(product) = product {
            *units.entry((buyer, (*product).to_owned())).or_default() += n;
        }
    }
    units
}

/// Runs `bazaar <what> --store <url>` (`audit`, `ledger`); returns
/// success and what it wrote.
pub fn books_at(what: &str, url: &str) -> (bool, String) {
    let out = Command::new(BAZAAR)
        .args([what, "--store", url])
        .output()
        .expect("bazaar runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Path of a file under the data dir (for tests that corrupt it).
pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("bazaar.db")
}
