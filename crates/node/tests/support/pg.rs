//! A throwaway PostgreSQL server for tests: a fresh cluster in a temporary
//! folder, on a free loopback port, stopped by its PID when dropped.
//!
//! Shared by `crates/node/tests` and the top-level `tests/` (included with
//! `#[path]`). The binaries are PostgreSQL's own (`initdb`, `pg_ctl`), in
//! `$BAZAAR_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`; as root they
//! run as the `postgres` user. Without them a test prints one line and is
//! skipped, unless `CI` is set: then it fails, and never passes silently.

#![allow(dead_code)] // Each test file uses its own share of these.

use std::{
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

/// Where PostgreSQL's binaries are, if anywhere.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BAZAAR_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A free loopback port (free when asked; the server takes it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
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

    fn start_at(name: &str, place: Option<(String, std::net::Ipv4Addr)>) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            let why =
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin, no $BAZAAR_PG_BIN)";
            if std::env::var_os("CI").is_some() {
                panic!("{name}: {why}; CI must run the PostgreSQL tests");
            }
            eprintln!("{name}: skipped: {why}");
            return None;
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // Short: the server's socket lives in it, and socket paths are
        // limited to about 100 bytes.
        let short: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect();
        let dir = std::env::temp_dir().join(format!("bzpg-{}-{short}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let as_postgres = is_root();
        let (host, netns) = match &place {
            Some((ns, addr)) => (addr.to_string(), Some(ns.clone())),
            None => ("127.0.0.1".to_owned(), None),
        };
        let mut server = Self {
            bin,
            dir,
            port: 0,
            pid: 0,
            as_postgres,
            host,
            netns,
        };
        if as_postgres {
            server.must(
                "chown",
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&server.dir),
            );
        }
        let data = server.data();
        let mut initdb = server.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "bazaar", "--auth=trust", "--no-sync"]);
        server.must("initdb", &mut initdb);
        if let Some((_, addr)) = &place {
            let o = addr.octets();
            let hba = data.join("pg_hba.conf");
            let old = std::fs::read_to_string(&hba).expect("pg_hba.conf");
            let rule = format!("host all all {}.{}.{}.0/24 trust\n", o[0], o[1], o[2]);
            std::fs::write(&hba, rule + &old).expect("pg_hba.conf written");
        }
        // The port is free when asked; another process may take it before
        // the server does, so try a few.
        for attempt in 0..5 {
            server.port = if server.netns.is_some() {
                5432
            } else {
                free_port()
            };
            let mut start = server.command("pg_ctl");
            start
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(server.dir.join("server.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-c listen_addresses={} -p {} -k {} -c fsync=on \
                     -c max_connections=40",
                    server.host,
                    server.port,
                    server.dir.display()
                ))
                .arg("start");
            let out = start.output().expect("pg_ctl runs");
            if out.status.success() {
                server.pid = read_pid(&data);
                return Some(server);
            }
            if attempt == 4 {
                panic!(
                    "{name}: PostgreSQL did not start: {}\n{}\nlog:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default()
                );
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
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

    fn must(&self, what: &str, command: &mut Command) -> Output {
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

    /// A superuser session on database `db`.
    pub fn admin_of(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url_of(db), postgres::NoTls).expect("an admin session")
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
