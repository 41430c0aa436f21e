//! `bazaar bench`: the lab's evaluation as one command. Echo floors per
//! transport, response times of sequential buyers in each circumstance
//! (transport, store, peers, buyers against sellers, re-elections),
//! throughput under load, then a Markdown report with SVG plots and,
//! on request, the figures as JSON.
//!
//! Four rooms, and the arrows between them point one way:
//! `plan` → `experiments` → `analysis` → `render`. The plan is data (the
//! experiments as values, the two scales, the targets' table); each
//! experiment runs its part of the plan and owns its result type; the
//! analysis reads results (curves, knees, ratios, the targets' verdicts);
//! the renderings turn those into Markdown, SVG and JSON. A room uses only
//! the rooms before it; [`run()`] alone uses them all.

mod analysis;
mod error;
mod experiments;
mod plan;
mod render;
mod run;

pub use error::BenchError;
pub use experiments::{
    BenchResults, ExperimentError, Summary,
    capacity::CapacityResult,
    commits::CommitResult,
    floors::{
        FSYNC, FloorResult, RAW_TCP,
        echo::{EchoError, Rounds},
    },
    history::HistoryResult,
    instructions::{
        self as instructions, InstructionsResult,
        counted::{CountingError, run as count_buys},
    },
    latency::{Cause, Election, LatencyResult, Sample},
    load::LoadResult,
    processes::{Failover, FailoverRun, ProcessesError, ProcessesResult, echo::side as echo_side},
    remote::RemoteResult,
};
pub use plan::{
    CountingMarket, Disruption, Group, InstructionsPlan, LatencyScenario, LoadScenario, Plan,
    ProcessesPlan, Scale,
};
pub use render::{json::to_json, markdown::report, svg::PlotError};
pub use run::{BenchOptions, run};
