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
/// held, when [`HOLD_AT_MOST`] are held, or with the frames to any peer
/// they are bound for: behind those sent before them, ahead of those sent
/// after them ([`HeldFrames::release_before`]), so that every peer's frames
/// keep their order.
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

    /// Moves the held frames to the end of `outbox` (the frames sent since
    /// the last transmit, in the order sent) if they are due at `now`, or
    /// if `outbox` goes to a peer one of them is bound for. Its frames to
    /// such a peer were sent before them: any sent after went through
    /// [`HeldFrames::release_before`]. Returns whether it moved them.
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

    /// A frame to `to` is about to join `outbox`: if one held is bound for
    /// `to`, every held frame moves to the end of `outbox` first, so that
    /// `to` hears them before it.
    pub(crate) fn release_before(&mut self, to: PeerId, outbox: &mut Vec<(PeerId, Bytes)>) {
        if self.frames.iter().any(|(held, _)| *held == to) {
            self.release_all_into(outbox);
        }
    }

    /// Moves every held frame to the end of `outbox`, due or not.
    pub(crate) fn release_all_into(&mut self, outbox: &mut Vec<(PeerId, Bytes)>) {
        self.since = None;
        outbox.append(&mut self.frames);
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
        assert_eq!(outbox, vec![frame(1, 9), frame(5, 1), frame(6, 2)]);
        assert!(held.frames.is_empty());
        assert_eq!(held.deadline(), None);
    }

    /// What a driver does with each frame that goes at once.
    fn send(
        held: &mut HeldFrames,
        outbox: &mut Vec<(PeerId, Bytes)>,
        (to, bytes): (PeerId, Bytes),
    ) {
        held.release_before(to, outbox);
        outbox.push((to, bytes));
    }

    #[test]
    fn a_frame_to_a_held_peer_takes_the_held_frames_along_ahead_of_it() {
        let mut held = HeldFrames::default();
        let mut outbox = Vec::new();
        held.hold(PeerId(5), frame(5, 1).1, ms(0));
        held.hold(PeerId(6), frame(6, 2).1, ms(0));
        send(&mut held, &mut outbox, frame(1, 7));
        assert_eq!(outbox, vec![frame(1, 7)], "nothing held for peer 1");
        send(&mut held, &mut outbox, frame(6, 8));
        // Peer 6 hears 2 before 8, as they were sent.
        assert_eq!(
            outbox,
            vec![frame(1, 7), frame(5, 1), frame(6, 2), frame(6, 8)]
        );
        assert_eq!(held.deadline(), None);
    }

    /// Found by the driver fuzz target: held frames went to the front of
    /// the outbox, ahead of a frame to the same peer sent before them.
    #[test]
    fn a_frame_sent_before_a_held_one_stays_ahead_of_it() {
        let mut held = HeldFrames::default();
        let mut outbox = Vec::new();
        send(&mut held, &mut outbox, frame(6, 1));
        held.hold(PeerId(6), frame(6, 2).1, ms(0));
        // Not due yet, but the outbox goes to peer 6 anyway: along, behind.
        assert!(held.release_into(&mut outbox, ms(0)));
        assert_eq!(outbox, vec![frame(6, 1), frame(6, 2)]);
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
