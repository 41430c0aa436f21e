//! `bazaar up`, the lab's parent program: starts the peers of a cluster as
//! processes, shows their logs merged, kills the trader on a schedule if
//! asked, stops them all at the end, and prints the table and the audit.
//!
//! No peer outlives it: each runs in its own process group (so a Ctrl-C
//! reaches `up` alone, which stops them in order), and each is started with
//! `--parent-pid`, so that it stops by itself within a fraction of a second
//! if `up` dies without stopping it (SIGKILL).

mod child;
mod report;
mod supervisor;

use std::{
    collections::BTreeMap,
    io::{IsTerminal, Write},
    path::PathBuf,
    time::{Duration, SystemTime},
};

use tokio::sync::mpsc;

use crate::web::Web;
use supervisor::Supervisor;

pub use child::{Line, NodeCommand, PeerProcess};
pub use report::final_report;

/// How long a peer may take to stop after SIGTERM before it is SIGKILLed.
const STOP_PATIENCE: Duration = Duration::from_secs(15);

/// What `bazaar up` was asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// How to start each peer.
    pub command: NodeCommand,
    /// The peers' ids.
    pub peers: Vec<u32>,
    /// Where the summaries are.
    pub data_dir: PathBuf,
    /// Where the books are, for the audit at the end.
    pub books: crate::books::Books,
    /// Stop after this long (else on Ctrl-C or SIGTERM).
    pub duration: Option<Duration>,
    /// SIGKILL the current trader this often.
    pub kill_trader_every: Option<Duration>,
    /// How long a killed trader stays dead before it is started again.
    pub restart_after: Duration,
}

/// The lab's announcement of a new trader, which the merged logs watch for.
pub const ANNOUNCEMENT: &str = "and I am the new coordinator";

/// What a run of `bazaar up` ended with.
#[derive(Debug)]
pub struct UpOutcome {
    /// The table, the elections and the audit, as printed.
    pub report: String,
    /// Whether the audit passed.
    pub passed: bool,
}

/// Runs the cluster until the duration is over or a signal arrives, then
/// stops every peer and reports; `web` shows it live (or is [`Web::off`])
/// and brings the page's controls.
///
/// # Errors
/// A peer process that cannot be started (every started one is stopped).
pub async fn run(options: &UpOptions, web: Web) -> Result<UpOutcome, String> {
    child::forget_summaries(&options.data_dir, &options.peers);
    let started = SystemTime::now();
    let (tx, mut lines) = mpsc::unbounded_channel();
    let colour = std::io::stdout().is_terminal();
    let mut cluster = Supervisor::new(options, tx, web, colour);
    for &peer in &options.peers {
        if let Err(e) = cluster.start(peer) {
            stop_all(&mut cluster.running);
            return Err(format!("cannot start peer {peer}: {e}"));
        }
    }
    cluster.supervise(&mut lines).await;
    let Supervisor {
        mut running, tx, ..
    } = cluster;
    let stopper = tokio::task::spawn_blocking(move || {
        stop_all(&mut running);
    });
    // Show what the peers say while they stop: their summaries.
    tokio::pin!(stopper);
    loop {
        tokio::select! {
            Some(line) = lines.recv() => show(&line, colour),
            _ = &mut stopper => break,
        }
    }
    drop(tx);
    // The pumps end when the pipes close; take what is left.
    let quiet_for = Duration::from_millis(200);
    while let Ok(Some(line)) = tokio::time::timeout(quiet_for, lines.recv()).await {
        show(&line, colour);
    }
    // The report reads the books, which may mean a database's blocking
    // client: off the async workers.
    let (data_dir, books, peers) = (
        options.data_dir.clone(),
        options.books.clone(),
        options.peers.clone(),
    );
    tokio::task::spawn_blocking(move || final_report(&data_dir, &books, &peers, started))
        .await
        .map_err(|e| format!("the final report failed: {e}"))
}

/// SIGTERM to every peer, then waits for each; one that will not stop is
/// SIGKILLed, so that none is ever left behind. Blocks.
pub fn stop_all(running: &mut BTreeMap<u32, PeerProcess>) {
    for p in running.values() {
        p.terminate();
    }
    for (id, mut p) in std::mem::take(running) {
        if !p.wait(STOP_PATIENCE) {
            say(&format!(
                "peer {id} ignored SIGTERM for {STOP_PATIENCE:?}: SIGKILLed"
            ));
        }
    }
}

/// A line of `up`'s own.
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "[up] {text}");
}

/// A peer's line, behind its name (coloured on a terminal).
fn show(line: &Line, colour: bool) {
    let mut out = std::io::stdout().lock();
    if colour {
        // Six distinct ANSI colours, by id.
        let code = 31 + (line.peer.saturating_sub(1) % 6);
        let _ = writeln!(out, "\x1b[{code}m[peer {}]\x1b[0m {}", line.peer, line.text);
    } else {
        let _ = writeln!(out, "[peer {}] {}", line.peer, line.text);
    }
}

/// Returns at the end of `duration`, or on SIGTERM or Ctrl-C.
async fn until(duration: Option<Duration>) -> &'static str {
    let deadline = duration.map(|d| tokio::time::Instant::now() + d);
    tokio::select! {
        () = sleep_until(deadline) => "the duration is over",
        () = signal() => "signalled",
    }
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How long ago `t` was, for the elections line.
fn since(start: SystemTime, at_unix_ms: u64) -> Duration {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(at_unix_ms);
    at.duration_since(start).unwrap_or_default()
}
