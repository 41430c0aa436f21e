//! Everything one run measured: each experiment's own result, side by
//! side, for the analysis and the renderings.

use super::{
    capacity::CapacityResult, commits::CommitResult, floors::FloorResult, history::HistoryResult,
    instructions::InstructionsResult, latency::LatencyResult, load::LoadResult,
    processes::ProcessesResult, remote::RemoteResult,
};
use crate::bench::plan::Plan;

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct BenchResults {
    /// What was run.
    pub plan: Plan,
    /// The floors: echoes over each transport and raw tcp, then fsync.
    pub floors: Vec<FloorResult>,
    /// The latency experiments, in plan order.
    pub latency: Vec<LatencyResult>,
    /// The load curve: throughput experiments, in plan order.
    pub load: Vec<LoadResult>,
    /// The load curve's floors: each transport's request/reply capacity at
    /// each number of buyers of the curve.
    pub capacity: Vec<CapacityResult>,
    /// The history experiments, shortest history first.
    pub history: Vec<HistoryResult>,
    /// The remote-latency experiment, smallest delay first.
    pub remote: Vec<RemoteResult>,
    /// Why the remote-latency experiment did not run, if it did not.
    pub remote_skipped: Option<String>,
    /// Instructions per buy under callgrind, if measured.
    pub instructions: Option<InstructionsResult>,
    /// Why instructions were not counted, if the plan had them.
    pub instructions_skipped: Option<String>,
    /// The real-processes experiment, if it ran.
    pub processes: Option<ProcessesResult>,
    /// The durable stores' commits: SQLite, then PostgreSQL if measured.
    pub commits: Vec<CommitResult>,
    /// Seconds the whole run took.
    pub elapsed_s: f64,
    /// The machine's load average at the start, where the system tells it.
    pub load_average: Option<String>,
}
