//! How long a peer waits before it concludes something.

use std::time::Duration;

/// The timeouts of the election. Configuration, not constants: pick them from
/// the round-trip time of the network the peers share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Config {
    /// How long a candidate waits for an `Alive` from a higher peer before it
    /// declares itself coordinator. Should exceed one round trip.
    pub alive_timeout: Duration,
    /// How long a peer that heard `Alive` waits for the higher peer's
    /// `Coordinator` before it starts the election over. Should exceed
    /// `alive_timeout` plus one message delay, the time the higher peer needs
    /// to win its own election.
    pub coordinator_timeout: Duration,
}

impl Default for Config {
    /// 150 ms to hear `Alive`, 400 ms to hear `Coordinator`: sane on a LAN.
    fn default() -> Self {
        Self {
            alive_timeout: Duration::from_millis(150),
            coordinator_timeout: Duration::from_millis(400),
        }
    }
}
