//! The experiments: each runs its part of the plan and returns its own
//! result type; [`run`] runs them all in the report's order. They read
//! the plan and nothing after it: no analysis, no rendering.

pub mod capacity;
pub mod commits;
mod error;
pub mod floors;
pub mod history;
pub mod instructions;
pub mod latency;
pub mod load;
mod peers;
pub mod processes;
pub mod remote;
mod results;
pub mod stock;
mod stores;
mod summary;
mod tasks;

use std::{path::Path, time::Instant};

use indicatif::ProgressBar;

use crate::bench::plan::Plan;

pub use error::ExperimentError;
pub use results::BenchResults;
pub use summary::Summary;

/// What every experiment is given besides its part of the plan.
pub struct Setup<'a> {
    /// The whole plan.
    pub plan: &'a Plan,
    /// The output folder: durable stores and scratch files while in use.
    pub out: &'a Path,
    /// Seed of every random choice.
    pub seed: u64,
    /// A PostgreSQL database the bench may empty, if given.
    pub postgres: Option<&'a str>,
    /// The progress bar each experiment names itself on and counts its
    /// steps on.
    pub bar: &'a ProgressBar,
}

/// Runs every experiment of the plan, the floors first.
///
/// # Errors
/// An [`ExperimentError`] naming the experiment that failed.
pub async fn run(setup: &Setup<'_>) -> Result<BenchResults, ExperimentError> {
    let started = Instant::now();
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let floors = floors::run(setup).await?;
    let latency = latency::run(setup).await?;
    let history = history::run(setup).await?;
    let (remote, remote_skipped) = remote::run(setup).await?;
    let (instructions, instructions_skipped) = instructions::run(setup).await;
    let processes = processes::run(setup).await?;
    let commits = commits::run(setup).await?;
    let capacity = capacity::run(setup).await?;
    let load = load::run(setup).await?;
    Ok(BenchResults {
        plan: setup.plan.clone(),
        floors,
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
    })
}
