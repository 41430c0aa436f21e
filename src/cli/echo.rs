//! `bazaar echo` (hidden): one side of the bench's two-process echo floor.

use bazaar_node::cluster::Cluster;
use bazaar_protocol::PeerId;

use crate::{
    bench,
    cli::{EchoArgs, Failure},
    logging,
    node::watch::stop_reason,
};

pub(super) fn run(args: &EchoArgs) -> Result<(), Failure> {
    logging::init("error");
    let cluster = Cluster::load(&args.cluster).map_err(Failure::input)?;
    super::runtime()?
        .block_on(bench::echo_side(
            &cluster,
            PeerId(args.id),
            bench::Rounds {
                count: args.round_trips,
                think: args.think,
            },
            stop_reason(None, args.parent_pid),
        ))
        .map_err(Failure::run)
}
