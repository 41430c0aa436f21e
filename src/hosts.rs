//! Hosts in network namespaces, for tests and experiments that need peers
//! on several machines: one namespace per peer, each with its own address
//! on a bridge that lives in a namespace of its own (so no address exists
//! outside them), plus one namespace for a database server. Links can be
//! cut, delayed (`tc netem`) and partitioned (blackhole routes); every
//! namespace (and so every interface) is deleted when the [`Hosts`] value
//! is dropped, also when the caller fails. Needs root and iproute2.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

/// A bound on every wait, against hangs; never a performance claim.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The hosts' subnet, inside the namespaces only.
const SUBNET: [u8; 3] = [10, 213, 0];

/// The database host's last octet.
pub const DB_HOST: u8 = 100;

/// The last octet of a second database host, for a standby
/// ([`Hosts::add_host`]).
pub const STANDBY_HOST: u8 = 101;

/// A line a peer logged, with when the test read it: (peer, when, text).
pub type TimedLine = (u32, Instant, String);

/// Peers on hosts of their own.
pub struct Hosts {
    bazaar: PathBuf,
    prefix: String,
    n: u32,
    /// The folder of the cluster file and the data directories.
    pub dir: PathBuf,
    /// The cluster file.
    pub cluster: PathBuf,
    nodes: BTreeMap<u32, Child>,
    extra: Vec<String>,
    /// Every line the peers log, as it comes.
    pub lines: mpsc::Receiver<TimedLine>,
    tx: mpsc::Sender<TimedLine>,
    blackholes: Vec<(u32, Ipv4Addr)>,
    /// The namespaces of hosts added after the first database host.
    added: Vec<String>,
}

/// Why the hosts cannot be made here.
pub fn unavailable() -> Option<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Some("network namespaces need root".into());
    }
    let ip = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ip {
        return Some("no `ip netns` (iproute2) on this machine".into());
    }
    None
}

/// A command that set up or changed the hosts failed.
#[derive(Debug, thiserror::Error)]
#[error("{command}: {detail}")]
pub struct HostsError {
    /// The command, as typed.
    pub command: String,
    /// What it said.
    pub detail: String,
}

