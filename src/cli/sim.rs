//! `bazaar sim`.

use bazaar_node::sim::{Plant, SimOptions, run_many};

use crate::cli::{Failure, PlantArg, SimArgs};

pub(super) fn run(args: &SimArgs) -> Result<(), Failure> {
    let options = SimOptions {
        seeds: args.seeds,
        first_seed: args.seed,
        peers: args.peers,
        faulty: args.faulty,
        settle: args.settle,
        jobs: args.jobs as usize,
        swarm: !args.fixed_faults,
        plant: args.plant.map(|p| match p {
            PlantArg::IgnoreFencing => Plant::IgnoreFencing,
            PlantArg::ReplyBeforeCommit => Plant::ReplyBeforeCommit,
            PlantArg::SkipRetryDedup => Plant::SkipRetryDedup,
            PlantArg::CheckpointDropsBatch => Plant::CheckpointDropsBatch,
            PlantArg::UnknownOutcomeIsSuccess => Plant::UnknownOutcomeIsSuccess,
            PlantArg::LeaseNeverExpires => Plant::LeaseNeverExpires,
            PlantArg::BooksReadBeforeFence => Plant::BooksReadBeforeFence,
            PlantArg::AnswersCrossed => Plant::AnswersCrossed,
            PlantArg::CommitUnfenced => Plant::CommitUnfenced,
        }),
        ..SimOptions::default()
    };
    let mut out = std::io::stdout().lock();
    match run_many(&options, &mut out) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::run(
            "a simulated run broke an invariant (its seed and trace are above)",
        )),
        Err(e) => Err(Failure::run(format!("cannot write the report: {e}"))),
    }
}
