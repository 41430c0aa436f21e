//! A throwaway PostgreSQL server for tests: a fresh cluster in a temporary
//! folder, on a free loopback port, stopped by its PID when dropped.
//!
//! Shared by `crates/node/tests` and the top-level `tests/` (included with
//! `#[path]`). The binaries are PostgreSQL's own (`initdb`, `pg_ctl`), in
//! `$BAZAAR_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`; as root they
//! run as the `postgres` user. Without them a test prints one line and is
//! skipped, unless `CI` is set: then it fails, and never passes silently.
//!
//! [`skip_unless_ci`] is also how the tests that need root, Chromium or
//! valgrind skip: every test binary that needs it includes this file.

#![allow(dead_code)] // Each test file uses its own share of these.

use std::{
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// A running throwaway server.
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    pid: u32,
    as_postgres: bool,
    /// The address it listens on.
    host: String,
    /// The network namespace it runs in, if not the test's own.
    netns: Option<String>,
}

/// Where PostgreSQL's binaries are, if anywhere: `$BAZAAR_PG_BIN`, or the
/// newest installed version's.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BAZAAR_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    versions().pop().map(|(_, bin)| bin)
}

/// Installed PostgreSQL versions with a `pg_ctl`, oldest first, each with
/// its `bin` folder.
pub fn versions() -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut found: Vec<(u32, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
}

/// Whether the test runs as root (and must run PostgreSQL as `postgres`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Says on one line that the test `name` cannot run here because of
/// `why`, so that the caller returns; under `CI`, where nothing may skip,
/// panics instead, saying that CI must run the `what` tests.
///
/// The line goes straight to standard error: libtest captures what
/// `eprintln!` prints and shows it only for a failure, so a skip would
/// read as a bare `ok`.
pub fn skip_unless_ci(name: &str, why: &str, what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{name}: {why}; CI must run the {what} tests");
    }
    let _ = writeln!(std::io::stderr(), "{name}: skipped: {why}");
}

