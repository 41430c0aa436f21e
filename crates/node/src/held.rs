//! Frames that may wait a moment to travel with others to the same peer:
//! under load a trader makes tens of sales a millisecond, and their sale
//! notices then leave in one write per seller instead of one each.

use std::time::Duration;

use bazaar_protocol::PeerId;
use bytes::Bytes;

/// How long a frame that [may wait](bazaar_protocol::Body::may_wait) (a
/// sale notice) is held for others to the same peer.
pub const HOLD: Duration = Duration::from_millis(1);

/// Held frames that leave at once, whatever their age.
pub const HOLD_AT_MOST: usize = 64;

/// Frames held back, oldest first. They leave [`HOLD`] after the oldest was
/// held, when [`HOLD_AT_MOST`] are held, or with the next frame to any peer
/// they are bound for, ahead of it: every peer's frames keep their order.
///
/// Time is a `Duration` since the driver started, as in
/// [`TimerQueue`](crate::TimerQueue).
#[derive(Debug, Default)]
pub(crate) struct HeldFrames {
    frames: Vec<(PeerId, Bytes)>,
    /// When the oldest held frame was held.
    since: Option<Duration>,
}

impl HeldFrames {
    /// Holds `frame` for `to`, at `now`.
    pub(crate) fn hold(&mut self, to: PeerId, frame: Bytes, now: Duration) {
        self.since.get_or_insert(now);
        self.frames.push((to, frame));
    }

    /// When the held frames are due, if any are held.
    pub(crate) fn deadline(&self) -> Option<Duration> {
        self.since.map(|since| since + HOLD)
    }

    /// Moves the held frames to the front of `outbox` (a step's frames, in
    /// the order sent) if they are due at `now`, or if `outbox` goes to a
    /// peer one of them is bound for. Returns whether it moved them.
    pub(crate) fn release_into(
        &mut self,
        outbox: &mut Vec<(PeerId, Bytes)>,
        now: Duration,
    ) -> bool {
        let Some(deadline) = self.deadline() else {
            return false;
        };
        let due = now >= deadline
            || self.frames.len() >= HOLD_AT_MOST
            || outbox
                .iter()
                .any(|(to, _)| self.frames.iter().any(|(held, _)| held == to));
        if due {
            self.release_all_into(outbox);
        }
        due
    }

    /// Moves every held frame to the front of `outbox`, due or not.
    pub(crate) fn release_all_into(&mut self, outbox: &mut Vec<(PeerId, Bytes)>) {
        self.since = None;
        outbox.splice(0..0, self.frames.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn frame(to: u32, byte: u8) -> (PeerId, Bytes) {
        (PeerId(to), Bytes::from(vec![byte]))
    }

    #[test]
    fn nothing_held_is_never_due() {
        let mut held = HeldFrames::default();
        let mut outbox = vec![frame(1, 1)];
        assert_eq!(held.deadline(), None);
        assert!(!held.release_into(&mut outbox, ms(100)));
        assert_eq!(outbox, vec![frame(1, 1)]);
    }

    #[test]
    fn a_frame_waits_for_its_hold_counted_from_the_oldest() {
        let mut held = HeldFrames::default();
        held.hold(PeerId(5), frame(5, 1).1, ms(10));
        held.hold(PeerId(6), frame(6, 2).1, ms(10) + HOLD / 2);
        assert_eq!(held.deadline(), Some(ms(10) + HOLD));

        let mut outbox = vec![frame(1, 9)];
        assert!(!held.release_into(&mut outbox, ms(10) + HOLD - Duration::from_nanos(1)));
        assert_eq!(outbox, vec![frame(1, 9)]);
        assert_eq!(held.frames.len(), 2);

        assert!(held.release_into(&mut outbox, ms(10) + HOLD));
        assert_eq!(outbox, vec![frame(5, 1), frame(6, 2), frame(1, 9)]);
        assert!(held.frames.is_empty());
        assert_eq!(held.deadline(), None);
    }

    #[test]
    fn a_frame_to_a_held_peer_takes_the_held_frames_along_behind_them() {
        let mut held = HeldFrames::default();
        held.hold(PeerId(5), frame(5, 1).1, ms(0));
        held.hold(PeerId(6), frame(6, 2).1, ms(0));
        let mut outbox = vec![frame(1, 7), frame(6, 8)];
        assert!(held.release_into(&mut outbox, ms(0)));
        // Peer 6 hears 2 before 8, as they were sent.
        assert_eq!(
            outbox,
            vec![frame(5, 1), frame(6, 2), frame(1, 7), frame(6, 8)]
        );
    }

    #[test]
    fn enough_held_frames_leave_at_once() {
        let mut held = HeldFrames::default();
        for i in 0..HOLD_AT_MOST - 1 {
            held.hold(PeerId(5), Bytes::from(vec![i as u8]), ms(0));
        }
        let mut outbox = Vec::new();
        assert!(!held.release_into(&mut outbox, ms(0)));
        held.hold(PeerId(5), Bytes::from_static(b"last"), ms(0));
        assert!(held.release_into(&mut outbox, ms(0)));
        assert_eq!(outbox.len(), HOLD_AT_MOST);
        assert_eq!(
            outbox.last(),
            Some(&(PeerId(5), Bytes::from_static(b"last")))
        );
    }

    #[test]
    fn releasing_all_ignores_the_hold_and_a_new_hold_starts_afresh() {
        let mut held = HeldFrames::default();
        held.hold(PeerId(5), frame(5, 1).1, ms(0));
        let mut outbox = Vec::new();
        held.release_all_into(&mut outbox);
        assert_eq!(outbox, vec![frame(5, 1)]);
        held.hold(PeerId(5), frame(5, 2).1, ms(30));
        assert_eq!(held.deadline(), Some(ms(30) + HOLD));
    }
}
