//! A running digest of every action a peer asked for, in order: two runs
//! that asked for the same things in the same order have the same digest.

use std::hash::{Hash, Hasher};

use crate::Action;

/// FNV's prime taken a word at a time: order-sensitive, cheap, and the
/// same on every platform and every run (unlike `std`'s randomly keyed
/// hasher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Digest {
    fn finish(&self) -> u64 {
        self.0
    }

    /// Eight bytes at a time: a frame costs a few multiplies, not one
    /// a byte.
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            self.mix(word);
        }
        let mut last = [0_u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(last) ^ (rest.len() as u64) << 56);
    }
}

impl Digest {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(29);
    }

    /// Mixes in one action; a send by the frame it became, so that the
    /// digest covers every byte that left.
    pub(crate) fn action(&mut self, action: &Action, frame: Option<&[u8]>) {
        std::mem::discriminant(action).hash(self);
        match action {
            Action::Send { to, .. } => {
                to.0.hash(self);
                frame.unwrap_or_default().hash(self);
            }
            Action::SetTimer { timer, after } => {
                timer.hash(self);
                after.hash(self);
            }
            Action::CancelTimer(timer) => timer.hash(self),
            Action::LoadBooks {
                epoch,
                trader,
                lease,
                ..
            } => {
                epoch.0.hash(self);
                trader.0.hash(self);
                lease.hash(self);
            }
            Action::ReloadBooks { epoch } => epoch.0.hash(self),
            Action::RenewLease { epoch, lease } => {
                epoch.0.hash(self);
                lease.hash(self);
            }
            Action::Commit {
                commit,
                epoch,
                batch,
            } => {
                commit.0.hash(self);
                epoch.0.hash(self);
                batch.deposits.len().hash(self);
                batch.served.len().hash(self);
                batch.sales.len().hash(self);
            }
            Action::Event(event) => std::mem::discriminant(event).hash(self),
        }
    }

    /// The digest so far.
    pub(crate) const fn value(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::PeerTimer;

    fn set(after: u64) -> Action {
        Action::SetTimer {
            timer: PeerTimer::Heartbeat,
            after: Duration::from_millis(after),
        }
    }

    #[test]
    fn order_and_content_change_the_digest() {
        let digest = |actions: &[Action]| {
            let mut d = Digest::default();
            for a in actions {
                d.action(a, None);
            }
            d.value()
        };
        assert_eq!(digest(&[set(1), set(2)]), digest(&[set(1), set(2)]));
        assert_ne!(digest(&[set(1), set(2)]), digest(&[set(2), set(1)]));
        assert_ne!(digest(&[set(1)]), digest(&[set(3)]));
    }
}
