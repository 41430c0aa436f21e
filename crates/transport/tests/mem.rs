//! The mem transport: the conformance suite, and the hub's fault knobs.

mod common;

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use bazaar_transport::{
    Delay, Event, Hub, MemTransport, PeerId, Transport, TransportConfig, TransportError,
};
use bytes::Bytes;
use common::{Net, id, next_frame, number_of, numbered};

/// A cluster on one hub.
#[derive(Default)]
struct MemNet {
    hub: Option<Hub>,
}

#[async_trait]
impl Net for MemNet {
    type T = MemTransport;

    async fn start(
        &mut self,
        ids: &[PeerId],
        config: TransportConfig,
    ) -> BTreeMap<PeerId, MemTransport> {
        let hub = Hub::with_config(1, config);
        self.hub = Some(hub.clone());
        ids.iter().map(|&id| (id, hub.endpoint(id))).collect()
    }

    async fn stop(&mut self, id: PeerId, _t: MemTransport) {
        self.hub.as_ref().expect("started").crash(id);
    }

    async fn restart(&mut self, id: PeerId) -> MemTransport {
        self.hub.as_ref().expect("started").restart(id)
    }
}

mod mem_conformance {
    use super::*;

    conformance_suite!(MemNet::default());
}

/// Sends `count` numbered frames from 1 to 2 and returns what 2 received,
/// waiting until the hub has nothing left in flight.
async fn deliveries(hub: &Hub, count: u32) -> Vec<u32> {
    let (a, b) = (hub.endpoint(id(1)), hub.endpoint(id(2)));
    for seq in 0..count {
        a.send(id(2), numbered(id(1), seq)).await.expect("send");
    }
    let mut got = Vec::new();
    // Paused clock: this wait ends as soon as every delay has run out.
    while let Ok(Some(Event::Frame { frame, .. })) =
        tokio::time::timeout(Duration::from_secs(3600), b.recv()).await
    {
        got.push(number_of(&frame).1);
    }
    got
}

