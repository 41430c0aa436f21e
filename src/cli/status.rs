//! `bazaar status --cluster FILE`.

use bazaar_node::cluster::Cluster;

use crate::{
    cli::{Failure, StatusArgs},
    status::{PeerStatus, ask, table},
};

pub(super) fn run(args: &StatusArgs) -> Result<(), Failure> {
    let cluster = Cluster::load(&args.cluster).map_err(Failure::input)?;
    let status = ask(&cluster, args.timeout);
    println!("{}", table(&status));
    if status
        .values()
        .any(|(_, s)| matches!(s, PeerStatus::Up { .. }))
    {
        Ok(())
    } else {
        Err(Failure::run("no peer of the cluster answered"))
    }
}
