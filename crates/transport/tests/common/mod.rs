//! What the transport tests share: a way to start a cluster of any
//! transport, bounded waits, and the conformance suite run against all three.

#![allow(dead_code, missing_docs)]

pub mod conformance;

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use bazaar_transport::{Event, PeerId, Transport, TransportConfig};
use bytes::Bytes;

/// The longest any single wait in a test may take: generous, so that a
/// loaded machine does not fail a test, yet nothing can hang.
pub const WAIT: Duration = Duration::from_secs(20);

/// A way to run a cluster of one kind of transport.
#[async_trait]
pub trait Net: Send {
    /// The transport under test.
    type T: Transport;

    /// Starts peers `ids`, each knowing all the others.
    async fn start(&mut self, ids: &[PeerId], config: TransportConfig)
    -> BTreeMap<PeerId, Self::T>;

    /// Takes peer `id` down (its transport is `t`).
    async fn stop(&mut self, id: PeerId, t: Self::T);

    /// Brings peer `id` back at the same address, as a fresh transport.
    async fn restart(&mut self, id: PeerId) -> Self::T;
}

/// A config for tests that take a peer down: quick to notice and redial a
/// dead peer. A dial that takes longer than its `connect_timeout` fails
/// and drops what waited for it, so a test using this config must not
/// expect every frame to a live peer to arrive.
pub fn quick_config() -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_millis(500),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        ..TransportConfig::default()
    }
}

/// A config for tests where every peer stays up and every frame must
/// arrive: no dial gives up before the test's own wait does, however
/// loaded the machine (a TLS handshake in a debug build on two busy cores
/// can take longer than [`quick_config`]'s half second).
pub fn patient_config() -> TransportConfig {
    TransportConfig {
        connect_timeout: WAIT,
        ..quick_config()
    }
}

pub fn id(n: u32) -> PeerId {
    PeerId(n)
}

/// The next event of `t`, within [`WAIT`].
pub async fn next_event(t: &impl Transport) -> Option<Event> {
    tokio::time::timeout(WAIT, t.recv())
        .await
        .expect("an event within the wait")
}

/// The next frame of `t` within [`WAIT`], skipping unreachable reports.
pub async fn next_frame(t: &impl Transport) -> (PeerId, Bytes) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let Ok(event) = tokio::time::timeout_at(deadline, t.recv()).await else {
            panic!(
                "peer {}: no frame within the wait; stats {:?}",
                t.local_id(),
                t.stats()
            );
        };
        match event {
            Some(Event::Frame { from, frame }) => return (from, frame),
            Some(Event::Unreachable { .. }) => continue,
            None => panic!(
                "transport of peer {} closed while waiting for a frame",
                t.local_id()
            ),
        }
    }
}

/// A frame whose bytes say who sent it and its number.
pub fn numbered(from: PeerId, seq: u32) -> Bytes {
    let mut frame = Vec::with_capacity(8);
    frame.extend_from_slice(&from.0.to_be_bytes());
    frame.extend_from_slice(&seq.to_be_bytes());
    Bytes::from(frame)
}

/// The (sender, number) written by [`numbered`].
pub fn number_of(frame: &[u8]) -> (PeerId, u32) {
    let sender = u32::from_be_bytes(frame[0..4].try_into().expect("4 bytes"));
    let seq = u32::from_be_bytes(frame[4..8].try_into().expect("4 bytes"));
    (PeerId(sender), seq)
}

/// Runs the whole conformance suite as tests of one transport, each named
/// after the situation it checks; wrap it in a module named after the
/// transport.
#[macro_export]
macro_rules! conformance_suite {
    ($net:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn in_order_delivery_per_pair() {
            common::conformance::in_order_delivery_per_pair($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn frames_sent_together_arrive_in_order() {
            common::conformance::frames_sent_together_arrive_in_order($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn many_peers_at_once() {
            common::conformance::many_peers_at_once($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn small_and_large_frames() {
            common::conformance::small_and_large_frames($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn oversize_frame_is_rejected() {
            common::conformance::oversize_frame_is_rejected($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn unknown_peer_is_an_error() {
            common::conformance::unknown_peer_is_an_error($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn clean_shutdown() {
            common::conformance::clean_shutdown($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn unreachable_peer_is_reported() {
            common::conformance::unreachable_peer_is_reported($net).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn peer_goes_down_and_comes_back() {
            common::conformance::peer_goes_down_and_comes_back($net).await;
        }
    };
}
