//! A throwaway pg_auto_failover formation for tests: a monitor and two
//! PostgreSQL nodes, a primary and a synchronous secondary, on free
//! loopback ports in a temporary folder, with the monitor's health checks
//! tuned so that a failover takes seconds, not the default half minute.
//! (`tools.rs`: what it needs from the machine; `service.rs`: each
//! process, and what it leaves when killed.)
//!
//! Each `pg_autoctl` service (the monitor, node1, node2) is a process this
//! harness starts, in a process group of its own, as the `postgres` user
//! when root; the drop stops each by its PID (SIGQUIT: an immediate stop
//! of its PostgreSQL), SIGKILLs what is left, removes the IPC objects a
//! SIGKILLed server and keeper leave behind, and removes the folder.
//!
//! Without pg_auto_failover (`pg_autoctl` and the `pgautofailover`
//! extension for an installed PostgreSQL) a test prints one line and is
//! skipped, unless `CI` is set: then it fails, and never passes silently.
//! As root it needs a `postgres` user to run `pg_autoctl` as (it refuses
//! to run as root).

#![allow(dead_code)] // Each test file uses its own share of these.

mod service;
mod tools;

use std::{
    cell::RefCell,
    fs::File,
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use postgres::{Row, types::ToSql};
use service::{Service, postmaster, wait_gone};
use tools::{Tools, installed};

use super::pg::{must, quiet_port, scratch_dir, skip_unless_ci};

/// A bound on each step of setting the formation up (initdb, a base
/// backup) on a loaded 2-core machine; never a performance claim.
const SETUP: Duration = Duration::from_secs(120);

/// The monitor's settings: a node is checked every second, one failed
/// retry 200 ms later marks it bad, and a node whose keeper has not
/// reported for 2 s while it fails its checks is declared unhealthy; the
/// old primary gets 1 s to drain before the secondary takes writes; and
/// the monitor fails nodes over from 1 s after its own start. (The
/// defaults: 5 s, 5 s, 2 retries 2 s apart, 20 s, 30 s and 10 s. The last
/// one held back every failover of a test that kills within 10 s of
/// starting the formation, however dead the primary.)
pub const MONITOR_SETTINGS: &[(&str, &str)] = &[
    ("pgautofailover.health_check_period", "1000"),
    ("pgautofailover.health_check_timeout", "1000"),
    ("pgautofailover.health_check_max_retries", "1"),
    ("pgautofailover.health_check_retry_delay", "200"),
    ("pgautofailover.node_considered_unhealthy_timeout", "2000"),
    ("pgautofailover.primary_demote_timeout", "1000"),
    ("pgautofailover.startup_grace_period", "1000"),
];

/// The database the nodes serve, and the role that owns it.
pub const DATABASE: &str = "bazaar";

/// The role a node plays, as the monitor reports and assigns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    /// The node's name (`node1`, `node2`).
    pub name: String,
    /// The state its keeper last reported.
    pub reported: String,
    /// The state the monitor assigned it.
    pub goal: String,
}

/// A promotion seen on the monitor after [`Formation::kill_primary`].
#[derive(Debug, Clone)]
pub struct Promotion {
    /// The node now taking writes.
    pub node: String,
    /// From the kill to the monitor showing that node as primary.
    pub after: Duration,
}

/// A running formation.
pub struct Formation {
    dir: PathBuf,
    tools: Tools,
    monitor: Service,
    nodes: Vec<Service>,
    /// The node killed, and when.
    killed: Option<(String, Instant)>,
    /// A session on the monitor, kept between polls.
    session: RefCell<Option<postgres::Client>>,
}

