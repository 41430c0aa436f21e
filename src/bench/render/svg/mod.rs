//! The report's SVG plots (plotters, no font or bitmap dependency):
//! latency against peers, latency over time across re-elections, the
//! load curve per transport and store, history, and remote delays.

mod chart;
mod history;
mod lines;
mod over_time;

use std::path::{Path, PathBuf};

use crate::bench::{
    analysis::latency::group,
    experiments::{BenchResults, latency::LatencyResult},
    plan::{Disruption, Group},
};

/// A plot that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {detail}")]
pub struct PlotError {
    /// The SVG file.
    pub path: PathBuf,
    /// What plotters said.
    pub detail: String,
}

/// The plots drawn, as file names relative to the report.
#[derive(Debug, Clone, Default)]
pub struct Plots {
    /// Latency against the number of peers.
    pub peers: Option<String>,
    /// Latency over time while the trader is killed.
    pub killed: Option<String>,
    /// Latency over time while the trader resigns.
    pub resigned: Option<String>,
    /// The load curves: p99 against buys per second, per transport and
    /// store.
    pub throughput: Option<String>,
    /// Open time and live state against the length of history.
    pub history: Option<String>,
    /// Response time against the delay between hosts.
    pub remote: Option<String>,
}

/// Draws every plot the results have data for into `dir`.
///
/// # Errors
/// A [`PlotError`] naming the file.
pub fn draw_all(results: &BenchResults, dir: &Path) -> Result<Plots, PlotError> {
    let mut plots = Plots::default();
    let peers: Vec<&LatencyResult> = group(results, Group::Peers).collect();
    if !peers.is_empty() {
        let name = "latency-vs-peers.svg";
        guard(dir.join(name), |path| lines::latency_vs_peers(path, &peers))?;
        plots.peers = Some(name.into());
    }
    for r in &results.latency {
        let (slot, name) = match r.scenario.disruption {
            Disruption::Kill { .. } => (&mut plots.killed, "latency-over-time-killed.svg"),
            Disruption::Resign { .. } => (&mut plots.resigned, "latency-over-time-resigned.svg"),
            Disruption::None => continue,
        };
        if !r.samples.is_empty() {
            guard(dir.join(name), |path| over_time::draw(path, r))?;
            *slot = Some(name.into());
        }
    }
    if results.remote.len() >= 2 {
        let name = "remote.svg";
        guard(dir.join(name), |path| lines::remote(path, &results.remote))?;
        plots.remote = Some(name.into());
    }
    if results.history.len() >= 2 {
        let name = "history.svg";
        guard(dir.join(name), |path| history::draw(path, &results.history))?;
        plots.history = Some(name.into());
    }
    if !results.load.is_empty() {
        let name = "load-curve.svg";
        guard(dir.join(name), |path| lines::load_curves(path, results))?;
        plots.throughput = Some(name.into());
    }
    Ok(plots)
}

/// Draws into `path`, naming it if that fails.
fn guard(path: PathBuf, draw: impl FnOnce(&Path) -> chart::Drawn) -> Result<(), PlotError> {
    draw(&path).map_err(|e| PlotError {
        detail: e.to_string(),
        path,
    })
}
