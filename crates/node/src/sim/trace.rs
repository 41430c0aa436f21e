//! The run's trace: the last steps kept whole for a failure report, and a
//! digest of every step and every action (each driver's own digest) so
//! that two runs of one seed can be compared.
//!
//! Steps keep the actions they produced (moved, not copied) and are put
//! into words only when a failure is printed.

use std::{collections::VecDeque, fmt, time::Duration};

use bazaar_protocol::{PeerId, decode};

use crate::{Action, CallId, CommitId, PeerTimer};

/// What a step fed to a peer, or what the world did.
#[derive(Debug, Clone)]
pub(crate) enum What {
    /// The peer started (or restarted).
    Start,
    /// A frame arrived.
    Frame {
        /// The sender.
        from: PeerId,
        /// The sender's Lamport time in it, if it decodes.
        clock: Option<u64>,
        /// The frame, decoded again only for printing.
        bytes: Vec<u8>,
    },
    /// A timer fired.
    Timer(PeerTimer),
    /// Frames held back came due.
    Release,
    /// The peer drained: the end of a burst of inputs.
    Drained,
    /// The transport said a peer is unreachable.
    Unreachable(PeerId),
    /// A store call's answer arrived.
    Stored {
        /// The call.
        call: CallId,
        /// What the store answered.
        result: Result<(), String>,
    },
    /// The operator told the trader to resign.
    Resign,
    /// A fault or a change of phase, in words.
    World(String),
}

/// One step of the run.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) at: Duration,
    /// The peer that took the input, if any.
    pub(crate) peer: Option<PeerId>,
    pub(crate) what: What,
    /// Its Lamport time after the step.
    pub(crate) time: u64,
    /// What it asked for.
    pub(crate) actions: Vec<Action>,
    /// Its driver's digest of every action so far.
    pub(crate) digest: u64,
}

/// The tail of the run and the digest of all of it.
#[derive(Debug, Clone)]
pub(crate) struct Trace {
    tail: VecDeque<Step>,
    keep: usize,
    digest: u64,
}

impl Trace {
    pub(crate) fn new(keep: usize) -> Self {
        Self {
            tail: VecDeque::with_capacity(keep.min(1024)),
            keep,
            digest: 0xcbf2_9ce4_8422_2325,
        }
    }

    /// Records a step.
    pub(crate) fn push(&mut self, step: Step) {
        let peer = step.peer.map_or(0, |p| u64::from(p.0));
        let tag = match &step.what {
            What::Start => 1,
            What::Frame { clock, .. } => 2 + clock.unwrap_or_default() * 16,
            What::Timer(_) => 3,
            What::Unreachable(_) => 4,
            What::Stored { .. } => 5,
            What::Resign => 6,
            What::World(_) => 7,
            What::Release => 8,
            What::Drained => 9,
        };
        let nanos = u64::try_from(step.at.as_nanos()).unwrap_or(u64::MAX);
        for word in [nanos, peer, tag, step.time, step.digest] {
            self.mix(word);
        }
        if self.keep == 0 {
            return;
        }
        if self.tail.len() == self.keep {
            self.tail.pop_front();
        }
        self.tail.push_back(step);
    }

    /// Mixes one word in, a multiply and a rotation a word (FNV's prime,
    /// taken a word at a time): order-sensitive, and cheap enough for
    /// every step of every run.
    fn mix(&mut self, word: u64) {
        self.digest = (self.digest ^ word)
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(29);
    }

    pub(crate) const fn digest(&self) -> u64 {
        self.digest
    }

    /// The kept steps, oldest first, one or more lines each.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.tail.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.at.as_secs_f64() * 1000.0;
        match self.peer {
            Some(peer) => write!(f, "{ms:>10.3}ms peer {peer} [t={}] ", self.time)?,
            None => write!(f, "{ms:>10.3}ms world ")?,
        }
        match &self.what {
            What::Start => write!(f, "starts")?,
            What::Frame { from, bytes, .. } => match decode(bytes) {
                Ok(envelope) => write!(
                    f,
                    "<- peer {from} (t={}): {:?}",
                    envelope.clock, envelope.body
                )?,
                Err(e) => write!(f, "<- peer {from}: bad frame ({e})")?,
            },
            What::Timer(timer) => write!(f, "timer {timer:?} fires")?,
            What::Unreachable(peer) => write!(f, "hears peer {peer} is unreachable")?,
            What::Release => write!(f, "held frames come due")?,
            What::Drained => write!(f, "drains")?,
            What::Stored { call, result } => match result {
                Ok(()) => write!(f, "store call {} answered", call.0)?,
                Err(e) => write!(f, "store call {} failed: {e}", call.0)?,
            },
            What::Resign => write!(f, "is told to resign")?,
            What::World(text) => write!(f, "{text}")?,
        }
        for action in &self.actions {
            write!(f, "\n{:>16}", "")?;
            match action {
                Action::Send { to, envelope } => write!(
                    f,
                    "-> peer {to} (t={}): {:?}",
                    envelope.clock, envelope.body
                )?,
                Action::SetTimer { timer, after } => write!(f, "set {timer:?} in {after:?}")?,
                Action::CancelTimer(timer) => write!(f, "cancel {timer:?}")?,
                Action::LoadBooks { epoch, .. } => {
                    write!(f, "load the books at epoch {epoch}")?;
                }
                Action::ReloadBooks { epoch } => {
                    write!(f, "reload the books of epoch {epoch}")?;
                }
                Action::RenewLease { epoch, lease } => {
                    write!(f, "renew the lease of epoch {epoch} for {lease:?}")?;
                }
                Action::Commit {
                    commit: CommitId(seq),
                    epoch,
                    batch,
                } => write!(
                    f,
                    "commit {seq} at epoch {epoch}: {} deposits, {} served, {} sales",
                    batch.deposits.len(),
                    batch.served.len(),
                    batch.sales.len()
                )?,
                Action::Event(event) => write!(f, "event: {event:?}")?,
            }
        }
        Ok(())
    }
}