/// A new, empty temporary folder for the test `name`, named `prefix`, the
/// process, the name's first 12 letters and a count: short, because
/// servers put their sockets in it and socket paths are limited to about
/// 100 bytes.
pub fn scratch_dir(prefix: &str, name: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let short: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{short}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// A free loopback port below the kernel's ephemeral range: a server
/// binds it seconds after it is chosen (after initdb, or a base backup),
/// and no outgoing connection is handed such a port meanwhile, as it may
/// be one from the range that `bind(0)` draws from.
pub fn quiet_port() -> u16 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let low: u64 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let span = 8000.min(low.saturating_sub(1024)).max(1);
    let start = u64::from(std::process::id()) * 7919;
    for _ in 0..span {
        let port = low - 1 - (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = u16::try_from(port).expect("a port number");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below {low}")
}

/// Runs `command`, which must succeed; `what` names it in the panic.
pub fn must(what: &str, command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what} cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl PgServer {
    /// Starts a server for the test `name`, or returns `None` (after one
    /// line on stderr) if PostgreSQL is not installed and `CI` is not set.
    ///
    /// # Panics
    /// If the server cannot start, or PostgreSQL is missing under `CI`.
    pub fn start(name: &str) -> Option<Self> {
        Self::start_at(name, None)
    }

    /// Starts a server for the test `name` inside network namespace `ns`,
    /// listening on `addr` (port 5432), and trusting every host of `addr`'s
    /// /24: a database host for peers on hosts of their own.
    ///
    /// # Panics
    /// As [`PgServer::start`].
    pub fn start_in(name: &str, ns: &str, addr: std::net::Ipv4Addr) -> Option<Self> {
        Self::start_at(name, Some((ns.to_owned(), addr)))
    }

    /// A server not yet made: its folder (owned by `postgres` when
    /// root), place and binaries; `None` after one line if PostgreSQL is
    /// missing and `CI` is not set.
    fn unstarted(name: &str, place: Option<(String, std::net::Ipv4Addr)>) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            let why =
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin, no $BAZAAR_PG_BIN)";
            skip_unless_ci(name, why, "PostgreSQL");
            return None;
        };
        let dir = scratch_dir("bzpg", name);
        let as_postgres = is_root();
        let (host, netns) = match place {
            Some((ns, addr)) => (addr.to_string(), Some(ns)),
            None => ("127.0.0.1".to_owned(), None),
        };
        let server = Self {
            bin,
            dir,
            port: 0,
            pid: 0,
            as_postgres,
            host,
            netns,
        };
        if as_postgres {
            must(
                "chown",
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&server.dir),
            );
        }
        Some(server)
    }

    fn start_at(name: &str, place: Option<(String, std::net::Ipv4Addr)>) -> Option<Self> {
        let mut server = Self::unstarted(name, place.clone())?;
        let data = server.data();
        let mut initdb = server.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "bazaar", "--auth=trust", "--no-sync"]);
        must("initdb", &mut initdb);
        if let Some((_, addr)) = &place {
            let o = addr.octets();
            let hba = data.join("pg_hba.conf");
            let old = std::fs::read_to_string(&hba).expect("pg_hba.conf");
            let net = format!("{}.{}.{}.0/24", o[0], o[1], o[2]);
            let rule = format!("host all all {net} trust\nhost replication all {net} trust\n");
            std::fs::write(&hba, rule + &old).expect("pg_hba.conf written");
        }
        // The port is free when asked; another process may take it before
        // the server does, so try a few.
        for attempt in 0..5 {
            server.port = if server.netns.is_some() {
                5432
            } else {
                quiet_port()
            };
            let out = server.launch();
            if out.status.success() {
                server.pid = read_pid(&data);
                return Some(server);
            }
            if attempt == 4 {
                server.launch_failed(name, &out);
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `pg_ctl start` on the server's folder, address and port; waits
    /// until it accepts connections (a standby: until it is consistent).
    fn launch(&self) -> Output {
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-c listen_addresses={} -p {} -k {} -c fsync=on \
                 -c max_connections=40",
                self.host,
                self.port,
                self.dir.display()
            ))
            .arg("start");
        start.output().expect("pg_ctl runs")
    }

    fn launch_failed(&self, name: &str, out: &Output) -> ! {
        panic!(
            "{name}: PostgreSQL did not start: {}\n{}\nlog:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
        );
    }

    /// A command of PostgreSQL's, as the `postgres` user when root, in
    /// the server's network namespace if it has one.
    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut words: Vec<std::ffi::OsString> = Vec::new();
        if let Some(ns) = &self.netns {
            words.extend(["ip", "netns", "exec", ns.as_str()].map(Into::into));
        }
        if self.as_postgres {
            words.extend(["runuser", "-u", "postgres", "--"].map(Into::into));
        }
        words.push(path.into_os_string());
        let mut command = Command::new(&words[0]);
        command.args(&words[1..]);
        command
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The URL of database `db` as the superuser `bazaar` (no password:
    /// the throwaway cluster trusts loopback).
    pub fn url_of(&self, db: &str) -> String {
        format!("postgres://bazaar@{}:{}/{db}", self.host, self.port)
    }

    /// The URL of the default database, `postgres`.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// A new empty database; returns its URL.
    pub fn database(&self, db: &str) -> String {
        self.admin()
            .batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .expect("CREATE DATABASE");
        self.url_of(db)
    }

    /// A superuser session on database `postgres`.
    pub fn admin(&self) -> postgres::Client {
        self.admin_of("postgres")
    }

    /// A superuser session on database `db`, through the server's Unix
    /// socket: it reaches a server in a network namespace too.
    pub fn admin_of(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host_path(&self.dir)
            .port(self.port)
            .user("bazaar")
            .dbname(db)
            .connect(postgres::NoTls)
            .expect("an admin session")
    }

    /// The folder holding the cluster (`data/`) and its log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Requires passwords for TCP logins by roles other than `bazaar`
    /// (`scram-sha-256`), and reloads the server's configuration.
    pub fn require_passwords(&self) {
        let hba = self.data().join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        let new = format!(
            "host all bazaar 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n{old}"
        );
        std::fs::write(&hba, new).expect("pg_hba.conf written");
        self.admin()
            .batch_execute("SELECT pg_reload_conf()")
            .expect("reload");
        // The postmaster rereads the file on the signal; new logins see it.
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Streaming replication: a primary that waits for a synchronous
/// standby, the standby, and the failures a test inflicts on them.
impl PgServer {
    /// Makes this server a primary whose every commit waits until a
    /// synchronous standby has it (`synchronous_standby_names = '*'`,
    /// `synchronous_commit = on`), and reloads it.
    pub fn require_sync_standby(&self) {
        let mut admin = self.admin();
        for sql in [
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
            "ALTER SYSTEM SET synchronous_commit = 'on'",
            "SELECT pg_reload_conf()",
        ] {
            admin
                .batch_execute(sql)
                .expect("synchronous replication set");
        }
    }

    /// A streaming standby of `primary` for the test `name`, made with
    /// `pg_basebackup -R` (it follows the primary from its first start),
    /// started on a free loopback port, or in `place` (port 5432). Waits
    /// until the primary names it a synchronous standby, if it has any.
    ///
    /// # Panics
    /// If the copy or the start fails, or the standby never streams.
    pub fn standby_of(
        primary: &PgServer,
        name: &str,
        place: Option<(String, std::net::Ipv4Addr)>,
    ) -> Self {
        let mut standby = Self::unstarted(name, place).expect("PostgreSQL is installed");
        let mut copy = standby.command("pg_basebackup");
        copy.arg("-D")
            .arg(standby.data())
            .args(["-R", "-X", "stream", "-c", "fast", "-U", "bazaar", "-h"])
            .arg(&primary.host)
            .arg("-p")
            .arg(primary.port.to_string());
        must("pg_basebackup", &mut copy);
        standby.port = if standby.netns.is_some() {
            5432
        } else {
            quiet_port()
        };
        let out = standby.launch();
        if !out.status.success() {
            standby.launch_failed(name, &out);
        }
        standby.pid = read_pid(&standby.data());
        primary.wait_for_standby();
        standby
    }

    /// Waits until a standby streams to this primary, synchronously if
    /// the primary asks for synchronous standbys.
    ///
    /// # Panics
    /// After 30 s.
    pub fn wait_for_standby(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut admin = self.admin();
        loop {
            let row = admin
                .query_one(
                    "SELECT count(*) FILTER (WHERE state = 'streaming'), \
                            count(*) FILTER (WHERE sync_state = 'sync'), \
                            current_setting('synchronous_standby_names') <> '' \
                     FROM pg_stat_replication",
                    &[],
                )
                .expect("pg_stat_replication");
            let (streaming, sync, wants_sync): (i64, i64, bool) =
                (row.get(0), row.get(1), row.get(2));
            if streaming > 0 && (sync > 0 || !wants_sync) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no standby streams to {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL to the postmaster and every process it started, at once:
    /// the server's host dies. The folder stays, for [`PgServer::restart`].
    pub fn kill(&mut self) {
        if self.pid == 0 {
            return;
        }
        let mut pids = children_of(self.pid);
        pids.push(self.pid);
        let words: Vec<String> = pids.iter().map(u32::to_string).collect();
        let _ = Command::new("kill").arg("-KILL").args(&words).output();
        let gone = Instant::now() + Duration::from_secs(20);
        while pids.iter().any(|pid| alive(*pid)) {
            assert!(
                Instant::now() < gone,
                "the server's processes outlived SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // As after the death of its host: the lock files name a process
        // that is gone (here, perhaps a zombie not yet reaped, which
        // `pg_ctl start` would take for a running server).
        let _ = std::fs::remove_file(self.data().join("postmaster.pid"));
        let socket = self.dir.join(format!(".s.PGSQL.{}", self.port));
        let _ = std::fs::remove_file(socket.with_extension(format!("{}.lock", self.port)));
        let _ = std::fs::remove_file(socket);
        self.pid = 0;
    }

    /// Starts a killed server again, on its folder and port.
    ///
    /// # Panics
    /// If it does not start.
    pub fn restart(&mut self) {
        assert_eq!(self.pid, 0, "restart a server that was killed");
        let out = self.launch();
        if !out.status.success() {
            self.launch_failed("restart", &out);
        }
        self.pid = read_pid(&self.data());
    }

    /// `pg_ctl promote`: a standby becomes a primary, and waits for it.
    ///
    /// # Panics
    /// If the promotion fails.
    pub fn promote(&self) {
        let mut promote = self.command("pg_ctl");
        promote
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "promote"]);
        must("pg_ctl promote", &mut promote);
    }

    /// The URL of database `db` on `servers`, in the order given, asking
    /// for the writable one (libpq's multi-host form).
    pub fn url_of_all(servers: &[&PgServer], db: &str) -> String {
        let hosts: Vec<String> = servers
            .iter()
            .map(|s| format!("{}:{}", s.host, s.port))
            .collect();
        format!(
            "postgres://bazaar@{}/{db}?target_session_attrs=read-write",
            hosts.join(",")
        )
    }

    /// Whether this server is a standby (in recovery).
    pub fn is_standby(&self) -> bool {
        self.admin()
            .query_one("SELECT pg_is_in_recovery()", &[])
            .expect("pg_is_in_recovery")
            .get(0)
    }
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let child: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            // pid (comm) state ppid ...: the command may hold spaces.
            let after = &stat[stat.rfind(')')? + 2..];
            let ppid: u32 = after.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == pid).then_some(child)
        })
        .collect()
}

/// Whether process `pid` still runs (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat.get(i + 2..i + 3))
            .is_some_and(|state| state != "Z")
    })
}

/// The postmaster's PID: the first line of `postmaster.pid`.
fn read_pid(data: &Path) -> u32 {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse().ok())
        .expect("postmaster.pid names the server's PID")
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Immediate shutdown (SIGQUIT to the postmaster, by its PID): the
        // cluster is thrown away, so nothing needs to be flushed.
        if self.pid != 0 {
            let _ = Command::new("kill")
                .args(["-QUIT", &self.pid.to_string()])
                .output();
            let gone = Instant::now() + Duration::from_secs(20);
            while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < gone {
                std::thread::sleep(Duration::from_millis(20));
            }
            if Path::new(&format!("/proc/{}", self.pid)).exists() {
                let _ = Command::new("kill")
                    .args(["-KILL", &self.pid.to_string()])
                    .output();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