impl Formation {
    /// Starts a formation for the test `name` and waits until node1 is
    /// primary and node2 its synchronous secondary; or returns `None`
    /// (after one line on stderr) if pg_auto_failover is not installed and
    /// `CI` is not set.
    ///
    /// # Panics
    /// If a step fails, or pg_auto_failover is missing under `CI`.
    pub fn start(name: &str) -> Option<Self> {
        let tools = match installed() {
            Ok(found) => found,
            Err(why) => {
                skip_unless_ci(name, &why, "pg_auto_failover");
                return None;
            }
        };
        let dir = scratch_dir("bzaf", name);
        // `run` holds each service's pid file; pg_autoctl falls back to
        // /tmp when XDG_RUNTIME_DIR does not exist.
        std::fs::create_dir_all(dir.join("run")).expect("a temporary folder");
        if tools.run_as.is_some() {
            must(
                "chown",
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
            );
        }
        let service = |name: &str| Service {
            name: name.to_owned(),
            pgdata: dir.join(name),
            port: quiet_port(),
            child: None,
            leftovers: Default::default(),
        };
        let mut formation = Self {
            monitor: service("monitor"),
            nodes: vec![service("node1"), service("node2")],
            dir,
            tools,
            killed: None,
            session: RefCell::new(None),
        };
        formation.start_monitor();
        formation.start_node(0);
        formation.wait_for_roles(&[("node1", "single")]);
        let owner =
            format!("CREATE ROLE {DATABASE} LOGIN; ALTER DATABASE {DATABASE} OWNER TO {DATABASE}");
        formation
            .admin(0, "postgres")
            .batch_execute(&owner)
            .expect("the bazaar role");
        formation.start_node(1);
        formation.wait_for_roles(&[("node1", "primary"), ("node2", "secondary")]);
        formation.check_synchronous();
        Some(formation)
    }

