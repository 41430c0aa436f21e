//! The conformance suite: what every transport must do, written once.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use bazaar_transport::{Event, PeerId, Transport, TransportConfig, TransportError};
use bytes::Bytes;

use super::{
    Net, WAIT, id, next_event, next_frame, number_of, numbered, patient_config, quick_config,
};

/// Frames from one peer to another arrive complete and in the order sent.
pub async fn in_order_delivery_per_pair<N: Net>(mut net: N) {
    let peers = net.start(&[id(1), id(2)], patient_config()).await;
    let (a, b) = (&peers[&id(1)], &peers[&id(2)]);
    let count = 1000;
    for seq in 0..count {
        a.send(id(2), numbered(id(1), seq)).await.expect("send");
    }
    for seq in 0..count {
        let (from, frame) = next_frame(b).await;
        assert_eq!((from, number_of(&frame)), (id(1), (id(1), seq)));
    }
    assert_eq!(a.stats().dropped_full, 0);
}

/// Frames handed over together with `send_many`, between single sends,
/// arrive complete and in the order sent.
pub async fn frames_sent_together_arrive_in_order<N: Net>(mut net: N) {
    let peers = net.start(&[id(1), id(2)], patient_config()).await;
    let (a, b) = (&peers[&id(1)], &peers[&id(2)]);
    let mut seq = 0;
    for round in 0..200u32 {
        let together = 1 + round % 7;
        let frames = (seq..seq + together).map(|n| numbered(id(1), n)).collect();
        a.send_many(id(2), frames).await.expect("send_many");
        seq += together;
        a.send(id(2), numbered(id(1), seq)).await.expect("send");
        seq += 1;
    }
    for n in 0..seq {
        let (from, frame) = next_frame(b).await;
        assert_eq!((from, number_of(&frame)), (id(1), (id(1), n)));
    }
    assert_eq!(a.stats().dropped_full, 0);
    let too_large = vec![numbered(id(1), 0), Bytes::from(vec![0; 1 << 24])];
    assert!(
        matches!(
            a.send_many(id(2), too_large).await,
            Err(TransportError::FrameTooLarge { .. })
        ),
        "an oversize frame among several is refused"
    );
}

/// Six peers all sending to all at once: everything arrives, in order per
/// sender.
pub async fn many_peers_at_once<N: Net>(mut net: N) {
    let ids: Vec<PeerId> = (1..=6).map(id).collect();
    let peers: BTreeMap<PeerId, Arc<N::T>> = net
        .start(&ids, patient_config())
        .await
        .into_iter()
        .map(|(id, t)| (id, Arc::new(t)))
        .collect();
    let per_pair = 50;
    let mut senders = Vec::new();
    for (&from, t) in &peers {
        let (t, ids) = (Arc::clone(t), ids.clone());
        senders.push(tokio::spawn(async move {
            for seq in 0..per_pair {
                for &to in ids.iter().filter(|&&to| to != from) {
                    t.send(to, numbered(from, seq)).await.expect("send");
                }
            }
        }));
    }
    for sender in senders {
        sender.await.expect("sender task");
    }
    for (&me, t) in &peers {
        let mut next: BTreeMap<PeerId, u32> = BTreeMap::new();
        for _ in 0..per_pair * (ids.len() as u32 - 1) {
            let (from, frame) = next_frame(t.as_ref()).await;
            let (author, seq) = number_of(&frame);
            assert_eq!(
                author, from,
                "peer {me} got a frame attributed to the wrong sender"
            );
            let expected = next.entry(from).or_insert(0);
            assert_eq!(seq, *expected, "peer {me}: frames from {from} out of order");
            *expected += 1;
        }
        assert!(next.values().all(|&n| n == per_pair));
    }
}

/// An empty frame, a one-byte frame and a frame of exactly the maximum all
/// arrive byte for byte.
pub async fn small_and_large_frames<N: Net>(mut net: N) {
    let config = patient_config();
    let max = config.max_frame_len;
    let peers = net.start(&[id(1), id(2)], config).await;
    let (a, b) = (&peers[&id(1)], &peers[&id(2)]);
    let large: Bytes = (0..max)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let frames = [
        Bytes::new(),
        Bytes::from_static(b"x"),
        large.clone(),
        Bytes::from_static(b"after"),
    ];
    for frame in &frames {
        a.send(id(2), frame.clone()).await.expect("send");
    }
    for frame in &frames {
        assert_eq!(next_frame(b).await, (id(1), frame.clone()));
    }
}

/// A frame over the configured maximum is an error and nothing is sent; the
/// transport goes on working.
pub async fn oversize_frame_is_rejected<N: Net>(mut net: N) {
    let config = TransportConfig {
        max_frame_len: 1024,
        ..patient_config()
    };
    let peers = net.start(&[id(1), id(2)], config).await;
    let (a, b) = (&peers[&id(1)], &peers[&id(2)]);
    let result = a.send(id(2), Bytes::from(vec![0; 1025])).await;
    assert!(
        matches!(result, Err(TransportError::FrameTooLarge { to, len: 1025, max: 1024 }) if to == id(2)),
        "{result:?}"
    );
    a.send(id(2), Bytes::from(vec![7; 1024]))
        .await
        .expect("a frame of the maximum");
    assert_eq!(next_frame(b).await, (id(1), Bytes::from(vec![7; 1024])));
}

