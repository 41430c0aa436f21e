//! A whole market in one process: peers as tasks over one transport kind,
//! sharing one store, that a test, the demo or the bench can crash, restart
//! and stop.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Instant,
};

use bazaar_protocol::PeerId;
use bazaar_transport::{Transport, TransportError};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::{
    Peer, PeerConfig,
    net::{self, LocalNet, TransportKind},
    runtime::{Report, Runtime},
    store::{MemStore, Store},
};

/// A peer of the market that runs: its task, its transport, and how to
/// stop it.
struct RunningPeer {
    stop: watch::Sender<bool>,
    task: JoinHandle<Peer>,
    transport: Arc<dyn Transport>,
}

/// A running in-process market.
pub struct LocalMarket {
    net: LocalNet,
    store: Arc<dyn Store>,
    configs: BTreeMap<PeerId, PeerConfig>,
    running: BTreeMap<PeerId, RunningPeer>,
    crashed: BTreeSet<PeerId>,
    reports: mpsc::UnboundedSender<Report>,
    started: Instant,
}

/// The market after it stopped: every peer still alive, and the books.
pub struct Outcome {
    /// The peers that were running at the stop, as they stood.
    pub peers: BTreeMap<PeerId, Peer>,
    /// The peers that were crashed and not brought back.
    pub crashed: BTreeSet<PeerId>,
    /// The shared books.
    pub store: Arc<dyn Store>,
}

impl LocalMarket {
    /// Starts one peer per config over `kind`, sharing books in memory,
    /// reporting to `reports`.
    ///
    /// # Errors
    /// A [`TransportError`] if the transports cannot start.
    pub async fn start(
        kind: TransportKind,
        configs: Vec<PeerConfig>,
        seed: u64,
        reports: mpsc::UnboundedSender<Report>,
    ) -> Result<Self, TransportError> {
        Self::start_with(kind, configs, Arc::new(MemStore::new()), seed, reports).await
    }

    /// Starts one peer per config over `kind`, sharing `store` (in memory
    /// or durable), reporting to `reports`.
    ///
    /// # Errors
    /// A [`TransportError`] if the transports cannot start.
    pub async fn start_with(
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
            crashed: BTreeSet::new(),
            reports,
            started: Instant::now(),
        };
        for (id, transport) in transports {
            market.spawn(id, transport);
        }
        Ok(market)
    }

    fn spawn(&mut self, id: PeerId, transport: Arc<dyn Transport>) {
        let peer = Peer::new(self.configs[&id].clone());
        let store = Arc::clone(&self.store);
        let runtime = Runtime::new(
            peer,
            Arc::clone(&transport),
            store,
            self.reports.clone(),
            self.started,
        );
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(runtime.run(stopped));
        self.running.insert(
            id,
            RunningPeer {
                stop,
                task,
                transport,
            },
        );
    }

    /// When the market started; report times count from here.
    pub const fn started(&self) -> Instant {
        self.started
    }

    /// The peers running now.
    pub fn live(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.running.keys().copied()
    }

    /// The mem hub, for partitions and other faults; `None` on tcp and quic.
    pub const fn hub(&self) -> Option<&bazaar_transport::Hub> {
        self.net.hub()
    }

    /// Frames sent so far by the peers running now.
    pub fn frames_sent(&self) -> u64 {
        self.running
            .values()
            .map(|r| r.transport.stats().sent)
            .sum()
    }

    /// The shared books.
    pub const fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Crashes `id` abruptly: its task is aborted mid-step and its
    /// transport dropped, with no goodbye to anyone. Its memory is lost;
    /// the store keeps what it committed.
    pub async fn crash(&mut self, id: PeerId) {
        if let Some(running) = self.running.remove(&id) {
            running.task.abort();
            self.net.crash(id, &running.transport).await;
            let _ = running.task.await;
            self.crashed.insert(id);
        }
    }

    /// Brings a crashed peer back from nothing but the shared store.
    ///
    /// # Errors
    /// A [`TransportError`] if its address cannot be bound again.
    pub async fn restart(&mut self, id: PeerId) -> Result<(), TransportError> {
        if self.crashed.remove(&id) {
            let transport = self.net.restart(id).await?;
            // A new incarnation numbers its requests and offers past the old ones.
            if let Some(config) = self.configs.get_mut(&id) {
                config.incarnation = config
                    .incarnation
                    .next()
                    .expect("fewer than 2^32 restarts of one peer");
            }
            self.spawn(id, transport);
        }
        Ok(())
    }

    /// Stops every peer cleanly and hands back what they know.
    pub async fn stop(mut self) -> Outcome {
        for running in self.running.values() {
            let _ = running.stop.send(true);
        }
        let mut peers = BTreeMap::new();
        let mut transports = Vec::new();
        for (id, running) in std::mem::take(&mut self.running) {
            if let Ok(peer) = running.task.await {
                peers.insert(id, peer);
            }
            transports.push(running.transport);
        }
        net::shutdown_all(&transports).await;
        Outcome {
            peers,
            crashed: self.crashed,
            store: self.store,
        }
    }
}
