//! `bazaar bench`: the lab's evaluation as one command. Echo floors per
//! transport, response times of sequential buyers in each circumstance
//! (transport, store, peers, buyers against sellers, re-elections),
//! throughput under load, then a Markdown report with SVG plots and,
//! on request, the figures as JSON.

mod capacity;
mod commits;
mod counting;
mod disk;
mod echo;
mod floor_commit;
mod history;
pub mod instructions;
mod json;
mod latency;
mod load;
mod plot;
mod processes;
mod remote;
mod report;
mod results;
mod scenarios;
mod stock;
mod targets;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_transport::TransportError;
use indicatif::{ProgressBar, ProgressStyle};

pub use commits::CommitResult;
pub use counting::{CountingError, CountingMarket};
pub use echo::EchoError;
pub use history::HistoryResult;
pub use instructions::{InstructionsPlan, InstructionsResult};
pub use json::to_json;
pub use plot::{PlotError, Plots};
pub use processes::{
    Failover, FailoverRun, ProcessesError, ProcessesPlan, ProcessesResult, echo::side as echo_side,
};
pub use remote::RemoteResult;
pub use report::markdown;
pub use results::{
    BenchResults, CapacityResult, EchoResult, Election, LatencyResult, LoadResult, Sample, Summary,
};
pub use scenarios::{
    Disruption, Group, LatencyScenario, LoadScenario, Plan, StoreKind, THINK, TRANSPORTS,
};
pub use stock::StockedStore;

use bazaar_node::{
    net::TransportKind,
    store::{MemStore, PgStore, SqliteStore, Store, StoreError},
};

use crate::workers::on_workers;

/// What `bazaar bench` was asked for.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The plan to run.
    pub plan: Plan,
    /// Folder for `report.md`, the plots, and the durable stores while
    /// they are in use.
    pub out: PathBuf,
    /// Where to write the figures as JSON, if anywhere.
    pub json: Option<PathBuf>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
    /// A PostgreSQL database the bench may empty, to measure beside
    /// SQLite (its bazaar tables are dropped before each experiment).
    pub postgres: Option<String>,
}

