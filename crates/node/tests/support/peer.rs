//! Helpers for tests that drive a `Peer` input by input: a frame as it
//! arrives from the wire, and the `Send` action a peer is expected to emit.

use std::time::Duration;

use bazaar_node::{Action, Input, Peer};
use bazaar_protocol::{Body, Envelope, PeerId, encode};

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `body` from peer `from` at Lamport time `clock`, encoded as it arrives.
pub fn frame(from: u32, clock: u64, body: Body) -> Input {
    let mut bytes = Vec::new();
    encode(&Envelope::new(PeerId(from), clock, body), &mut bytes).unwrap();
    Input::Frame {
        from: PeerId(from),
        bytes,
    }
}

/// The action by which `from` sends `body` to peer `to` at `clock`.
pub fn send(from: &Peer, to: u32, clock: u64, body: Body) -> Action {
    Action::Send {
        to: PeerId(to),
        envelope: Envelope::new(from.id(), clock, body),
    }
}