/// Runs `PROGRAM ARGS`, failing with its words.
fn run(program: &str, args: &[&str]) -> Result<(), HostsError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| HostsError {
            command: command.clone(),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(HostsError {
            command,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn ip(args: &[&str]) -> Result<(), HostsError> {
    run("ip", args)
}

/// Deletes the namespaces left by earlier runs whose process is gone.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name
            .strip_prefix("bzr")
            .map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap_or("")
            })
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

impl Hosts {
    /// Makes `n` peer hosts and the database host, connected by one
    /// bridge, and a cluster file for them with `think_ms` of thinking;
    /// peers run the `bazaar` binary at `bazaar`.
    ///
    /// # Errors
    /// A [`HostsError`] naming the command that failed.
    pub fn create(bazaar: &Path, name: &str, n: u32, think_ms: u64) -> Result<Self, HostsError> {
        sweep_stale();
        let pid = std::process::id();
        // One letter a set of hosts, so that two tests of one process
        // (one pid) make hosts of their own: interface names stay within
        // 15 bytes (bzr, 7 digits, the letter, h, 3 digits).
        static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
        let set = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 26;
        let prefix = format!("bzr{pid}{}", char::from(b'a' + set));
        let dir = std::env::temp_dir().join(format!("bazaar-hosts-{name}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (tx, lines) = mpsc::channel();
        let hosts = Self {
            bazaar: bazaar.to_owned(),
            prefix,
            n,
            dir: dir.clone(),
            cluster: dir.join("cluster.toml"),
            nodes: BTreeMap::new(),
            extra: Vec::new(),
            lines,
            tx,
            blackholes: Vec::new(),
            added: Vec::new(),
        };
        let switch = hosts.ns_named("sw");
        ip(&["netns", "add", &switch])?;
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &switch, "link", "set", "br0", "up"])?;
        let mut hosts_and_db: Vec<(String, u8)> = (1..=n).map(|i| (hosts.ns(i), i as u8)).collect();
        hosts_and_db.push((hosts.ns_named("db"), DB_HOST));
        for (ns, octet) in &hosts_and_db {
            hosts.plug(ns, *octet)?;
        }
        let mut cluster = bazaar_node::cluster::Cluster::local(n, "127.0.0.1".parse().unwrap(), 1);
        cluster.timing.think_ms = think_ms;
        for peer in &mut cluster.peers {
            peer.addr = std::net::SocketAddr::new(Self::address(peer.id.0 as u8).into(), 7100);
        }
        cluster.save(&hosts.cluster).map_err(|e| HostsError {
            command: "write the cluster file".into(),
            detail: e.to_string(),
        })?;
        Ok(hosts)
    }

    /// Makes the namespace `ns`, a host whose address ends in `octet`,
    /// plugged into the bridge.
    fn plug(&self, ns: &str, octet: u8) -> Result<(), HostsError> {
        let switch = self.ns_named("sw");
        ip(&["netns", "add", ns])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        let inside = format!("{}h{octet}", self.prefix);
        let outside = format!("{}s{octet}", self.prefix);
        ip(&[
            "link", "add", &inside, "type", "veth", "peer", "name", &outside,
        ])?;
        ip(&["link", "set", &inside, "netns", ns])?;
        ip(&["link", "set", &outside, "netns", &switch])?;
        ip(&["-n", ns, "link", "set", &inside, "name", "eth0"])?;
        let addr = format!("{}/24", Self::address(octet));
        ip(&["-n", ns, "addr", "add", &addr, "dev", "eth0"])?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", &switch, "link", "set", &outside, "master", "br0"])?;
        ip(&["-n", &switch, "link", "set", &outside, "up"])
    }

    /// Adds a host named `what` (such as a database standby's) whose
    /// address ends in `octet`; returns its namespace.
    ///
    /// # Errors
    /// A [`HostsError`] naming the command that failed.
    pub fn add_host(&mut self, what: &str, octet: u8) -> Result<String, HostsError> {
        let ns = self.ns_named(what);
        self.added.push(ns.clone());
        self.plug(&ns, octet)?;
        Ok(ns)
    }

    /// Takes the host named `what` (`"db"`, or one added) off the
    /// network, or puts it back.
    ///
    /// # Errors
    /// A [`HostsError`] if `ip` refuses.
    pub fn link_named(&self, what: &str, up: bool) -> Result<(), HostsError> {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.ns_named(what), "link", "set", "eth0", state])
    }

    /// The address of the host with this last octet.
    pub fn address(octet: u8) -> Ipv4Addr {
        Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], octet)
    }

    /// The namespace of peer `id`'s host.
    pub fn ns(&self, id: u32) -> String {
        format!("{}-h{id}", self.prefix)
    }

    /// The namespace named `what` of this run.
    pub fn ns_named(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    /// Flags every `bazaar node` gets, such as `--store URL`.
    pub fn node_flags(&mut self, flags: &[&str]) {
        self.extra = flags.iter().map(|f| (*f).to_owned()).collect();
    }

    /// Starts (or restarts) peer `id` on its host. Each host keeps its own
    /// data directory (its last incarnation, its summary); the books are
    /// wherever the node flags say (`--store URL`), or else in one SQLite
    /// data directory that the hosts share through the file system.
    pub fn spawn(&mut self, id: u32) {
        let own = self.extra.iter().any(|f| f == "--store");
        let data = if own {
            self.dir.join(format!("data-{id}"))
        } else {
            self.dir.join("data")
        };
        let parent = std::process::id().to_string();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns(id)])
            .arg(&self.bazaar)
            .arg("node")
            .args(["--cluster", self.cluster.to_str().unwrap()])
            .args(["--id", &id.to_string()])
            .args(["--data-dir", data.to_str().unwrap()])
            .args(["--parent-pid", &parent])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bazaar starts in its namespace");
        let stderr = child.stderr.take().unwrap();
        let lines = self.tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send((id, Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        self.nodes.insert(id, child);
    }

    /// Starts every peer.
    pub fn spawn_all(&mut self) {
        for id in 1..=self.n {
            self.spawn(id);
        }
    }

    /// Waits up to [`PATIENCE`] for a line of `who` (any peer if `None`)
    /// containing `text`; every line read meanwhile is kept in `seen`.
    /// `None` if it never came.
    pub fn wait_for(
        &self,
        who: Option<u32>,
        text: &str,
        seen: &mut Vec<TimedLine>,
    ) -> Option<TimedLine> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            seen.push(line.clone());
            if who.is_none_or(|w| w == line.0) && line.2.contains(text) {
                return Some(line);
            }
        }
    }

    /// Every line logged until `for_` has passed.
    pub fn collect(&self, for_: Duration, seen: &mut Vec<TimedLine>) -> Vec<TimedLine> {
        let until = Instant::now() + for_;
        let mut got = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            seen.push(line.clone());
            got.push(line);
        }
        got
    }

    /// Takes peer `id`'s host off the network, or puts it back.
    ///
    /// # Errors
    /// A [`HostsError`] if `ip` refuses.
    pub fn link(&self, id: u32, up: bool) -> Result<(), HostsError> {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.ns(id), "link", "set", "eth0", state])
    }

    /// Delays every packet leaving each host (peers and database) by
    /// `delay` (`tc netem`), so that a round trip between two hosts takes
    /// twice that more; `Duration::ZERO` removes the delay.
    ///
    /// # Errors
    /// A [`HostsError`] if `tc` is missing or refuses.
    pub fn delay(&self, delay: Duration) -> Result<(), HostsError> {
        let mut all: Vec<String> = (1..=self.n).map(|i| self.ns(i)).collect();
        all.push(self.ns_named("db"));
        for ns in all {
            let _ = run(
                "ip",
                &[
                    "netns", "exec", &ns, "tc", "qdisc", "del", "dev", "eth0", "root",
                ],
            );
            if !delay.is_zero() {
                let us = format!("{}us", delay.as_micros());
                // A kernel built without sch_netem says only "Specified
                // qdisc kind is unknown": say what that means.
                run(
                    "ip",
                    &[
                        "netns", "exec", &ns, "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                        "delay", &us,
                    ],
                )
                .map_err(|mut e| {
                    if e.detail.contains("qdisc kind is unknown") {
                        e.detail = "this kernel has no sch_netem (tc netem), so links cannot \
                                    be delayed"
                            .into();
                    }
                    e
                })?;
            }
        }
        Ok(())
    }

    /// Cuts every host of `a` off from every host of `b` (both still reach
    /// the database host).
    ///
    /// # Errors
    /// A [`HostsError`] if `ip` refuses.
    pub fn partition(&mut self, a: &[u32], b: &[u32]) -> Result<(), HostsError> {
        for (from, to) in a
            .iter()
            .flat_map(|&x| b.iter().map(move |&y| (x, y)))
            .chain(b.iter().flat_map(|&y| a.iter().map(move |&x| (y, x))))
        {
            let addr = Self::address(to as u8);
            ip(&[
                "-n",
                &self.ns(from),
                "route",
                "add",
                "blackhole",
                &format!("{addr}/32"),
            ])?;
            self.blackholes.push((from, addr));
        }
        Ok(())
    }

    /// Undoes every partition.
    ///
    /// # Errors
    /// A [`HostsError`] if `ip` refuses.
    pub fn heal(&mut self) -> Result<(), HostsError> {
        for (from, addr) in std::mem::take(&mut self.blackholes) {
            let ns = self.ns(from);
            ip(&[
                "-n",
                &ns,
                "route",
                "del",
                "blackhole",
                &format!("{addr}/32"),
            ])?;
        }
        Ok(())
    }

    /// SIGKILL: no goodbye.
    pub fn kill(&mut self, id: u32) {
        if let Some(mut child) = self.nodes.remove(&id) {
            // `ip netns exec` runs bazaar in its place (exec), so the
            // child's PID is the peer's.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM to every peer, then waits for each to exit; returns the
    /// peers that did not stop cleanly (killed after [`PATIENCE`]).
    pub fn terminate_all(&mut self) -> Vec<u32> {
        for child in self.nodes.values() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + PATIENCE;
        let mut unclean = Vec::new();
        for (id, mut child) in std::mem::take(&mut self.nodes) {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    if !status.success() {
                        unclean.push(id);
                    }
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    unclean.push(id);
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        unclean
    }

    /// Runs `bazaar ARGS` in namespace `ns` (to reach a host's network);
    /// returns whether it succeeded and what it printed.
    pub fn bazaar_in(&self, ns: &str, args: &[&str]) -> (bool, String) {
        let Ok(out) = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(&self.bazaar)
            .args(args)
            .output()
        else {
            return (false, format!("cannot run {}", self.bazaar.display()));
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.nodes) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut names: Vec<String> = (1..=self.n).map(|i| self.ns(i)).collect();
        names.push(self.ns_named("db"));
        names.extend(std::mem::take(&mut self.added));
        names.push(self.ns_named("sw"));
        for ns in names {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}
