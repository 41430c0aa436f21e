//! What a transport's connection tasks share with it.

use std::sync::{Mutex, PoisonError};

use bazaar_protocol::PeerId;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{Event, TransportConfig, stats::Counters};

/// The identity, limits, counters and event sink of one transport.
pub(crate) struct Shared {
    /// The peer this transport speaks for.
    pub(crate) local: PeerId,
    /// Its limits and timings.
    pub(crate) config: TransportConfig,
    /// Its counters.
    pub(crate) counters: Counters,
    /// Where received frames and unreachable reports go.
    pub(crate) events: mpsc::Sender<Event>,
}

/// The task that accepts a transport's incoming connections, stopped once.
pub(crate) struct AcceptTask(Mutex<Option<JoinHandle<()>>>);

impl AcceptTask {
    pub(crate) const fn new(task: JoinHandle<()>) -> Self {
        Self(Mutex::new(Some(task)))
    }

    /// Aborts the task, the first time; returns it so that the caller may
    /// wait for the listener to be dropped (and its port freed).
    pub(crate) fn stop(&self) -> Option<JoinHandle<()>> {
        let task = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = &task {
            task.abort();
        }
        task
    }
}
