//! A delay line: frames for one endpoint, held until their due time.

use std::{cmp::Reverse, collections::BinaryHeap, sync::Arc};

use bazaar_protocol::PeerId;
use bytes::Bytes;
use tokio::{
    sync::mpsc::{self, error::TrySendError},
    time::Instant,
};

use crate::{Event, stats::Counters};

/// A frame on its way, due at `due`.
pub(crate) struct Delayed {
    pub(crate) due: Instant,
    pub(crate) from: PeerId,
    pub(crate) frame: Bytes,
    /// The sender's counters, charged if the inbox is full on arrival.
    pub(crate) sender: Arc<Counters>,
}

/// Heap entry: earliest due first, then first sent first.
struct Entry(Reverse<(Instant, u64)>, Delayed);

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// Delivers frames from `input` into `inbox` at their due time; ends when
/// the input closes (the endpoint crashed or the hub is gone).
pub(crate) async fn run(
    mut input: mpsc::UnboundedReceiver<Delayed>,
    inbox: mpsc::Sender<Event>,
    receiver: Arc<Counters>,
) {
    let mut heap = BinaryHeap::new();
    let mut seq = 0_u64;
    loop {
        let next_due = heap.peek().map(|Entry(Reverse((due, _)), _)| *due);
        tokio::select! {
            delayed = input.recv() => match delayed {
                Some(delayed) => {
                    seq += 1;
                    heap.push(Entry(Reverse((delayed.due, seq)), delayed));
                }
                None => return,
            },
            () = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                let now = Instant::now();
                while heap.peek().is_some_and(|Entry(Reverse((due, _)), _)| *due <= now) {
                    let Some(Entry(_, delayed)) = heap.pop() else { break };
                    let event = Event::Frame { from: delayed.from, frame: delayed.frame };
                    match inbox.try_send(event) {
                        Ok(()) => Counters::add(&receiver.received, 1),
                        Err(TrySendError::Full(_)) => Counters::add(&delayed.sender.dropped_full, 1),
                        Err(TrySendError::Closed(_)) => return,
                    }
                }
            }
        }
    }
}
