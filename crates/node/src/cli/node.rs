//! `bazaar node`: one peer as its own process.

use std::{path::PathBuf, sync::Arc, time::Instant};

use bazaar_protocol::PeerId;
use tokio::sync::{mpsc, watch};

use crate::{
    Peer, PeerConfig,
    cli::{Failure, NodeArgs},
    cluster::Cluster,
    demo, logging,
    net::start_peer,
    peer::ResignPolicy,
    runtime::Runtime,
    store::{SqliteStore, Store},
};

pub(super) fn run(args: &NodeArgs) -> Result<(), Failure> {
    logging::init("info");
    let cluster = Cluster::load(&args.cluster).map_err(Failure::input)?;
    let id = PeerId(args.id);
    let mut config =
        PeerConfig::from_cluster(&cluster, id, args.seed.unwrap_or(u64::from(args.id)))
            .ok_or_else(|| {
                Failure::input(format!(
                    "--id {id}: no such peer in {} (it has ids {})",
                    args.cluster.display(),
                    cluster
                        .ids()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
    config.incarnation = start_time_secs();
    config.resign = ResignPolicy {
        after: args.resign_every,
        after_sales: None,
    };
    let beside = args.cluster.parent().map(PathBuf::from).unwrap_or_default();
    let store = open_store(args, &beside)?;
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
            "peer {id} up on {} over {:?}",
            cluster.addresses()[&id],
            args.transport
        );
        let until = args.duration.map(|d| tokio::time::Instant::now() + d);
        loop {
            tokio::select! {
                Some(report) = rx.recv() => demo::log(&report, false),
                () = shutdown_signal() => break,
                () = sleep_until(until) => break,
            }
        }
        let _ = stop.send(true);
        let _ = peer.await;
        transport.shutdown().await;
        tracing::info!("peer {id} stopped");
        Ok(())
    })
}

/// The books: SQLite in the data directory, shared by the peers of a host.
fn open_store(args: &NodeArgs, beside: &std::path::Path) -> Result<Arc<dyn Store>, Failure> {
    let dir = args.data_dir.clone().unwrap_or_else(|| beside.join("data"));
    let store = SqliteStore::open(&dir).map_err(Failure::input)?;
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

/// This start's Unix time in seconds: it grows with every restart, so a
/// restarted peer's request and offer ids never repeat an earlier life's.
fn start_time_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs())
}
