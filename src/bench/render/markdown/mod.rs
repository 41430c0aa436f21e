//! The Markdown report: tables of every experiment, each latency also as a
//! ratio to its transport's echo floor, the plots, and the targets. One
//! file a section, in the report's order.

mod cells;
mod elections;
mod floors;
mod header;
mod history;
mod instructions;
mod latency;
mod load;
mod processes;
mod remote;
mod stores;
mod targets;

use super::svg::Plots;
use crate::bench::experiments::BenchResults;

/// The report for `results`, linking the `plots` drawn beside it.
pub fn report(results: &BenchResults, plots: &Plots) -> String {
    let mut md = String::new();
    header::section(&mut md, results);
    floors::section(&mut md, results);
    latency::transports(&mut md, results);
    latency::peers(&mut md, results, plots);
    latency::ratios(&mut md, results);
    elections::section(&mut md, results, plots);
    load::section(&mut md, results, plots);
    stores::section(&mut md, results);
    history::section(&mut md, results, plots);
    remote::section(&mut md, results, plots);
    instructions::section(&mut md, results);
    processes::section(&mut md, results.processes.as_ref());
    targets::section(&mut md, results);
    md
}
