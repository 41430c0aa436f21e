//! Real processes: six `bazaar node` processes on loopback (tcp, books in
//! SQLite), as `bazaar up` runs them. The buyers' response times from their
//! summaries, beside an echo between two processes paced as the buyers
//! are; then the failover after a SIGKILL of the trader's process, a few
//! times, with the books in SQLite and, given `--postgres`, in PostgreSQL.

mod cluster;
pub mod echo;
mod failover;
mod fleet;
pub mod json;
mod market;
pub mod report;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use bazaar_node::Timing;
use indicatif::ProgressBar;
use serde::Serialize;

pub use failover::Failover;
use market::Market;

use super::{THINK, results::Summary};

/// What the experiment does.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessesPlan {
    /// How long the market trades, after its first sale, before the
    /// buyers' figures are taken.
    #[serde(serialize_with = "super::scenarios::micros")]
    pub trade: Duration,
    /// Round trips of the two-process echo, after its warm-up.
    pub echo_round_trips: u32,
    /// SIGKILLs of the trader per store.
    pub kills: u32,
    /// The `bazaar` binary whose `node` and `echo` run the processes;
    /// `None`: this process's own, as in `bazaar bench` (a test names the
    /// binary it built).
    #[serde(skip)]
    pub bazaar: Option<PathBuf>,
}

impl ProcessesPlan {
    /// The experiment in the `--quick` plan or the full one.
    pub fn new(quick: bool) -> Self {
        Self {
            trade: Duration::from_secs(if quick { 2 } else { 5 }),
            echo_round_trips: if quick { 1_000 } else { 4_000 },
            kills: 3,
            bazaar: None,
        }
    }

    /// Progress steps: the echo, the buys, the failovers per store.
    pub fn steps(&self, postgres: bool) -> u64 {
        3 + u64::from(postgres)
    }
}

/// What the experiment measured.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessesResult {
    /// The buyers' think time, which also paces the echo, in microseconds.
    pub think_us: u64,
    /// The two-process echo's round trips.
    pub echo: Summary,
    /// The buyers' response times, all three together, over their whole
    /// lives in a market with no kill (books in SQLite).
    pub buy: Summary,
    /// The failover runs: SQLite, then PostgreSQL if measured.
    pub failovers: Vec<FailoverRun>,
}

/// The kills of the trader with the books in one store.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverRun {
    /// `sqlite` or `postgres`.
    pub store: String,
    /// Every kill timed, in order.
    pub kills: Vec<Failover>,
    /// Why the kills stopped before the plan's count, if they did.
    pub gave_up: Option<String>,
    /// The buyers' response times over the run, failovers included.
    pub buy: Summary,
}

impl FailoverRun {
    /// The failover times, in milliseconds.
    pub fn times_ms(&self) -> Vec<f64> {
        self.kills.iter().map(|k| k.first_reply_ms).collect()
    }

    /// The worst failover time, in milliseconds.
    pub fn worst_ms(&self) -> Option<f64> {
        self.times_ms().into_iter().reduce(f64::max)
    }

    /// The mean failover time, in milliseconds.
    pub fn mean_ms(&self) -> Option<f64> {
        let times = self.times_ms();
        (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64)
    }
}

impl ProcessesResult {
    /// The failover run with the books in `store`.
    pub fn failover(&self, store: &str) -> Option<&FailoverRun> {
        self.failovers.iter().find(|f| f.store == store)
    }
}

/// Why the experiment could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProcessesError {
    /// A process or its files could not be started.
    #[error("real processes: cannot start: {0}")]
    Start(String),
    /// Something awaited did not come.
    #[error("real processes: {0}")]
    Wait(String),
}

/// Runs the experiment in `out/processes` (removed after), counting its
/// steps on `bar`; PostgreSQL too if `postgres` names a database the bench
/// may empty.
///
/// # Errors
/// A [`ProcessesError`] if a process cannot start or the market never
/// trades; a failover that does not come is reported in its run instead.
pub async fn run(
    plan: &ProcessesPlan,
    out: &Path,
    postgres: Option<&str>,
    bar: &ProgressBar,
) -> Result<ProcessesResult, ProcessesError> {
    let program = match &plan.bazaar {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| ProcessesError::Start(format!("the bazaar binary: {e}")))?,
    };
    let dir = out.join("processes");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| ProcessesError::Start(format!("{}: {e}", dir.display())))?;
    let result = measure(plan, &program, &dir, postgres, bar).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(
    plan: &ProcessesPlan,
    program: &Path,
    dir: &Path,
    postgres: Option<&str>,
    bar: &ProgressBar,
) -> Result<ProcessesResult, ProcessesError> {
    let think_ms = u64::try_from(THINK.as_millis()).unwrap_or(u64::MAX);
    let path = dir.join("cluster.toml");
    let cluster = cluster::write(&path, &market::ROLES, think_ms)?;
    // The buyers' think time exactly as their processes read it.
    let think = Timing::from(cluster.timing).think;

    bar.set_message("real processes: echo between two processes");
    let echo = echo::measure(program, dir, plan.echo_round_trips, think).await?;
    bar.inc(1);

    bar.set_message("real processes: six nodes, buyers' response times");
    let market = Market::start(program, &path, &dir.join("buys"), None, true).await?;
    tokio::time::sleep(plan.trade).await;
    let buy = market.stop().await?;
    bar.inc(1);

    let mut failovers = Vec::new();
    let stores =
        std::iter::once(("sqlite", None)).chain(postgres.map(|url| ("postgres", Some(url))));
    for (store, url) in stores {
        bar.set_message(format!("real processes: failover, books in {store}"));
        if let Some(url) = url {
            empty(url).await?;
        }
        let data = dir.join(format!("failover-{store}"));
        let mut market = Market::start(program, &path, &data, url, false).await?;
        let (kills, gave_up) = failover::repeat(&mut market, plan.kills).await;
        let buy = market.stop().await?;
        failovers.push(FailoverRun {
            store: store.to_owned(),
            kills,
            gave_up,
            buy: Summary::from(&buy),
        });
        bar.inc(1);
    }
    Ok(ProcessesResult {
        think_us: u64::try_from(think.as_micros()).unwrap_or(u64::MAX),
        echo: Summary::from(&echo),
        buy: Summary::from(&buy),
        failovers,
    })
}

/// Empties the bench's PostgreSQL database, off the async workers (its
/// client runs a runtime of its own).
async fn empty(url: &str) -> Result<(), ProcessesError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || super::empty_postgres(&url))
        .await
        .map_err(|e| ProcessesError::Start(e.to_string()))?
        .map_err(|e| ProcessesError::Start(e.to_string()))
}
