//! The clock itself.

use crate::Timestamp;

/// A peer's Lamport clock.
///
/// Starts at 0; the first event reads 1. The clock only moves forward, so
/// every timestamp it returns is greater than the one before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LamportClock<P> {
    peer: P,
    time: u64,
}

impl<P: Clone> LamportClock<P> {
    /// A fresh clock for `peer`, at time 0.
    pub const fn new(peer: P) -> Self {
        Self { peer, time: 0 }
    }

    /// A clock for `peer` resumed at `time`, for a peer that restarts from
    /// a saved reading.
    pub const fn resume(peer: P, time: u64) -> Self {
        Self { peer, time }
    }

    /// The current reading, without advancing.
    pub fn now(&self) -> Timestamp<P> {
        Timestamp::new(self.time, self.peer.clone())
    }

    /// The current Lamport time alone.
    pub const fn time(&self) -> u64 {
        self.time
    }

    /// Advances for a local event or a send and returns the new timestamp.
    pub fn tick(&mut self) -> Timestamp<P> {
        self.time = self.time.saturating_add(1);
        self.now()
    }

    /// Takes in the `remote` time of a received message: the clock becomes
    /// `max(local, remote) + 1`, so the receive lands after the send.
    pub fn observe(&mut self, remote: u64) -> Timestamp<P> {
        self.time = self.time.max(remote).saturating_add(1);
        self.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_tick_reads_one() {
        let mut clock = LamportClock::new(7u32);
        assert_eq!(clock.now(), Timestamp::new(0, 7));
        assert_eq!(clock.tick(), Timestamp::new(1, 7));
    }

    #[test]
    fn receive_jumps_past_a_later_sender() {
        let mut clock = LamportClock::new(1u32);
        clock.tick();
        assert_eq!(clock.observe(41), Timestamp::new(42, 1));
    }

    #[test]
    fn receive_from_an_earlier_sender_still_advances() {
        let mut clock = LamportClock::resume(1u32, 10);
        assert_eq!(clock.observe(3), Timestamp::new(11, 1));
    }

    #[test]
    fn equal_times_are_ordered_by_peer() {
        assert!(Timestamp::new(5, 1u32) < Timestamp::new(5, 2));
        assert!(Timestamp::new(4, 9u32) < Timestamp::new(5, 1));
    }
}
