//! The timers an election sets, by name.

/// A timer the machine asks its driver to run. At most one timer of each kind
/// is pending: setting a kind again replaces the earlier one. When it fires,
/// the driver hands it back as [`Input::Timer`](crate::Input::Timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Waiting for an `Alive` from a higher peer; on expiry, claim leadership.
    AwaitAlive,
    /// Heard `Alive`, waiting for the higher peer's `Coordinator`; on expiry,
    /// start the election over.
    AwaitCoordinator,
}
