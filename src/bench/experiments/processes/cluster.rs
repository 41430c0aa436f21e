//! The experiment's cluster files: peers with the given roles on free
//! loopback ports, buyers thinking a given time between requests.

use std::{net::Ipv4Addr, path::Path};

use bazaar_node::{Role, cluster::Cluster, net};

use super::ProcessesError;

/// Writes a cluster file at `path` of one peer per role (ids from 1, in
/// order), each on a free loopback port, thinking `think_ms` between
/// requests; returns the cluster as written.
///
/// # Errors
/// [`ProcessesError::Start`] if no port is free or the file cannot be
/// written.
pub fn write(path: &Path, roles: &[Role], think_ms: u64) -> Result<Cluster, ProcessesError> {
    let n = u32::try_from(roles.len()).unwrap_or(u32::MAX);
    let mut cluster = Cluster::local(n, Ipv4Addr::LOCALHOST.into(), 1);
    cluster.timing.think_ms = think_ms;
    let addrs = net::free_loopback_addrs(roles.len())
        .map_err(|e| ProcessesError::Start(format!("no free loopback port: {e}")))?;
    for ((peer, addr), role) in cluster.peers.iter_mut().zip(addrs).zip(roles) {
        peer.addr = addr;
        peer.role = *role;
    }
    cluster
        .save(path)
        .map_err(|e| ProcessesError::Start(e.to_string()))?;
    Ok(cluster)
}
