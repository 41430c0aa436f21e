//! Property tests of the clock: the clock invariants of docs/ARCHITECTURE.md.

use bazaar_clock::{LamportClock, Timestamp};
use proptest::prelude::*;

/// One event on a clock: a local event or send, or a receive of a remote time.
#[derive(Debug, Clone)]
enum Event {
    Tick,
    Observe(u64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::Tick),
        (0u64..1_000_000).prop_map(Event::Observe)
    ]
}

proptest! {
    /// Every event moves the clock strictly forward.
    #[test]
    fn strictly_increasing(events in prop::collection::vec(event(), 1..200)) {
        let mut clock = LamportClock::new(1u32);
        let mut last = clock.now();
        for e in events {
            let next = match e {
                Event::Tick => clock.tick(),
                Event::Observe(t) => clock.observe(t),
            };
            prop_assert!(next > last, "{next:?} is not after {last:?}");
            last = next;
        }
    }

    /// Between two peers exchanging messages, each receive lands after its send.
    #[test]
    fn receive_lands_after_send(
        script in prop::collection::vec((any::<bool>(), 0u8..4), 1..200),
    ) {
        let mut peers = [LamportClock::new(0u32), LamportClock::new(1u32)];
        for (from_zero, local_events) in script {
            let (s, r) = if from_zero { (0, 1) } else { (1, 0) };
            for _ in 0..local_events {
                peers[s].tick();
            }
            let sent = peers[s].tick();
            let received = peers[r].observe(sent.time);
            prop_assert!(received > sent, "{received:?} is not after {sent:?}");
        }
    }

    /// Any two timestamps compare, consistently with (time, peer).
    #[test]
    fn order_is_total(a in (0u64..50, 0u32..5), b in (0u64..50, 0u32..5)) {
        let (x, y) = (Timestamp::new(a.0, a.1), Timestamp::new(b.0, b.1));
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        prop_assert_eq!(x == y, a == b);
    }
}