    /// `pg_autoctl` as the user it runs as, with its files in the
    /// formation's folder and the servers' sockets there too.
    fn autoctl(&self) -> Command {
        let mut command = Command::new(&self.tools.autoctl);
        if let Some((uid, gid)) = self.tools.run_as {
            command.uid(uid).gid(gid);
        }
        let dir = &self.dir;
        command
            .current_dir(dir)
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("share"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("PGHOST", dir)
            // pg_autoctl's own tests' switch: start each server with `-k`
            // this folder, not the system's socket directory.
            .env("PG_REGRESS_SOCK_DIR", dir);
        for var in [
            "PGDATA",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
            "PG_AUTOCTL_MONITOR",
        ] {
            command.env_remove(var);
        }
        command
    }

    /// Starts `pg_autoctl` with `args` in the background, its output in
    /// `<name>.log`.
    fn spawn(&self, name: &str, args: &[&str]) -> Child {
        let log = File::create(self.dir.join(format!("{name}.log"))).expect("a log file");
        self.autoctl()
            .args(args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log again"))
            .stderr(log)
            .spawn()
            .expect("pg_autoctl starts")
    }

    fn start_monitor(&mut self) {
        let pgdata = self
            .monitor
            .pgdata
            .to_str()
            .expect("a UTF-8 path")
            .to_owned();
        let port = self.monitor.port.to_string();
        let pg_ctl = self.tools.pg_ctl.to_str().expect("a UTF-8 path").to_owned();
        let mut create = self.autoctl();
        create.args(["create", "monitor", "--pgctl", &pg_ctl, "--pgdata", &pgdata]);
        create.args(["--pgport", &port, "--hostname", "127.0.0.1"]);
        create.args(["--listen", "127.0.0.1", "--auth", "trust", "--no-ssl"]);
        must("pg_autoctl create monitor", &mut create);
        self.monitor.child = Some(self.spawn("monitor", &["run", "--pgdata", &pgdata]));
        let deadline = Instant::now() + SETUP;
        let mut monitor = loop {
            match postgres::Client::connect(&self.monitor_url(), postgres::NoTls) {
                Ok(client) => break client,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "the monitor never answered: {e}\n{}",
                        self.log("monitor")
                    );
                    thread::sleep(Duration::from_millis(100));
                }
            }
        };
        for (setting, value) in MONITOR_SETTINGS {
            monitor
                .batch_execute(&format!("ALTER SYSTEM SET {setting} = {value}"))
                .expect("a monitor setting");
        }
        monitor
            .batch_execute("SELECT pg_reload_conf()")
            .expect("the monitor reloads");
        // The reload is a signal: wait until the settings are in force.
        loop {
            let live = MONITOR_SETTINGS.iter().all(|(setting, value)| {
                self.ask_monitor(
                    "SELECT setting FROM pg_settings WHERE name = $1",
                    &[setting],
                )
                .is_some_and(|rows| rows.len() == 1 && rows[0].get::<_, String>(0) == *value)
            });
            if live {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the monitor's settings never took effect"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Creates node `i` and runs it (`create postgres --run`): the first
    /// becomes the primary, the second clones it and follows.
    fn start_node(&mut self, i: usize) {
        let node = &self.nodes[i];
        let pgdata = node.pgdata.to_str().expect("a UTF-8 path").to_owned();
        let port = node.port.to_string();
        let pg_ctl = self.tools.pg_ctl.to_str().expect("a UTF-8 path").to_owned();
        let monitor = format!(
            "postgres://autoctl_node@127.0.0.1:{}/pg_auto_failover?sslmode=disable",
            self.monitor.port
        );
        let name = node.name.clone();
        #[rustfmt::skip]
        let args = [
            "create", "postgres", "--pgctl", &pg_ctl, "--pgdata", &pgdata,
            "--pgport", &port, "--listen", "127.0.0.1", "--hostname", "127.0.0.1",
            "--name", &name, "--dbname", DATABASE, "--monitor", &monitor,
            "--auth", "trust", "--no-ssl", "--run",
        ];
        let child = self.spawn(&name, &args);
        self.nodes[i].child = Some(child);
    }

    /// Waits until every named node has reported (and been assigned) its
    /// state. Meanwhile node1 is asked to checkpoint now and then: a
    /// joining node's base backup (`pg_basebackup`, which pg_autoctl runs
    /// without `--checkpoint=fast`) otherwise waits for a spread
    /// checkpoint, minutes at the default settings.
    fn wait_for_roles(&self, want: &[(&str, &str)]) {
        let deadline = Instant::now() + SETUP;
        loop {
            let states = self.states();
            let settled = want.iter().all(|(name, state)| {
                states
                    .iter()
                    .any(|s| s.name == *name && s.reported == *state && s.goal == *state)
            });
            if settled {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the formation never reached {want:?}: {states:?}\n{}\n{}",
                self.log("node1"),
                self.log("node2")
            );
            if let Ok(mut primary) = self.try_admin(0, "postgres") {
                let _ = primary.batch_execute("CHECKPOINT");
            }
            thread::sleep(Duration::from_millis(500));
        }
    }

    /// Checks that the primary waits for its standby: a commit returns
    /// only once the secondary has it.
    fn check_synchronous(&self) {
        let mut primary = self.admin(0, "postgres");
        let names: String = primary
            .query_one("SELECT current_setting('synchronous_standby_names')", &[])
            .expect("synchronous_standby_names")
            .get(0);
        let commit: String = primary
            .query_one("SELECT current_setting('synchronous_commit')", &[])
            .expect("synchronous_commit")
            .get(0);
        let states: Vec<String> = primary
            .query("SELECT sync_state FROM pg_stat_replication", &[])
            .expect("pg_stat_replication")
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(
            !names.is_empty()
                && commit == "on"
                && states.len() == 1
                && ["sync", "quorum"].contains(&states[0].as_str()),
            "the secondary is not synchronous: synchronous_standby_names '{names}', \
             synchronous_commit {commit}, sync states {states:?}"
        );
    }

    /// The multi-host URL of the books: both nodes, and whichever of them
    /// takes writes.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!(
            "postgres://{DATABASE}@{}/{DATABASE}?target_session_attrs=read-write",
            hosts.join(",")
        )
    }

    /// The URL of the books on node `name` alone.
    pub fn url_of(&self, name: &str) -> String {
        format!(
            "postgres://{DATABASE}@127.0.0.1:{}/{DATABASE}",
            self.node(name).port
        )
    }

    fn monitor_url(&self) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/pg_auto_failover",
            self.tools.superuser, self.monitor.port
        )
    }

    fn node(&self, name: &str) -> &Service {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    fn try_admin(&self, i: usize, db: &str) -> Result<postgres::Client, postgres::Error> {
        let url = format!(
            "postgres://{}@127.0.0.1:{}/{db}",
            self.tools.superuser, self.nodes[i].port
        );
        postgres::Client::connect(&url, postgres::NoTls)
    }

    fn admin(&self, i: usize, db: &str) -> postgres::Client {
        self.try_admin(i, db)
            .expect("a superuser session on a node")
    }

    /// Runs `query` on the monitor, in the session kept between polls
    /// (made again after an error); `None` if the monitor did not answer.
    fn ask_monitor(&self, query: &str, params: &[&(dyn ToSql + Sync)]) -> Option<Vec<Row>> {
        let mut session = self.session.borrow_mut();
        if session.is_none() {
            *session = postgres::Client::connect(&self.monitor_url(), postgres::NoTls).ok();
        }
        let rows = session.as_mut()?.query(query, params);
        if rows.is_err() {
            *session = None;
        }
        rows.ok()
    }

    /// Every node's state, as the monitor has it (none if it does not
    /// answer).
    pub fn states(&self) -> Vec<NodeState> {
        let query = "SELECT nodename, reportedstate::text, goalstate::text \
                     FROM pgautofailover.node ORDER BY nodeid";
        self.ask_monitor(query, &[])
            .unwrap_or_default()
            .iter()
            .map(|row| NodeState {
                name: row.get(0),
                reported: row.get(1),
                goal: row.get(2),
            })
            .collect()
    }

    /// The monitor's last `n` events, oldest first: what it saw and
    /// decided.
    pub fn events(&self, n: i64) -> Vec<String> {
        let query = "SELECT to_char(eventtime, 'HH24:MI:SS.MS') || ' ' || nodename || ' ' || \
                     reportedstate::text || ' -> ' || goalstate::text || ': ' || description \
                     FROM pgautofailover.event ORDER BY eventid DESC LIMIT $1";
        match self.ask_monitor(query, &[&n]) {
            Some(rows) => rows.iter().rev().map(|row| row.get(0)).collect(),
            None => vec!["(the monitor did not answer)".to_owned()],
        }
    }

    /// The node taking writes: reported and assigned primary (or
    /// wait_primary, a primary without a standby).
    pub fn primary(&self) -> Option<String> {
        self.states()
            .into_iter()
            .find(|s| {
                s.reported == s.goal && ["primary", "wait_primary"].contains(&s.reported.as_str())
            })
            .map(|s| s.name)
    }

    /// The process id of the primary's postmaster.
    ///
    /// # Panics
    /// If no node is primary.
    pub fn primary_pid(&self) -> u32 {
        let name = self.primary().expect("a primary");
        postmaster(&self.node(&name).pgdata)
            .expect("the primary's postmaster.pid")
            .0
    }

    /// The primary's host dies: its keeper (`pg_autoctl` and its
    /// services) and its postmaster are SIGKILLed at once (the node's
    /// process group; each backend leads a group of its own and exits as
    /// soon as it sees the postmaster gone). Returns the node killed.
    ///
    /// Why not the postmaster alone: a keeper that lives restarts a
    /// crashed PostgreSQL in place within a second, and the monitor fails
    /// over only if the keeper happened to report the server down first
    /// (3 times in 10 on this machine); otherwise the same node simply
    /// comes back as primary. A dead host is the failure the monitor is
    /// for.
    ///
    /// # Panics
    /// If no node is primary.
    pub fn kill_primary(&mut self) -> String {
        let name = self.primary().expect("a primary");
        let run = self.dir.join("run");
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("the primary is a node");
        let at = Instant::now();
        let postmaster_pid = node.kill(&run);
        self.killed = Some((name.clone(), at));
        wait_gone(postmaster_pid);
        name
    }

    /// Waits (up to `patience`) until the monitor shows a node other than
    /// the one killed as primary; returns it, and how long after the kill.
    ///
    /// # Panics
    /// If nothing was killed, or no promotion comes in time (with the
    /// monitor's last events).
    pub fn wait_for_new_primary(&self, patience: Duration) -> Promotion {
        let (killed, at) = self.killed.clone().expect("kill_primary first");
        let deadline = Instant::now() + patience;
        loop {
            if let Some(node) = self.primary().filter(|p| *p != killed) {
                return Promotion {
                    node,
                    after: at.elapsed(),
                };
            }
            assert!(
                Instant::now() < deadline,
                "no node was promoted {patience:?} after {killed} died; the monitor's events:\n{}",
                self.events(20).join("\n")
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of `pg_autoctl`'s log for `service`, for a failure's message.
    fn log(&self, service: &str) -> String {
        let text =
            std::fs::read_to_string(self.dir.join(format!("{service}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(25);
        format!("{service}.log:\n{}", lines[from..].join("\n"))
    }
}

impl Drop for Formation {
    fn drop(&mut self) {
        self.session.get_mut().take();
        let run = self.dir.join("run");
        for node in &mut self.nodes {
            node.stop(&run);
        }
        self.monitor.stop(&run);
        if thread::panicking() {
            eprintln!("pg_auto_failover's logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
