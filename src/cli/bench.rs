//! `bazaar bench`.

use std::io::IsTerminal;

use crate::{
    bench::{self, BenchOptions, Plan},
    cli::{BenchArgs, Experiment, Failure},
    logging,
};

pub(super) fn run(args: &BenchArgs) -> Result<(), Failure> {
    // The markets' logs (unreachable peers while a trader is killed, on
    // purpose) would drown the progress bar: errors only.
    logging::init("error");
    let mut plan = if args.postgres.is_some() {
        Plan::new(args.quick).with_postgres()
    } else {
        Plan::new(args.quick)
    };
    if !args.only.is_empty() {
        let keep = |e: Experiment| args.only.contains(&e);
        if !keep(Experiment::Latency) {
            plan.latency.clear();
        }
        if !keep(Experiment::Load) {
            plan.load.clear();
            plan.commits = 0;
        }
        if !keep(Experiment::History) {
            plan.history.clear();
        }
        if !keep(Experiment::Remote) {
            plan.remote.clear();
        }
        if !keep(Experiment::Instructions) {
            plan.instructions = None;
        }
        if !keep(Experiment::Processes) {
            plan.processes = None;
        }
    }
    if !args.transports.is_empty() {
        let keep = |t| args.transports.contains(&t);
        plan.latency.retain(|l| keep(l.transport));
        plan.load.retain(|l| keep(l.transport));
    }
    let options = BenchOptions {
        plan,
        out: args.out.clone(),
        json: args.json.clone(),
        seed: args.seed,
        progress: std::io::stderr().is_terminal(),
        postgres: args.postgres.clone(),
    };
    let results = super::runtime()?
        .block_on(bench::run(&options))
        .map_err(|e| Failure::run(format!("bench: {e}")))?;
    println!(
        "bench done in {:.0} s: report in {}{}",
        results.elapsed_s,
        options.out.join("report.md").display(),
        options
            .json
            .as_ref()
            .map_or_else(String::new, |p| format!(", figures in {}", p.display())),
    );
    Ok(())
}
