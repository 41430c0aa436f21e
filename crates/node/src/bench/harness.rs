//! A market of one process for the experiments: like the demo's
//! [`LocalMarket`](crate::demo::LocalMarket), but over a store the bench
//! chooses (in memory or durable, stocked or not).

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use bazaar_protocol::PeerId;
use bazaar_transport::{Transport, TransportError};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::{
    Peer, PeerConfig,
    net::{LocalNet, TransportKind},
    runtime::{Report, Runtime},
    store::Store,
};

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<Peer>,
    transport: Arc<dyn Transport>,
}

/// Peers as tasks on the current tokio runtime, over one transport kind
/// and one shared store.
pub struct BenchMarket {
    net: LocalNet,
    store: Arc<dyn Store>,
    configs: BTreeMap<PeerId, PeerConfig>,
    running: BTreeMap<PeerId, Running>,
    reports: mpsc::UnboundedSender<Report>,
    started: Instant,
}

impl BenchMarket {
    /// Starts one peer per config over `kind`, sharing `store`, reporting
    /// to `reports`.
    ///
    /// # Errors
    /// A [`TransportError`] if the transports cannot start.
    pub async fn start(
        kind: TransportKind,
        configs: Vec<PeerConfig>,
        store: Arc<dyn Store>,
        seed: u64,
        reports: mpsc::UnboundedSender<Report>,
    ) -> Result<Self, TransportError> {
        let ids: Vec<PeerId> = configs.iter().map(|c| c.id).collect();
        let (net, transports) = LocalNet::start(kind, &ids, seed).await?;
        let mut market = Self {
            net,
            store,
            configs: configs.into_iter().map(|c| (c.id, c)).collect(),
            running: BTreeMap::new(),
            reports,
            started: Instant::now(),
        };
        for (id, transport) in transports {
            market.spawn(id, transport);
        }
        Ok(market)
    }

    fn spawn(&mut self, id: PeerId, transport: Arc<dyn Transport>) {
        let runtime = Runtime::new(
            Peer::new(self.configs[&id].clone()),
            Arc::clone(&transport),
            Arc::clone(&self.store),
            self.reports.clone(),
            self.started,
        );
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(runtime.run(stopped));
        self.running.insert(
            id,
            Running {
                stop,
                task,
                transport,
            },
        );
    }

    /// How many peers run now.
    pub fn live(&self) -> usize {
        self.running.len()
    }

    /// Frames sent so far by the peers running now.
    pub fn frames_sent(&self) -> u64 {
        self.running
            .values()
            .map(|r| r.transport.stats().sent)
            .sum()
    }

    /// Crashes `id` with no goodbye: its task is aborted and its transport
    /// dropped; the store keeps what it committed.
    pub async fn crash(&mut self, id: PeerId) {
        if let Some(running) = self.running.remove(&id) {
            running.task.abort();
            self.net.crash(id, &running.transport).await;
            let _ = running.task.await;
        }
    }

    /// Brings a crashed peer back at its old address, from nothing but the
    /// shared store.
    ///
    /// # Errors
    /// A [`TransportError`] if its address cannot be bound again.
    pub async fn restart(&mut self, id: PeerId) -> Result<(), TransportError> {
        if !self.running.contains_key(&id) && self.configs.contains_key(&id) {
            let transport = self.net.restart(id).await?;
            self.spawn(id, transport);
        }
        Ok(())
    }

    /// Stops every peer and closes its transport.
    pub async fn stop(mut self) {
        for running in self.running.values() {
            let _ = running.stop.send(true);
        }
        for (_, running) in std::mem::take(&mut self.running) {
            let _ = running.task.await;
            running.transport.shutdown().await;
        }
    }
}
