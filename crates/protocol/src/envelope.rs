//! The envelope every message travels in.

use serde::{Deserialize, Serialize};

use crate::{Body, PeerId, Timestamp};

/// The protocol version this build speaks. It is the first byte of every
/// encoded envelope, so a peer can refuse a version it does not know before
/// decoding anything else.
pub const VERSION: u8 = 1;

/// A message with who sent it and when, in the sender's Lamport time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The protocol version; [`VERSION`] for envelopes this build makes.
    pub version: u8,
    /// The sender.
    pub from: PeerId,
    /// The sender's Lamport time at the send.
    pub clock: u64,
    /// What the message says.
    pub body: Body,
}

impl Envelope {
    /// An envelope of the current version.
    pub const fn new(from: PeerId, clock: u64, body: Body) -> Self {
        Self {
            version: VERSION,
            from,
            clock,
            body,
        }
    }

    /// The send's timestamp: the sender's time, tie-broken by its id.
    pub const fn timestamp(&self) -> Timestamp {
        Timestamp::new(self.clock, self.from)
    }
}
