//! Real processes: six `bazaar node` processes on loopback (tcp, books in
//! SQLite), as `bazaar up` runs them. The buyers' response times from their
//! summaries, beside an echo between two processes paced as the buyers
//! are; then the failover after a SIGKILL of the trader's process, a few
//! times, with the books in SQLite and, given `--postgres`, in PostgreSQL.

mod cluster;
pub mod echo;
mod failover;
mod fleet;
mod market;

use std::path::Path;

use bazaar_node::Timing;
use serde::Serialize;

pub use failover::Failover;
use market::{Launch, Market};

use super::{Setup, Summary, floors::echo::Rounds};
use crate::{
    bench::plan::{ProcessesPlan, THINK},
    books::BooksKind,
};

/// What the experiment measured.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessesResult {
    /// The buyers' think time, which also paces the echo, in microseconds.
    pub think_us: u64,
    /// The two-process echo's round trips.
    pub echo: Summary,
    /// The buyers' response times, all three together, over every
    /// incarnation, in a market with no kill (books in SQLite).
    pub buy: Summary,
    /// The failover runs: SQLite, then PostgreSQL if measured.
    pub failovers: Vec<FailoverRun>,
}

/// The kills of the trader with the books in one store.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverRun {
    /// SQLite or PostgreSQL.
    pub store: BooksKind,
    /// Every kill timed, in order.
    pub kills: Vec<Failover>,
    /// Why the kills stopped before the plan's count, if they did.
    pub gave_up: Option<String>,
    /// The buyers' response times over the run, failovers included.
    pub buy: Summary,
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

/// Runs the experiment, if the plan has it, in `out/processes` (removed
/// after), counting its steps on the progress bar; PostgreSQL too if the
/// plan has it.
///
/// # Errors
/// A [`ProcessesError`] if a process cannot start or the market never
/// trades; a failover that does not come is reported in its run instead.
pub async fn run(setup: &Setup<'_>) -> Result<Option<ProcessesResult>, ProcessesError> {
    let Some(plan) = &setup.plan.processes else {
        return Ok(None);
    };
    let program = match &plan.bazaar {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| ProcessesError::Start(format!("the bazaar binary: {e}")))?,
    };
    let dir = setup.out.join("processes");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| ProcessesError::Start(format!("{}: {e}", dir.display())))?;
    let result = measure(setup, plan, &program, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map(Some)
}

/// The echo, the buys, then the failovers per store, in `dir`.
async fn measure(
    setup: &Setup<'_>,
    plan: &ProcessesPlan,
    program: &Path,
    dir: &Path,
) -> Result<ProcessesResult, ProcessesError> {
    let bar = setup.bar;
    let think_ms = u64::try_from(THINK.as_millis()).unwrap_or(u64::MAX);
    let path = dir.join("cluster.toml");
    let cluster = cluster::write(&path, &market::ROLES, think_ms)?;
    // The buyers' think time exactly as their processes read it.
    let think = Timing::from(cluster.timing).think;

    bar.set_message("real processes: echo between two processes");
    let rounds = Rounds {
        count: plan.echo_round_trips,
        think,
    };
    let echo = echo::measure(program, dir, rounds).await?;
    bar.inc(1);

    bar.set_message("real processes: six nodes, buyers' response times");
    let launch = Launch {
        program,
        cluster: &path,
        data_dir: &dir.join("buys"),
        postgres: None,
        quiet: true,
    };
    let market = Market::start(&launch).await?;
    tokio::time::sleep(plan.trade).await;
    let buy = market.stop().await?;
    bar.inc(1);

    let postgres = setup.postgres.filter(|_| setup.plan.postgres);
    let mut failovers = Vec::new();
    for store in std::iter::once(BooksKind::Sqlite).chain(postgres.map(|_| BooksKind::Postgres)) {
        bar.set_message(format!("real processes: failover, books in {store}"));
        let launch = Launch {
            data_dir: &dir.join(format!("failover-{store}")),
            postgres: postgres.filter(|_| store == BooksKind::Postgres),
            quiet: false,
            ..launch
        };
        failovers.push(failover_run(&launch, plan.kills, store).await?);
        bar.inc(1);
    }
    Ok(ProcessesResult {
        think_us: u64::try_from(think.as_micros()).unwrap_or(u64::MAX),
        echo: Summary::from(&echo),
        buy: Summary::from(&buy),
        failovers,
    })
}

/// A market with the books in `store`, its trader killed `kills` times.
async fn failover_run(
    launch: &Launch<'_>,
    kills: u32,
    store: BooksKind,
) -> Result<FailoverRun, ProcessesError> {
    if let Some(url) = launch.postgres {
        empty(url).await?;
    }
    let mut market = Market::start(launch).await?;
    let (kills, gave_up) = failover::repeat(&mut market, kills).await;
    let buy = market.stop().await?;
    Ok(FailoverRun {
        store,
        kills,
        gave_up,
        buy: Summary::from(&buy),
    })
}

/// Empties the bench's PostgreSQL database, off the async workers (its
/// client runs a runtime of its own).
async fn empty(url: &str) -> Result<(), ProcessesError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || super::stores::empty_postgres(&url))
        .await
        .map_err(|e| ProcessesError::Start(e.to_string()))?
        .map_err(|e| ProcessesError::Start(e.to_string()))
}