#[tokio::test(start_paused = true)]
async fn mem_drop_probability_drops_that_share() {
    for (p, expect_all, expect_none) in
        [(0.0, true, false), (1.0, false, true), (0.5, false, false)]
    {
        let hub = Hub::new(42);
        hub.set_drop_probability(p);
        let got = deliveries(&hub, 1000).await;
        assert_eq!(got.len() == 1000, expect_all, "p = {p}");
        assert_eq!(got.is_empty(), expect_none, "p = {p}");
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "p = {p}: survivors keep their order"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn mem_drops_are_counted_as_faults() {
    let hub = Hub::new(3);
    hub.set_drop_probability(0.5);
    let (a, b) = (hub.endpoint(id(1)), hub.endpoint(id(2)));
    for seq in 0..100 {
        a.send(id(2), numbered(id(1), seq)).await.expect("send");
    }
    let stats = a.stats();
    assert_eq!(stats.sent + stats.dropped_fault, 100);
    assert_eq!(b.stats().received, stats.sent);
}

#[tokio::test(start_paused = true)]
async fn mem_fixed_delay_holds_each_frame_that_long_in_order() {
    let hub = Hub::new(1);
    hub.set_delay(Delay::Fixed(Duration::from_millis(100)));
    let (a, b) = (hub.endpoint(id(1)), hub.endpoint(id(2)));
    let start = tokio::time::Instant::now();
    for seq in 0..10 {
        a.send(id(2), numbered(id(1), seq)).await.expect("send");
    }
    // Virtual time: nothing arrives before the delay is over.
    assert!(
        tokio::time::timeout(Duration::from_millis(99), b.recv())
            .await
            .is_err()
    );
    for seq in 0..10 {
        assert_eq!(number_of(&next_frame(&b).await.1).1, seq);
    }
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn mem_random_delay_delivers_everything_within_bounds() {
    let hub = Hub::new(9);
    let (min, max) = (Duration::from_millis(10), Duration::from_millis(50));
    hub.set_delay(Delay::Uniform { min, max });
    let start = tokio::time::Instant::now();
    let got = deliveries(&hub, 200).await;
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..200).collect::<Vec<_>>(),
        "everything arrives once"
    );
    assert_ne!(got, sorted, "a random delay reorders");
    assert!(start.elapsed() >= max);
}

#[tokio::test(start_paused = true)]
async fn mem_same_seed_gives_same_deliveries() {
    async fn run(seed: u64) -> Vec<u32> {
        let hub = Hub::new(seed);
        hub.set_drop_probability(0.3);
        hub.set_delay(Delay::Uniform {
            min: Duration::from_millis(1),
            max: Duration::from_millis(20),
        });
        deliveries(&hub, 300).await
    }
    let first = run(7).await;
    assert_eq!(first, run(7).await);
    assert_ne!(first, run(8).await);
}

#[tokio::test]
async fn mem_partition_cuts_groups_and_heal_joins_them() {
    let hub = Hub::new(1);
    let (a, b, c) = (
        hub.endpoint(id(1)),
        hub.endpoint(id(2)),
        hub.endpoint(id(3)),
    );
    hub.partition([vec![id(1), id(2)], vec![id(3)]]);
    a.send(id(2), Bytes::from_static(b"same side"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&b).await,
        (id(1), Bytes::from_static(b"same side"))
    );
    a.send(id(3), Bytes::from_static(b"across"))
        .await
        .expect("send");
    c.send(id(1), Bytes::from_static(b"across"))
        .await
        .expect("send");
    assert_eq!(
        common::next_event(&a).await,
        Some(Event::Unreachable { peer: id(3) })
    );
    assert_eq!(
        common::next_event(&c).await,
        Some(Event::Unreachable { peer: id(1) })
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(20), c.recv())
            .await
            .is_err(),
        "nothing crossed"
    );

    hub.heal();
    a.send(id(3), Bytes::from_static(b"healed"))
        .await
        .expect("send");
    assert_eq!(next_frame(&c).await, (id(1), Bytes::from_static(b"healed")));
}

#[tokio::test]
async fn mem_crash_drops_frames_and_restart_brings_a_fresh_endpoint() {
    let hub = Hub::new(1);
    let (a, b) = (hub.endpoint(id(1)), hub.endpoint(id(2)));
    a.send(id(2), Bytes::from_static(b"lost in the crash"))
        .await
        .expect("send");
    hub.crash(id(2));
    assert!(!hub.is_up(id(2)));
    assert_eq!(
        common::next_event(&b).await,
        None,
        "a crashed peer hears nothing"
    );
    assert!(
        matches!(b.send(id(1), Bytes::new()).await, Err(TransportError::Shutdown(p)) if p == id(2))
    );
    a.send(id(2), Bytes::from_static(b"to the dead"))
        .await
        .expect("send");
    assert_eq!(
        common::next_event(&a).await,
        Some(Event::Unreachable { peer: id(2) })
    );

    let b2 = hub.restart(id(2));
    assert!(hub.is_up(id(2)));
    a.send(id(2), Bytes::from_static(b"welcome back"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&b2).await,
        (id(1), Bytes::from_static(b"welcome back"))
    );
    assert_eq!(
        common::next_event(&b).await,
        None,
        "the old endpoint stays dead"
    );
}

#[tokio::test]
async fn mem_full_inbox_drops_and_counts() {
    let hub = Hub::with_config(
        1,
        TransportConfig {
            inbox_len: 4,
            ..TransportConfig::default()
        },
    );
    let (a, _b) = (hub.endpoint(id(1)), hub.endpoint(id(2)));
    for seq in 0..10 {
        a.send(id(2), numbered(id(1), seq))
            .await
            .expect("a full inbox is not an error");
    }
    assert_eq!((a.stats().sent, a.stats().dropped_full), (4, 6));
}