/// Sending to an id outside the peer list is an error, not a panic.
pub async fn unknown_peer_is_an_error<N: Net>(mut net: N) {
    let peers = net.start(&[id(1), id(2)], patient_config()).await;
    let result = peers[&id(1)].send(id(99), Bytes::from_static(b"hi")).await;
    assert!(
        matches!(result, Err(TransportError::UnknownPeer(p)) if p == id(99)),
        "{result:?}"
    );
    peers[&id(1)]
        .send(id(2), Bytes::from_static(b"still fine"))
        .await
        .expect("send");
    assert_eq!(
        next_frame(&peers[&id(2)]).await.1,
        Bytes::from_static(b"still fine")
    );
}

/// After shutdown, `recv` ends, sends fail, and the other peers carry on.
pub async fn clean_shutdown<N: Net>(mut net: N) {
    let peers = net.start(&[id(1), id(2), id(3)], patient_config()).await;
    let (a, b, c) = (&peers[&id(1)], &peers[&id(2)], &peers[&id(3)]);
    a.send(id(2), Bytes::from_static(b"before"))
        .await
        .expect("send");
    assert_eq!(next_frame(b).await.1, Bytes::from_static(b"before"));
    tokio::time::timeout(WAIT, a.shutdown())
        .await
        .expect("shutdown within the wait");
    assert_eq!(next_event(a).await, None, "recv after shutdown");
    let result = a.send(id(2), Bytes::from_static(b"after")).await;
    assert!(
        matches!(result, Err(TransportError::Shutdown(p)) if p == id(1)),
        "{result:?}"
    );
    c.send(id(2), Bytes::from_static(b"from 3"))
        .await
        .expect("send");
    assert_eq!(next_frame(b).await, (id(3), Bytes::from_static(b"from 3")));
}

/// Frames sent to a peer that is down are reported once as
/// `Event::Unreachable`, and every one of them is dropped and counted:
/// none is kept forever, none is counted as sent.
pub async fn unreachable_peer_is_reported<N: Net>(mut net: N) {
    let mut peers = net.start(&[id(1), id(2)], quick_config()).await;
    let gone = peers.remove(&id(2)).expect("peer 2");
    net.stop(id(2), gone).await;
    let a = &peers[&id(1)];
    for seq in 0..3 {
        a.send(id(2), numbered(id(1), seq)).await.expect("send");
    }
    assert_eq!(
        next_event(a).await,
        Some(Event::Unreachable { peer: id(2) })
    );
    // The transport keeps trying while frames wait: each attempt that fails
    // drops what waited for it.
    tokio::time::timeout(WAIT, async {
        while a.stats().dropped_unreachable < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("every frame dropped within the wait");
    let stats = a.stats();
    assert_eq!((stats.dropped_unreachable, stats.sent), (3, 0), "{stats:?}");
}

/// A peer that goes down and comes back at the same address is reached
/// again, as the outage contract of `Transport` says: the sender is told
/// once, and what the peer receives after coming back is every frame from
/// some frame on, in order, without a gap or a duplicate, whatever the
/// timing (a frame sent during the outage may arrive or not, depending on
/// whether the attempt it waited for found the peer back).
pub async fn peer_goes_down_and_comes_back<N: Net>(mut net: N) {
    let mut peers = net.start(&[id(1), id(2)], quick_config()).await;
    let a = peers.remove(&id(1)).expect("peer 1");
    let b = peers.remove(&id(2)).expect("peer 2");
    a.send(id(2), numbered(id(1), 0)).await.expect("send");
    assert_eq!(number_of(&next_frame(&b).await.1), (id(1), 0));
    net.stop(id(2), b).await;

    // While 2 is down, 1 learns it, whether from the lost connection or
    // from the frame.
    a.send(id(2), numbered(id(1), 1))
        .await
        .expect("send while down");
    assert_eq!(
        next_event(&a).await,
        Some(Event::Unreachable { peer: id(2) })
    );

    let b = net.restart(id(2)).await;
    // Send one frame at a time until one gets through: the polling sets
    // the pace, not a deadline, so a slow machine only sends more.
    let mut next = 2;
    let first = tokio::time::timeout(WAIT, async {
        loop {
            a.send(id(2), numbered(id(1), next)).await.expect("send");
            next += 1;
            if let Ok(Some(Event::Frame { from, frame })) =
                tokio::time::timeout(Duration::from_millis(50), b.recv()).await
            {
                assert_eq!(from, id(1));
                break number_of(&frame).1;
            }
        }
    })
    .await
    .expect("peer 2 reached again within the wait");
    let last = next + 100;
    for seq in next..last {
        a.send(id(2), numbered(id(1), seq)).await.expect("send");
    }
    let mut seen = vec![first];
    while seen.last() != Some(&(last - 1)) {
        let (from, frame) = next_frame(&b).await;
        assert_eq!(from, id(1));
        seen.push(number_of(&frame).1);
    }
    assert!(first >= 1, "frame 0 arrived before the outage: {seen:?}");
    assert_eq!(
        seen,
        (first..last).collect::<Vec<_>>(),
        "every frame from the first one through, in order, once"
    );
}
