//! Where incoming events wait for `recv`, and the shutdown signal.

use tokio::sync::{Mutex, mpsc, watch};

use crate::Event;

/// The events of one transport, shared by its connection tasks.
#[derive(Debug)]
pub(crate) struct Inbox {
    tx: mpsc::Sender<Event>,
    rx: Mutex<mpsc::Receiver<Event>>,
    down_tx: watch::Sender<bool>,
}

impl Inbox {
    /// An inbox holding up to `len` events.
    pub(crate) fn new(len: usize) -> Self {
        let (tx, rx) = mpsc::channel(len.max(1));
        Self {
            tx,
            rx: Mutex::new(rx),
            down_tx: watch::Sender::new(false),
        }
    }

    /// A handle for tasks that deliver events.
    pub(crate) fn sender(&self) -> mpsc::Sender<Event> {
        self.tx.clone()
    }

    /// The next event, or `None` once shut down.
    pub(crate) async fn recv(&self) -> Option<Event> {
        let mut down = self.down_tx.subscribe();
        if *down.borrow_and_update() {
            return None;
        }
        let mut rx = self.rx.lock().await;
        tokio::select! {
            event = rx.recv() => event,
            _ = down.wait_for(|down| *down) => None,
        }
    }

    /// Marks the inbox shut down: `recv` returns `None` from now on.
    pub(crate) fn close(&self) {
        self.down_tx.send_replace(true);
    }
}
