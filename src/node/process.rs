//! `bazaar node`'s process once its flags are read: its transport and its
//! peer started, each report told, counted, served as metrics and fed to
//! the web view, and at the stop its summary printed and written.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use bazaar_node::{
    Incarnation, Peer, PeerConfig,
    net::{TransportKind, start_peer},
    runtime::{Report, Runtime},
    store::Store,
};
use bazaar_protocol::PeerId;
use bazaar_transport::Transport;
use tokio::sync::{mpsc, watch};

use super::{
    summary::{NodeSummary, NodeTally},
    watch::stop_reason,
};
use crate::{
    books::Books,
    cli::Failure,
    metrics::{NodeMetrics, http},
    story,
};

/// How often the transport's counters are read into the metrics.
const REFRESH: Duration = Duration::from_secs(1);

/// What a node's process runs with, resolved from its flags and its
/// cluster file.
pub struct NodeProcess {
    /// The peer's id.
    pub id: PeerId,
    /// Every peer's address, this one's included.
    pub addresses: BTreeMap<PeerId, SocketAddr>,
    /// The transport to the other peers (tcp, tcp+tls or quic).
    pub transport: TransportKind,
    /// The cluster's TLS material.
    pub tls_dir: PathBuf,
    /// Where the books are, as the start-up line names them.
    pub books: Books,
    /// The node's metrics.
    pub metrics: Arc<NodeMetrics>,
    /// Where to serve them, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// Where to write the summary at the stop.
    pub summary_path: PathBuf,
    /// Stop after this long (`--duration`).
    pub duration: Option<Duration>,
    /// Stop when this process dies (`--parent-pid`).
    pub parent_pid: Option<u32>,
    /// Tell the lab's lines and problems only (`-q`).
    pub quiet: bool,
    /// Print each report for the parent's web view (`--web-feed`).
    pub web_feed: bool,
}

impl NodeProcess {
    /// Runs peer `config` over `store` until told to stop, then sums up.
    ///
    /// # Errors
    /// A transport or a metrics address that cannot be set up (bad
    /// input), or a peer that failed as it ran.
    pub async fn run(self, config: PeerConfig, store: Arc<dyn Store>) -> Result<(), Failure> {
        let id = self.id;
        let incarnation = config.incarnation;
        let transport = start_peer(self.transport, id, self.addresses.clone(), &self.tls_dir)
            .await
            .map_err(|e| Failure::input(format!("peer {id}: {e}")))?;
        if let Some(addr) = self.metrics_addr {
            serve_metrics(addr, &self.metrics, &transport, id).await?;
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
        self.say_up(incarnation);
        let mut tally = NodeTally::default();
        let why = self.follow(&mut rx, &mut tally, transport.as_ref()).await;
        tracing::debug!("peer {id} stopping: {why}");
        let _ = stop.send(true);
        let peer = peer
            .await
            .map_err(|e| Failure::run(format!("peer {id} failed: {e}")))?;
        while let Ok(report) = rx.try_recv() {
            tally.observe(&report);
            story::tell(&report, self.quiet);
        }
        self.sum_up(&tally, &peer, incarnation, started.elapsed());
        transport.shutdown().await;
        tracing::debug!("peer {id} stopped");
        Ok(())
    }

    /// The start-up line: where the peer listens, over what, in which
    /// incarnation, with its books and metrics.
    fn say_up(&self, incarnation: Incarnation) {
        let up = format!(
            "peer {} up on {} over {} (incarnation {incarnation}, books in {}{})",
            self.id,
            self.addresses[&self.id],
            match self.transport {
                TransportKind::TcpTls => "tcp under TLS",
                TransportKind::Tcp => "tcp in plaintext",
                kind => kind.name(),
            },
            self.books,
            self.metrics_addr.map_or(String::new(), |a| format!(
                ", metrics on http://{a}/metrics"
            ))
        );
        if self.quiet {
            tracing::debug!("{up}");
        } else {
            tracing::info!("{up}");
        }
    }

    /// Tells, counts and serves each report as it comes, and refreshes the
    /// transport's counters, until it is time to stop; returns why.
    async fn follow(
        &self,
        reports: &mut mpsc::UnboundedReceiver<Report>,
        tally: &mut NodeTally,
        transport: &dyn Transport,
    ) -> &'static str {
        let stopping = stop_reason(self.duration, self.parent_pid);
        tokio::pin!(stopping);
        let mut refresh = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                Some(report) = reports.recv() => {
                    tally.observe(&report);
                    self.metrics.observe(&report, tally.latencies());
                    story::tell(&report, self.quiet);
                    if self.web_feed {
                        crate::web::observation::feed(&report);
                    }
                }
                why = &mut stopping => break why,
                _ = refresh.tick() => refresh_metrics(&self.metrics, transport, self.id),
            }
        }
    }

    /// Prints the summary of this incarnation and what the peer holds, and
    /// writes the summary to its file.
    fn sum_up(&self, tally: &NodeTally, peer: &Peer, incarnation: Incarnation, ran: Duration) {
        let summary: NodeSummary = tally.summary(peer, incarnation.0, ran);
        for line in summary.lines() {
            tracing::info!("{line}");
        }
        log_holdings(peer);
        if let Err(e) = summary.write(&self.summary_path) {
            tracing::warn!(
                "peer {}: cannot write its summary to {}: {e}",
                self.id,
                self.summary_path.display()
            );
        }
    }
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

/// What this incarnation of the peer received and paid, for whoever
/// checks it against the ledger: `peer 3 holds fish=12 salt=4 boar=0
/// paid=130.00`.
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
