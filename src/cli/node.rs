//! `bazaar node`: one peer as its own process, telling its story as it
//! runs, serving its metrics, and printing and writing its summary at exit.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Instant};

use bazaar_protocol::PeerId;
use bazaar_transport::Transport;
use tokio::sync::{mpsc, watch};

use bazaar_node::{
    Peer, ResignPolicy,
    cluster::Cluster,
    lives::begin_life,
    net::{RemoteKind, TcpSecurity, start_peer},
    runtime::Runtime,
};

use crate::{
    books::Books,
    cli::{Failure, NodeArgs},
    logging,
    metrics::{NodeMetrics, http},
    node::{
        summary::{NodeSummary, NodeTally},
        watch::stop_reason,
    },
    story,
    workers::on_workers,
};

/// How often the transport's counters are read into the metrics.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

pub(super) fn run(args: &NodeArgs) -> Result<(), Failure> {
    // The transport's own warnings (a peer unreachable while it is not up
    // yet) are not the node's story: the peer reports outages of peers it
    // had reached, and refused connections are counted below.
    logging::init("info,bazaar_transport=error");
    let cluster = Cluster::load(&args.cluster).map_err(Failure::input)?;
    let id = PeerId(args.id);
    let Some(entry) = cluster.peer(id).cloned() else {
        return Err(Failure::input(format!(
            "--id {id}: no such peer in {} (it has ids {})",
            args.cluster.display(),
            cluster
                .ids()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let beside = args.cluster.parent().map(PathBuf::from).unwrap_or_default();
    let data_dir = args.data_dir.clone().unwrap_or_else(|| beside.join("data"));
    let books = Books::from_flags(
        args.store.as_deref().or(cluster.store.as_deref()),
        data_dir.clone(),
    )
    .map_err(Failure::input)?;
    let store = books.open().map_err(Failure::input)?;
    let incarnation = begin_life(&data_dir, id).map_err(Failure::input)?;
    let seed = args.seed.unwrap_or(u64::from(args.id));
    let mut config = cluster
        .peer_config(id, seed, incarnation)
        .expect("the peer is in the cluster");
    config.resign = ResignPolicy {
        after: args.resign_every,
        after_sales: None,
    };
    let summary_path = args
        .summary
        .clone()
        .unwrap_or_else(|| NodeSummary::default_path(&data_dir, args.id));
    let metrics_addr = args.metrics.or(entry.metrics);
    let metrics = NodeMetrics::new(args.id, config.role.name());
    let tls_dir = beside.join("tls");
    let security = tcp_security(args, &tls_dir, entry.addr)?;
    let args = args.clone();
    // The node runs as a task on the workers, beside its peer: a report
    // then schedules a task rather than waking the thread that blocks on
    // the runtime, a system call on the path of every buy.
    super::runtime()?.block_on(on_workers(async move {
        let args = &args;
        let transport = start_peer(args.transport, id, cluster.addresses(), &tls_dir, security)
            .await
            .map_err(|e| Failure::input(format!("peer {id}: {e}")))?;
        if let Some(addr) = metrics_addr {
            serve_metrics(addr, &metrics, &transport, id).await?;
        }
        let started = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let runtime = Runtime::new(
            Peer::new(config),
            Arc::clone(&transport),
            store,
            tx,
            started,
        );
        let (stop, stopped) = watch::channel(false);
        let peer = tokio::spawn(runtime.run(stopped));
        let up = format!(
            "peer {id} up on {} over {}{} (life {incarnation}, books in {books}{})",
            cluster.addresses()[&id],
            args.transport,
            match (args.transport, security) {
                (RemoteKind::Tcp, TcpSecurity::Tls) => " under TLS",
                (RemoteKind::Tcp, TcpSecurity::InsecurePlaintext) => " in plaintext",
                (RemoteKind::Quic, _) => "",
            },
            metrics_addr.map_or(String::new(), |a| format!(
                ", metrics on http://{a}/metrics"
            ))
        );
        if args.quiet {
            tracing::debug!("{up}");
        } else {
            tracing::info!("{up}");
        }
        let mut tally = NodeTally::default();
        let stopping = stop_reason(args.duration, args.parent_pid);
        tokio::pin!(stopping);
        let mut refresh = tokio::time::interval(REFRESH);
        let why = loop {
            tokio::select! {
                Some(report) = rx.recv() => {
                    tally.observe(&report);
                    metrics.observe(&report, tally.latencies());
                    story::tell(&report, args.quiet);
                    if args.web_feed {
                        crate::web::observation::feed(&report);
                    }
                }
                why = &mut stopping => break why,
                _ = refresh.tick() => refresh_metrics(&metrics, transport.as_ref(), id),
            }
        };
        tracing::debug!("peer {id} stopping: {why}");
        let _ = stop.send(true);
        let peer = peer
            .await
            .map_err(|e| Failure::run(format!("peer {id} failed: {e}")))?;
        while let Ok(report) = rx.try_recv() {
            tally.observe(&report);
            story::tell(&report, args.quiet);
        }
        let summary = tally.summary(&peer, incarnation.0, started.elapsed());
        for line in summary.lines() {
            tracing::info!("{line}");
        }
        log_holdings(&peer);
        if let Err(e) = summary.write(&summary_path) {
            tracing::warn!(
                "peer {id}: cannot write its summary to {}: {e}",
                summary_path.display()
            );
        }
        transport.shutdown().await;
        tracing::debug!("peer {id} stopped");
        Ok(())
    }))
}

/// Whether tcp runs under TLS: yes whenever the cluster has TLS material,
/// unless `--insecure-plaintext` says otherwise. Plaintext is said aloud,
/// and loudly when it listens beyond loopback.
fn tcp_security(
    args: &NodeArgs,
    tls_dir: &std::path::Path,
    addr: SocketAddr,
) -> Result<TcpSecurity, Failure> {
    let material = bazaar_transport::tls::has_material(tls_dir);
    let security = match (args.transport, args.insecure_plaintext) {
        (RemoteKind::Quic, true) => {
            return Err(Failure::input(
                "--insecure-plaintext is for --transport tcp: quic always runs under TLS",
            ));
        }
        (RemoteKind::Quic, false) => return Ok(TcpSecurity::Tls),
        (RemoteKind::Tcp, true) => TcpSecurity::InsecurePlaintext,
        (RemoteKind::Tcp, false) if material => TcpSecurity::Tls,
        (RemoteKind::Tcp, false) => {
            tracing::warn!(
                "peer {}: no TLS material in {} (bazaar init writes it): tcp in plaintext",
                args.id,
                tls_dir.display()
            );
            TcpSecurity::InsecurePlaintext
        }
    };
    if security == TcpSecurity::InsecurePlaintext && !addr.ip().is_loopback() {
        tracing::warn!(
            "peer {}: plaintext tcp listens on {addr}, beyond loopback: anyone who reaches it can \
             claim to be any peer, buy in another's name or depose the trader; run bazaar init \
             and drop --insecure-plaintext for mutual TLS",
            args.id
        );
    }
    Ok(security)
}

/// Serves the metrics on `addr`; a port in use is bad input.
async fn serve_metrics(
    addr: SocketAddr,
    metrics: &Arc<NodeMetrics>,
    transport: &Arc<dyn Transport>,
    id: PeerId,
) -> Result<(), Failure> {
    let (m, t) = (Arc::clone(metrics), Arc::clone(transport));
    let refresh = Arc::new(move || refresh_metrics(&m, t.as_ref(), id));
    http::serve(addr, Arc::clone(metrics), refresh)
        .await
        .map(drop)
        .map_err(|e| Failure::input(format!("peer {id}: cannot serve metrics on {addr}: {e}")))
}

/// Reads the transport's counters into the metrics, and says so when it
/// refused connections that did not prove to be peers of the cluster.
fn refresh_metrics(metrics: &NodeMetrics, transport: &dyn Transport, id: PeerId) {
    let refused = metrics.refresh(transport.stats());
    if refused > 0 {
        tracing::warn!(
            "peer {id} refused {refused} connection(s) that did not prove to be a peer of this cluster \
             (RUST_LOG=bazaar_transport=warn says why)"
        );
    }
}

/// What this life of the peer received and paid, for whoever checks it
/// against the ledger: `peer 3 holds fish=12 salt=4 boar=0 paid=130.00`.
fn log_holdings(peer: &Peer) {
    if let Some(buyer) = peer.buyer() {
        let receipt = buyer.receipt();
        let units = |p| receipt.goods.get(&p).copied().unwrap_or(0);
        tracing::info!(
            "peer {} holds fish={} salt={} boar={} paid={}",
            peer.id(),
            units(bazaar_protocol::Product::Fish),
            units(bazaar_protocol::Product::Salt),
            units(bazaar_protocol::Product::Boar),
            receipt.paid
        );
    }
}
