//! `bazaar init`: a cluster file and the TLS material for quic.

use std::path::PathBuf;

use bazaar_protocol::PeerId;

use bazaar_node::{cluster::Cluster, store::PgStore};

use crate::cli::{Failure, InitArgs};

pub(super) fn run(args: &InitArgs) -> Result<(), Failure> {
    let path = write(args)?;
    println!(
        "start them all with: bazaar up --cluster {}   (or peer i alone: bazaar node --cluster {} --id i)",
        path.display(),
        path.display()
    );
    Ok(())
}

/// Writes `out/cluster.toml` for `peers` peers on `host` from `base_port`
/// (their metrics on the ports after theirs), with the books in the
/// PostgreSQL database `store` if given, and `out/tls/`; says what it
/// wrote and returns the cluster file.
pub(super) fn write(args: &InitArgs) -> Result<PathBuf, Failure> {
    let InitArgs {
        peers,
        ref out,
        host,
        base_port,
        ref store,
        force,
    } = *args;
    let store = store.as_deref();
    let path = out.join("cluster.toml");
    if path.exists() && !force {
        return Err(Failure::input(format!(
            "{} already exists: pass --force to overwrite it",
            path.display()
        )));
    }
    let last_port = u32::from(base_port) + 2 * peers - 1;
    if last_port > u32::from(u16::MAX) {
        return Err(Failure::input(format!(
            "--base-port {base_port} leaves no room for {peers} peers and their metrics (the last would be port {last_port})"
        )));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| Failure::input(format!("cannot create {}: {e}", out.display())))?;
    if let Some(url) = store {
        PgStore::check_url(url).map_err(|e| Failure::input(format!("--store: {e}")))?;
    }
    let mut cluster = Cluster::local(peers, host, base_port);
    cluster.store = store.map(str::to_owned);
    for (i, peer) in cluster.peers.iter_mut().enumerate() {
        let port = u32::from(base_port) + peers + i as u32;
        peer.metrics = u16::try_from(port)
            .ok()
            .map(|port| std::net::SocketAddr::new(host, port));
    }
    cluster.save(&path).map_err(Failure::input)?;
    let tls = out.join("tls");
    bazaar_transport::tls::write_cluster(&tls, (1..=peers).map(PeerId)).map_err(Failure::input)?;
    println!(
        "wrote {} ({peers} peers on {host}:{base_port}..{}, metrics on {host}:{}..{last_port}) and TLS material in {}",
        path.display(),
        u32::from(base_port) + peers - 1,
        u32::from(base_port) + peers,
        tls.display()
    );
    Ok(path)
}
