//! Where incoming events wait for `recv`, and the shutdown signal.

use tokio::sync::{Mutex, mpsc, watch};

use crate::Event;

/// The events of one transport, shared by its connection tasks.
#[derive(Debug)]
pub(crate) struct Inbox {
    tx: mpsc::Sender<Event>,
    /// The events, and a watch on the shutdown flag kept beside them so that
    /// `recv` does not subscribe anew on every call.
    rx: Mutex<(mpsc::Receiver<Event>, watch::Receiver<bool>)>,
    down_tx: watch::Sender<bool>,
}

impl Inbox {
    /// An inbox holding up to `len` events.
    pub(crate) fn new(len: usize) -> Self {
        let (tx, rx) = mpsc::channel(len.max(1));
        let down_tx = watch::Sender::new(false);
        Self {
            tx,
            rx: Mutex::new((rx, down_tx.subscribe())),
            down_tx,
        }
    }

    /// A handle for tasks that deliver events.
    pub(crate) fn sender(&self) -> mpsc::Sender<Event> {
        self.tx.clone()
    }

    /// The next event, or `None` once shut down.
    pub(crate) async fn recv(&self) -> Option<Event> {
        let mut guard = self.rx.lock().await;
        let (rx, down) = &mut *guard;
        if *down.borrow() {
            return None;
        }
        tokio::select! {
            biased;
            _ = down.wait_for(|down| *down) => None,
            event = rx.recv() => event,
        }
    }

    /// The next event if one is waiting already, without waiting; `None`
    /// if none is, if another caller is receiving, or once shut down.
    pub(crate) fn try_recv(&self) -> Option<Event> {
        let mut guard = self.rx.try_lock().ok()?;
        let (rx, down) = &mut *guard;
        if *down.borrow() {
            return None;
        }
        rx.try_recv().ok()
    }

    /// Marks the inbox shut down: `recv` returns `None` from now on.
    pub(crate) fn close(&self) {
        self.down_tx.send_replace(true);
    }
}
