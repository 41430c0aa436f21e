//! A queue of named timers keyed by deadline: the one piece of timekeeping
//! that both drivers (tokio and the simulator) share.

use std::time::Duration;

/// Named timers, each set at most once, fired in order of deadline.
///
/// Time is a `Duration` since the driver started, so the simulator's clock
/// and the wall clock fit alike. Setting a timer that is already set moves it.
/// A peer has a handful of timers, so they are kept in a plain list and
/// searched: no allocation once the list has grown, which a tree would pay
/// on every setting (a buyer sets two timers per request).
#[derive(Debug, Clone)]
pub struct TimerQueue<T> {
    /// Each timer set, with its deadline and the order it was set in.
    set: Vec<(T, Duration, u64)>,
    next_seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self {
            set: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<T: PartialEq> TimerQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `timer` to fire at `deadline`, replacing any earlier setting.
    pub fn set(&mut self, timer: T, deadline: Duration) {
        let seq = self.next_seq;
        self.next_seq += 1;
        match self.set.iter_mut().find(|(t, _, _)| *t == timer) {
            Some(entry) => *entry = (timer, deadline, seq),
            None => self.set.push((timer, deadline, seq)),
        }
    }

    /// Cancels `timer` if it is set.
    pub fn cancel(&mut self, timer: &T) {
        self.set.retain(|(t, _, _)| t != timer);
    }

    /// The earliest deadline, if any timer is set.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.set.iter().map(|(_, deadline, _)| *deadline).min()
    }

    /// Removes and returns the earliest timer whose deadline is at or before
    /// `now`. Timers with equal deadlines fire in the order they were set.
    pub fn pop_due(&mut self, now: Duration) -> Option<T> {
        let (index, _) = self
            .set
            .iter()
            .enumerate()
            .filter(|(_, (_, deadline, _))| *deadline <= now)
            .min_by_key(|(_, (_, deadline, seq))| (*deadline, *seq))?;
        Some(self.set.swap_remove(index).0)
    }

    /// Whether `timer` is set.
    pub fn is_set(&self, timer: &T) -> bool {
        self.set.iter().any(|(t, _, _)| t == timer)
    }

    /// Cancels every timer.
    pub fn clear(&mut self) {
        self.set.clear();
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
