//! What the bench runs, as data: every experiment as a value, the two
//! scales (`--quick` and the full run) that size them, and the targets
//! the report holds the figures to. Nothing here measures, reads a
//! result or writes a line: the other rooms read the plan, never the
//! other way round.

mod instructions;
mod processes;
mod scale;
mod scenarios;
mod serialize;
pub mod targets;

use std::time::Duration;

use bazaar_node::net::TransportKind;

use crate::books::BooksKind;

pub use instructions::{CountingMarket, InstructionsPlan};
pub use processes::ProcessesPlan;
pub use scale::Scale;
pub use scenarios::{Disruption, Group, LatencyScenario, LoadScenario};

/// Everything one run of the bench does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Whether this is the `--quick` plan.
    pub quick: bool,
    /// Round trips per echo floor.
    pub echo_round_trips: u32,
    /// Round trips per paced echo floor (each after a think time).
    pub paced_round_trips: u32,
    /// The latency experiments, in order.
    pub latency: Vec<LatencyScenario>,
    /// How long one latency experiment may take before it is cut short.
    pub latency_limit: Duration,
    /// The load curve: throughput experiments with more and more buyers,
    /// per transport and store, in order.
    pub load: Vec<LoadScenario>,
    /// How long each request/reply floor of the load curve is counted
    /// (zero: no floors).
    pub capacity_window: Duration,
    /// The history experiment: the lengths of history, in sales.
    pub history: Vec<u64>,
    /// The remote-latency experiment: the delays added to each host's
    /// packets, in microseconds (empty: not run).
    pub remote: Vec<u64>,
    /// How long the market trades at each delay before the kill.
    pub remote_trade: Duration,
    /// The real-processes experiment (`None`: not run).
    pub processes: Option<ProcessesPlan>,
    /// Commits timed per durable store in the commits experiment (0: none).
    pub commits: u32,
    /// Whether PostgreSQL is measured beside SQLite (`--postgres URL`).
    pub postgres: bool,
    /// Instructions per buy under callgrind (`None`: not counted).
    pub instructions: Option<InstructionsPlan>,
}

/// Every transport, in report order.
pub const TRANSPORTS: [TransportKind; 4] = TransportKind::ALL;

/// The think time of the latency experiments: short enough for 1,000
/// requests in seconds, long enough that a buyer's request rarely queues
/// behind another's, so that the figure is a response time, not a backlog.
pub const THINK: Duration = Duration::from_millis(1);

/// The floors that always run, each a progress step: the echo over each
/// transport, over raw tcp, and the disk's.
const FLOOR_STEPS: usize = TRANSPORTS.len() + 2;

impl Plan {
    /// The plan for `--quick` (about a minute) or the full run.
    pub fn new(quick: bool) -> Self {
        Self::at(if quick { &Scale::QUICK } else { &Scale::FULL })
    }

    /// The plan with PostgreSQL beside SQLite: its commits, and the load
    /// curve over tcp with the books in it.
    #[must_use]
    pub fn with_postgres(mut self) -> Self {
        self.postgres = true;
        let postgres: Vec<LoadScenario> = self
            .load
            .iter()
            .filter(|l| l.store == BooksKind::Sqlite && l.transport == TransportKind::Tcp)
            .map(|sqlite| LoadScenario {
                name: sqlite.name.replace("store sqlite", "store postgres"),
                store: BooksKind::Postgres,
                ..sqlite.clone()
            })
            .collect();
        self.load.extend(postgres);
        self
    }

    /// The durable stores the commits experiment measures: SQLite, and
    /// PostgreSQL beside it if the plan has it; none if it times no
    /// commits.
    pub fn commit_stores(&self) -> Vec<BooksKind> {
        let mut stores = vec![BooksKind::Sqlite];
        if self.postgres {
            stores.push(BooksKind::Postgres);
        }
        stores.retain(|_| self.commits > 0);
        stores
    }

    /// The floors the load curve needs: for each transport it runs over,
    /// each number of buyers it tries, in order.
    pub fn capacity_floors(&self) -> Vec<(TransportKind, u32)> {
        if self.capacity_window.is_zero() {
            return Vec::new();
        }
        let mut floors: Vec<(TransportKind, u32)> = Vec::new();
        for l in &self.load {
            if !floors.contains(&(l.transport, l.buyers)) {
                floors.push((l.transport, l.buyers));
            }
        }
        floors
    }

    /// The raw tcp floors the load curve needs: each number of buyers of
    /// its tcp points.
    pub fn raw_capacity_floors(&self) -> Vec<u32> {
        self.capacity_floors()
            .into_iter()
            .filter(|(t, _)| *t == TransportKind::Tcp)
            .map(|(_, n)| n)
            .collect()
    }

    /// How many steps the progress bar counts: the floors, then each
    /// experiment, each transport's capacity floors counting as one.
    pub fn steps(&self) -> u64 {
        let mut floored: Vec<TransportKind> =
            self.capacity_floors().into_iter().map(|(t, _)| t).collect();
        floored.dedup();
        let capacity = floored.len() + usize::from(!self.raw_capacity_floors().is_empty());
        let remote = usize::from(!self.remote.is_empty());
        let instructions = usize::from(self.instructions.is_some());
        let processes = self
            .processes
            .as_ref()
            .map_or(0, |p| p.steps(self.postgres));
        (FLOOR_STEPS
            + self.latency.len()
            + self.load.len()
            + capacity
            + self.history.len()
            + remote
            + self.commit_stores().len()
            + instructions) as u64
            + processes
    }
}
