//! `bazaar node`: one peer as its own process. Here its flags and its
//! cluster file are read; [`NodeProcess`] runs it.

use std::{net::SocketAddr, path::PathBuf};

use bazaar_protocol::PeerId;

use bazaar_node::{
    ResignPolicy, cluster::Cluster, incarnations::begin_incarnation, net::TransportKind,
};

use crate::{
    books::Books,
    cli::{Failure, NodeArgs},
    logging,
    metrics::NodeMetrics,
    node::{process::NodeProcess, summary::NodeSummary},
    workers::on_workers,
};

pub(super) fn run(args: &NodeArgs) -> Result<(), Failure> {
    // The transport's own warnings (a peer unreachable while it is not up
    // yet) are not the node's story: the peer reports outages of peers it
    // had reached, and refused connections are counted below.
    logging::init("info,bazaar_transport=error");
    let cluster = Cluster::load(&args.cluster).map_err(Failure::input)?;
    let id = PeerId(args.id);
    let Some(entry) = cluster.peer(id).cloned() else {
        return Err(no_such_peer(args, &cluster));
    };
    let beside = args.cluster.parent().map(PathBuf::from).unwrap_or_default();
    let data_dir = args.data_dir.clone().unwrap_or_else(|| beside.join("data"));
    let books = Books::from_flags(
        args.store.as_deref().or(cluster.store.as_deref()),
        data_dir.clone(),
    )
    .map_err(Failure::input)?;
    let store = books.open().map_err(Failure::input)?;
    let incarnation = begin_incarnation(&data_dir, id).map_err(Failure::input)?;
    let seed = args.seed.unwrap_or(u64::from(args.id));
    let mut config = cluster
        .peer_config(id, seed, incarnation)
        .expect("the peer is in the cluster");
    config.resign = ResignPolicy {
        after: args.resign_every,
        after_sales: None,
    };
    let tls_dir = beside.join("tls");
    let process = NodeProcess {
        id,
        addresses: cluster.addresses(),
        transport: transport_of(args, &tls_dir, entry.addr)?,
        tls_dir,
        books,
        metrics: NodeMetrics::new(args.id, config.role.name()),
        metrics_addr: args.metrics.or(entry.metrics),
        summary_path: args
            .summary
            .clone()
            .unwrap_or_else(|| NodeSummary::default_path(&data_dir, args.id)),
        duration: args.duration,
        parent_pid: args.parent_pid,
        quiet: args.quiet,
        web_feed: args.web_feed,
    };
    // The node runs as a task on the workers, beside its peer: a report
    // then schedules a task rather than waking the thread that blocks on
    // the runtime, a system call on the path of every buy.
    super::runtime()?.block_on(on_workers(process.run(config, store)))
}

/// `--id` names no peer of the cluster file: say which ids it has.
fn no_such_peer(args: &NodeArgs, cluster: &Cluster) -> Failure {
    Failure::input(format!(
        "--id {}: no such peer in {} (it has ids {})",
        PeerId(args.id),
        args.cluster.display(),
        cluster
            .ids()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The transport the peer runs: quic as asked; tcp under TLS whenever
/// the cluster has TLS material, unless `--insecure-plaintext` says
/// otherwise. Plaintext is said aloud, and loudly when it listens beyond
/// loopback.
fn transport_of(
    args: &NodeArgs,
    tls_dir: &std::path::Path,
    addr: SocketAddr,
) -> Result<TransportKind, Failure> {
    let material = bazaar_transport::tls::has_material(tls_dir);
    let kind = match (args.transport, args.insecure_plaintext) {
        (TransportKind::Quic, true) => {
            return Err(Failure::input(
                "--insecure-plaintext is for --transport tcp: quic always runs under TLS",
            ));
        }
        (TransportKind::Tcp, false) if material => TransportKind::TcpTls,
        (TransportKind::Tcp, false) => {
            tracing::warn!(
                "peer {}: no TLS material in {} (bazaar init writes it): tcp in plaintext",
                args.id,
                tls_dir.display()
            );
            TransportKind::Tcp
        }
        (kind, _) => kind,
    };
    if kind == TransportKind::Tcp && !addr.ip().is_loopback() {
        tracing::warn!(
            "peer {}: plaintext tcp listens on {addr}, beyond loopback: anyone who reaches it can \
             claim to be any peer, buy in another's name or depose the trader; run bazaar init \
             and drop --insecure-plaintext for mutual TLS",
            args.id
        );
    }
    Ok(kind)
}
