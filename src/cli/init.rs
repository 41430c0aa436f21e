//! `bazaar init`: a cluster file and the TLS material for quic.

use bazaar_protocol::PeerId;

use bazaar_node::cluster::Cluster;

use crate::cli::{Failure, InitArgs};

pub(super) fn run(args: &InitArgs) -> Result<(), Failure> {
    let path = args.out.join("cluster.toml");
    if path.exists() && !args.force {
        return Err(Failure::input(format!(
            "{} already exists: pass --force to overwrite it",
            path.display()
        )));
    }
    let last_port = u32::from(args.base_port) + args.peers - 1;
    if last_port > u32::from(u16::MAX) {
        return Err(Failure::input(format!(
            "--base-port {} leaves no room for {} peers (the last would be port {last_port})",
            args.base_port, args.peers
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::input(format!("cannot create {}: {e}", args.out.display())))?;
    let cluster = Cluster::local(args.peers, args.host, args.base_port);
    cluster.save(&path).map_err(Failure::input)?;
    let tls = args.out.join("tls");
    bazaar_transport::tls::write_cluster(&tls, (1..=args.peers).map(PeerId))
        .map_err(Failure::input)?;
    println!(
        "wrote {} ({} peers on {}:{}..{last_port}) and TLS material in {}",
        path.display(),
        args.peers,
        args.host,
        args.base_port,
        tls.display()
    );
    println!(
        "start peer i with: bazaar node --cluster {} --id i",
        path.display()
    );
    Ok(())
}