/// Why the bench stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An experiment's transports could not start.
    #[error("{scenario}: {source}")]
    Transport {
        /// The experiment.
        scenario: String,
        /// What the transport said.
        source: TransportError,
    },
    /// An experiment's store could not be opened.
    #[error("{scenario}: {source}")]
    Store {
        /// The experiment.
        scenario: String,
        /// What the store said.
        source: StoreError,
    },
    /// An echo floor failed.
    #[error(transparent)]
    Echo(#[from] EchoError),
    /// The real-processes experiment could not run.
    #[error(transparent)]
    Processes(#[from] ProcessesError),
    /// The floor commit on PostgreSQL failed (the server, the session or
    /// its scratch table `bench_floor`).
    #[error("postgres floor commits: {0}")]
    FloorCommit(#[source] postgres::Error),
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// An output file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The name of the disk's floor among the floors.
pub const FSYNC: &str = "fsync 4 KiB";

/// How long one latency experiment may take before it is cut short.
const LIMIT_QUICK: Duration = Duration::from_secs(20);
const LIMIT_FULL: Duration = Duration::from_secs(90);

/// Runs every experiment of the plan, then writes the report, the plots
/// and the JSON. Returns the figures.
///
/// # Errors
/// A [`BenchError`] naming the experiment or the file that failed.
pub async fn run(options: &BenchOptions) -> Result<BenchResults, BenchError> {
    let plan = &options.plan;
    create_dir(&options.out)?;
    let bar = progress_bar(plan.steps(), options.progress);
    let started = Instant::now();
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "));

    let mut echo = Vec::new();
    for kind in TRANSPORTS {
        bar.set_message(format!("echo floors over {kind}, hot and paced"));
        let hot = on_workers(echo::transport(
            kind,
            plan.echo_round_trips,
            Duration::ZERO,
            options.seed,
        ));
        let hot = hot.await?;
        let paced = on_workers(echo::transport(
            kind,
            plan.paced_round_trips,
            THINK,
            options.seed,
        ));
        let paced = paced.await?;
        echo.push(EchoResult {
            name: kind.name().into(),
            round_trip: Summary::from(&hot),
            paced: Some(Summary::from(&paced)),
        });
        bar.inc(1);
    }
    bar.set_message("echo floor over raw tokio tcp");
    let raw = on_workers(echo::raw_tcp(plan.echo_round_trips)).await?;
    echo.push(EchoResult {
        name: "raw tcp".into(),
        round_trip: Summary::from(&raw),
        paced: None,
    });
    bar.inc(1);
    bar.set_message("fsync floor");
    let out = options.out.clone();
    let rounds = plan.echo_round_trips / 20;
    let floor_file = options.out.join("fsync-floor.tmp");
    let (disk, paced) = blocking(&floor_file, move || {
        let hot = disk::fsync(&out, rounds, Duration::ZERO)?;
        disk::fsync(&out, rounds, scenarios::THINK).map(|paced| (hot, paced))
    })
    .await?
    .map_err(|source| BenchError::Write {
        path: floor_file,
        source,
    })?;
    echo.push(EchoResult {
        name: FSYNC.into(),
        round_trip: Summary::from(&disk),
        paced: Some(Summary::from(&paced)),
    });
    bar.inc(1);

    let limit = if plan.quick { LIMIT_QUICK } else { LIMIT_FULL };
    let mut latency = Vec::new();
    for (i, scenario) in plan.latency.iter().enumerate() {
        bar.set_message(scenario.name.clone());
        let sellers = if scenario.stocked {
            scenario.seller_ids()
        } else {
            Vec::new()
        };
        let dir = options.out.join(format!("store-latency-{i}"));
        let store = open_store(options, scenario.store, &dir, &sellers, &scenario.name)?;
        let (s, seed) = (scenario.clone(), options.seed);
        let result = on_workers(async move { latency::run(&s, store, seed, limit).await }).await;
        remove_dir(&dir);
        latency.push(result?);
        bar.inc(1);
    }

    let mut history = Vec::new();
    for &sales in &plan.history {
        bar.set_message(format!("history of {sales} sales"));
        let dir = options.out.join(format!("store-history-{sales}"));
        let result = blocking(&options.out, move || history::measure(&dir, sales))
            .await?
            .map_err(|source| BenchError::Store {
                scenario: format!("history of {sales} sales"),
                source,
            })?;
        history.push(result);
        bar.inc(1);
    }

    let (remote, remote_skipped) = remote_experiment(plan, &bar).await?;
    let (instructions, instructions_skipped) = instructions::experiment(options, &bar).await;
    let processes = match &plan.processes {
        Some(p) => {
            let postgres = options.postgres.as_deref().filter(|_| plan.postgres);
            Some(processes::run(p, &options.out, postgres, &bar).await?)
        }
        None => None,
    };
    let commits = commit_experiment(options, &bar).await?;

    let capacity = capacity_floors(plan, options.seed, &bar).await?;
    let mut load = Vec::new();
    for (i, scenario) in plan.load.iter().enumerate() {
        bar.set_message(scenario.name.clone());
        let dir = options.out.join(format!("store-load-{i}"));
        let store = open_store(
            options,
            scenario.store,
            &dir,
            &scenario.seller_ids(),
            &scenario.name,
        )?;
        let (s, seed) = (scenario.clone(), options.seed);
        let result = on_workers(async move { load::run(&s, store, seed).await }).await;
        remove_dir(&dir);
        load.push(result?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let results = BenchResults {
        plan: plan.clone(),
        echo,
        latency,
        load,
        capacity,
        history,
        remote,
        remote_skipped,
        instructions,
        instructions_skipped,
        processes,
        commits,
        elapsed_s: started.elapsed().as_secs_f64(),
        load_average,
    };
    write_outputs(options, &results)?;
    Ok(results)
}

/// The durable stores' commits, SQLite's and (with `--postgres`)
/// PostgreSQL's, each beside its floor: for PostgreSQL a single-row
/// `INSERT` in its own transaction, as many rounds, on the same server.
async fn commit_experiment(
    options: &BenchOptions,
    bar: &ProgressBar,
) -> Result<Vec<CommitResult>, BenchError> {
    let plan = &options.plan;
    let mut commits = Vec::new();
    let mut stores = vec![StoreKind::Sqlite];
    if plan.postgres {
        stores.push(StoreKind::Postgres);
    }
    for kind in stores.into_iter().filter(|_| plan.commits > 0) {
        let name = format!("{} commits", kind.name());
        bar.set_message(name.clone());
        let dir = options.out.join("store-commits");
        let store = open_store(options, kind, &dir, &[], &name)?;
        let rounds = plan.commits;
        let mut result = blocking(&options.out, move || {
            commits::measure(kind.name(), store.as_ref(), rounds)
        })
        .await?
        .map_err(|source| BenchError::Store {
            scenario: name,
            source,
        })?;
        remove_dir(&dir);
        if kind == StoreKind::Postgres {
            bar.set_message("postgres floor commits");
            let url = options.postgres.clone().unwrap_or_default();
            let floor = blocking(&options.out, move || floor_commit::measure(&url, rounds));
            result.floor = Some(floor.await?.map_err(BenchError::FloorCommit)?);
        }
        commits.push(result);
        bar.inc(1);
    }
    Ok(commits)
}

/// Runs `work` on tokio's blocking pool: a disk, a database or child
/// processes must not hold an async worker. If it panics, the bench fails
/// to write under `path`.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BenchError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BenchError::Write {
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })
}

/// The load curve's floors: each transport's request/reply capacity with
/// as many connections as each step has buyers, then raw tokio tcp's.
async fn capacity_floors(
    plan: &Plan,
    seed: u64,
    bar: &ProgressBar,
) -> Result<Vec<CapacityResult>, BenchError> {
    let window = plan.capacity_window;
    let mut floors = Vec::new();
    let mut last = None;
    for (kind, connections) in plan.capacity_floors() {
        if last.replace(kind).is_some_and(|k| k != kind) {
            bar.inc(1);
        }
        bar.set_message(format!(
            "capacity floor over {kind}, {connections} connections"
        ));
        let rt = on_workers(capacity::transport(kind, connections, window, seed)).await?;
        floors.push(CapacityResult {
            transport: kind.name().into(),
            connections,
            round_trips_per_s: rt,
        });
    }
    if last.is_some() {
        bar.inc(1);
    }
    let raw = plan.raw_capacity_floors();
    for &connections in &raw {
        bar.set_message(format!(
            "capacity floor over raw tcp, {connections} connections"
        ));
        floors.push(CapacityResult {
            transport: "raw tcp".into(),
            connections,
            round_trips_per_s: on_workers(capacity::raw_tcp(connections, window)).await?,
        });
    }
    if !raw.is_empty() {
        bar.inc(1);
    }
    Ok(floors)
}

/// The remote-latency experiment, when the plan has delays and this
/// machine can make network namespaces; otherwise why not.
async fn remote_experiment(
    plan: &Plan,
    bar: &ProgressBar,
) -> Result<(Vec<RemoteResult>, Option<String>), BenchError> {
    if plan.remote.is_empty() {
        return Ok((Vec::new(), None));
    }
    if let Some(why) = crate::hosts::unavailable() {
        bar.inc(1);
        return Ok((Vec::new(), Some(why)));
    }
    bar.set_message("local against remote: hosts in network namespaces");
    let bazaar = std::env::current_exe().map_err(|source| BenchError::Write {
        path: PathBuf::from("the bazaar binary"),
        source,
    })?;
    let delays: Vec<Duration> = plan
        .remote
        .iter()
        .map(|&us| Duration::from_micros(us))
        .collect();
    let trade = plan.remote_trade;
    let ran = blocking(Path::new("network namespaces"), move || {
        remote::run(&bazaar, &delays, trade, &[])
    })
    .await?;
    bar.inc(1);
    match ran {
        Ok(ran) => Ok(ran),
        Err(e) => Ok((Vec::new(), Some(e.to_string()))),
    }
}

/// Writes `report.md` and the plots into `out`, and the JSON if asked.
fn write_outputs(options: &BenchOptions, results: &BenchResults) -> Result<(), BenchError> {
    let plots = plot::draw_all(results, &options.out)?;
    let report = markdown(results, &plots);
    let path = options.out.join("report.md");
    std::fs::write(&path, report).map_err(|source| BenchError::Write { path, source })?;
    if let Some(path) = &options.json {
        let text =
            serde_json::to_string_pretty(&to_json(results)).expect("JSON values always serialize");
        std::fs::write(path, text + "\n").map_err(|source| BenchError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// A fresh store of `kind`, stocked in the names of `sellers` (none:
/// unstocked); a SQLite one lives in `dir`, emptied first; a PostgreSQL
/// one in the database of `--postgres`, emptied first.
fn open_store(
    options: &BenchOptions,
    kind: StoreKind,
    dir: &Path,
    sellers: &[bazaar_protocol::PeerId],
    scenario: &str,
) -> Result<Arc<StockedStore>, BenchError> {
    let inner: Arc<dyn Store> = match kind {
        StoreKind::Mem => Arc::new(MemStore::new()),
        StoreKind::Sqlite => {
            remove_dir(dir);
            Arc::new(SqliteStore::open(dir).map_err(|source| BenchError::Store {
                scenario: scenario.into(),
                source,
            })?)
        }
        StoreKind::Postgres => {
            let url = options.postgres.as_deref().unwrap_or_default();
            // The sync client runs a runtime of its own, which may not
            // start on an async worker: connect on a plain thread.
            let store = std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        empty_postgres(url)?;
                        PgStore::connect(url)
                    })
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .map_err(|source| BenchError::Store {
                scenario: scenario.into(),
                source,
            })?;
            Arc::new(store)
        }
    };
    Ok(Arc::new(StockedStore::new(inner, sellers)))
}

/// Drops the bazaar's tables (and views) in the bench's database, so that
/// each experiment starts from an empty store.
fn empty_postgres(url: &str) -> Result<(), StoreError> {
    let io = |e: postgres::Error| StoreError::Io {
        path: url.into(),
        detail: format!(
            "cannot empty the bench's database: {}",
            e.as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().into())
        ),
    };
    let mut client = postgres::Client::connect(url, postgres::NoTls).map_err(io)?;
    // The batches first: their views (offers, requests, sales and the
    // reports') go with them; then the tables of an older schema.
    client
        .batch_execute(
            "DROP TABLE IF EXISTS batches CASCADE; \
             DROP TABLE IF EXISTS sales, requests, offers, checkpoints, meta CASCADE",
        )
        .map_err(io)
}

fn create_dir(dir: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
        path: dir.to_owned(),
        source,
    })
}

/// Removes a durable store's folder; one that is not there is fine.
fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

fn progress_bar(steps: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The floor every response time of `kind` is divided by: the p50 of the
/// echo paced as the buyers are, in microseconds (the hot echo's where no
/// paced one was measured).
pub fn floor_us(results: &BenchResults, kind: TransportKind) -> Option<f64> {
    echo_of(results, kind).map(|e| e.paced.unwrap_or(e.round_trip).p50_us)
}

/// The hot echo's p50 over `kind`, in microseconds.
pub fn hot_floor_us(results: &BenchResults, kind: TransportKind) -> Option<f64> {
    echo_of(results, kind).map(|e| e.round_trip.p50_us)
}

fn echo_of(results: &BenchResults, kind: TransportKind) -> Option<&EchoResult> {
    results.echo.iter().find(|e| e.name == kind.name())
}
