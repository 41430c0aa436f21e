//! `bazaar node`: one peer as its own process.

use std::{path::PathBuf, sync::Arc, time::Instant};

use bazaar_protocol::PeerId;
use tokio::sync::{mpsc, watch};

use bazaar_node::{
    Peer, ResignPolicy,
    cluster::Cluster,
    lives::begin_life,
    net::start_peer,
    runtime::Runtime,
    store::{SqliteStore, Store},
};

use crate::{
    cli::{Failure, NodeArgs},
    demo, logging,
};

pub(super) fn run(args: &NodeArgs) -> Result<(), Failure> {
    logging::init("info");
    let cluster = Cluster::load(&args.cluster).map_err(Failure::input)?;
    let id = PeerId(args.id);
    if cluster.peer(id).is_none() {
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
    }
    let beside = args.cluster.parent().map(PathBuf::from).unwrap_or_default();
    let data_dir = args.data_dir.clone().unwrap_or_else(|| beside.join("data"));
    let store = open_store(&data_dir)?;
    let incarnation = begin_life(&data_dir, id).map_err(Failure::input)?;
    let seed = args.seed.unwrap_or(u64::from(args.id));
    let mut config = cluster
        .peer_config(id, seed, incarnation)
        .expect("the peer is in the cluster");
    config.resign = ResignPolicy {
        after: args.resign_every,
        after_sales: None,
    };
    let tls_dir = beside.join("tls");
    super::runtime()?.block_on(async {
        let transport = start_peer(args.transport, id, cluster.addresses(), &tls_dir)
            .await
            .map_err(|e| Failure::input(format!("peer {id}: {e}")))?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let runtime = Runtime::new(
            Peer::new(config),
            Arc::clone(&transport),
            store,
            tx,
            Instant::now(),
        );
        let (stop, stopped) = watch::channel(false);
        let peer = tokio::spawn(runtime.run(stopped));
        tracing::info!(
            "peer {id} up on {} over {} (life {incarnation})",
            cluster.addresses()[&id],
            args.transport
        );
        let until = args.duration.map(|d| tokio::time::Instant::now() + d);
        // One listener for the whole run: a signal that arrives while no
        // listener exists is lost, so it must not be re-made per report.
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                Some(report) = rx.recv() => demo::log(&report, false),
                () = &mut shutdown => break,
                () = sleep_until(until) => break,
            }
        }
        tracing::info!("peer {id} stopping");
        let _ = stop.send(true);
        if let Ok(peer) = peer.await {
            log_holdings(&peer);
        }
        tracing::debug!("peer {id}: runtime stopped, closing the transport");
        transport.shutdown().await;
        tracing::info!("peer {id} stopped");
        Ok(())
    })
}

/// The books: SQLite in the data directory, shared by the peers of a host.
fn open_store(dir: &std::path::Path) -> Result<Arc<dyn Store>, Failure> {
    let store = SqliteStore::open(dir).map_err(Failure::input)?;
    Ok(Arc::new(store))
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
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
