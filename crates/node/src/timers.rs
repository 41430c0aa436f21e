//! A queue of named timers keyed by deadline: the one piece of timekeeping
//! that both drivers (tokio and the simulator) share.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

/// Named timers, each set at most once, ordered by deadline.
///
/// Time is a `Duration` since the driver started, so the simulator's clock
/// and the wall clock fit alike. Setting a timer that is already set moves it.
#[derive(Debug, Clone)]
pub struct TimerQueue<T: Ord + Clone> {
    deadlines: BTreeMap<T, (Duration, u64)>,
    queue: BTreeSet<(Duration, u64, T)>,
    next_seq: u64,
}

impl<T: Ord + Clone> Default for TimerQueue<T> {
    fn default() -> Self {
        Self {
            deadlines: BTreeMap::new(),
            queue: BTreeSet::new(),
            next_seq: 0,
        }
    }
}

impl<T: Ord + Clone> TimerQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `timer` to fire at `deadline`, replacing any earlier setting.
    pub fn set(&mut self, timer: T, deadline: Duration) {
        self.cancel(&timer);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.insert((deadline, seq, timer.clone()));
        self.deadlines.insert(timer, (deadline, seq));
    }

    /// Cancels `timer` if it is set.
    pub fn cancel(&mut self, timer: &T) {
        if let Some((deadline, seq)) = self.deadlines.remove(timer) {
            self.queue.remove(&(deadline, seq, timer.clone()));
        }
    }

    /// The earliest deadline, if any timer is set.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.queue.first().map(|(deadline, _, _)| *deadline)
    }

    /// Removes and returns the earliest timer whose deadline is at or before
    /// `now`. Timers with equal deadlines fire in the order they were set.
    pub fn pop_due(&mut self, now: Duration) -> Option<T> {
        let (deadline, _, _) = self.queue.first()?;
        if *deadline > now {
            return None;
        }
        let (_, _, timer) = self.queue.pop_first()?;
        self.deadlines.remove(&timer);
        Some(timer)
    }

    /// Whether `timer` is set.
    pub fn is_set(&self, timer: &T) -> bool {
        self.deadlines.contains_key(timer)
    }

    /// Cancels every timer.
    pub fn clear(&mut self) {
        self.deadlines.clear();
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn fires_in_deadline_order_then_set_order() {
        let mut q = TimerQueue::new();
        q.set("late", 5 * MS);
        q.set("first", 2 * MS);
        q.set("second", 2 * MS);
        assert_eq!(q.next_deadline(), Some(2 * MS));
        assert_eq!(q.pop_due(MS), None);
        assert_eq!(q.pop_due(10 * MS), Some("first"));
        assert_eq!(q.pop_due(10 * MS), Some("second"));
        assert_eq!(q.pop_due(10 * MS), Some("late"));
        assert_eq!(q.pop_due(10 * MS), None);
    }

    #[test]
    fn setting_again_moves_the_timer() {
        let mut q = TimerQueue::new();
        q.set("t", 2 * MS);
        q.set("t", 9 * MS);
        assert_eq!(q.pop_due(5 * MS), None);
        assert_eq!(q.pop_due(9 * MS), Some("t"));
    }

    #[test]
    fn a_cancelled_timer_never_fires() {
        let mut q = TimerQueue::new();
        q.set("t", MS);
        q.cancel(&"t");
        assert!(!q.is_set(&"t"));
        assert_eq!(q.pop_due(10 * MS), None);
        assert_eq!(q.next_deadline(), None);
    }
}
