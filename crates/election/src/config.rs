//! How long a peer waits before it concludes something, and how far ahead
//! an epoch may be before it is taken for a forgery.

use std::time::Duration;

/// The timeouts of the election and its bound on epochs. Configuration, not
/// constants: pick the timeouts from the round-trip time of the network the
/// peers share.
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
    /// How far ahead of the highest epoch a peer has seen a message's epoch
    /// may be. A message further ahead is refused
    /// ([`Action::Refused`](crate::Action::Refused) with
    /// [`Refusal::TooFarAhead`](crate::Refusal::TooFarAhead)) and not
    /// obeyed: honest epochs grow by about one round (the number of peers)
    /// per election, so no honest peer gets there in one step, and one
    /// forged message must not use up the range of epochs. A peer restarted
    /// with no memory of epochs starts from 0 and must still follow a
    /// cluster that has run a long time, so the bound is generous.
    pub max_epoch_lead: u64,
}

/// The default [`Config::max_epoch_lead`]: 2^32 epochs, over a billion
/// elections of a cluster of four (decades at one election every second),
/// while the 2^63 epochs of the range take 2^31 such leaps to use up.
pub const DEFAULT_MAX_EPOCH_LEAD: u64 = 1 << 32;

impl Default for Config {
    /// 150 ms to hear `Alive`, 400 ms to hear `Coordinator`: sane on a LAN;
    /// epochs at most [`DEFAULT_MAX_EPOCH_LEAD`] ahead.
    fn default() -> Self {
        Self {
            alive_timeout: Duration::from_millis(150),
            coordinator_timeout: Duration::from_millis(400),
            max_epoch_lead: DEFAULT_MAX_EPOCH_LEAD,
        }
    }
}
