//! What a simulation run does: its size, its length, its faults, and the
//! bug planted in it, if any.

use std::time::Duration;

/// The knobs of the fault model. Probabilities are per message; the other
/// faults are drawn at random moments during the faulty part of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a delivered message is delivered twice.
    pub duplicate: f64,
    /// Shortest network delay.
    pub min_delay: Duration,
    /// Longest network delay; delays are uniform in between, which
    /// reorders messages whose sends are closer than the spread.
    pub max_delay: Duration,
    /// How long the store takes over a call (a load, a renewal, a give-back,
    /// a commit): each runs after a delay drawn between half and one and a
    /// half times this, and its answer reaches the peer up to half of it
    /// later, while the peer goes on taking other inputs.
    pub commit_delay: Duration,
    /// The most inputs a peer takes before it drains (serves its batch); a
    /// drain also comes, unasked, within `drain_lag` of the first input
    /// after the last one. Each burst's size is drawn from `1..=burst`.
    pub burst: u32,
    /// How long after an input a peer drains at the latest.
    pub drain_lag: Duration,
    /// The longest connection set-up: the first frame from a peer to
    /// another after either (re)started, or after a partition healed, waits
    /// a handshake drawn up to this, and the frames sent meanwhile wait
    /// behind it.
    pub handshake: Duration,
    /// Mean time between two faults (crash, restart, partition, heal,
    /// resignation) while faults are on.
    pub every: Duration,
    /// Split the peers into two sides that cannot talk.
    pub partitions: bool,
    /// Crash peers (their store survives) and restart them.
    pub crashes: bool,
    /// Tell the trader to resign.
    pub resignations: bool,
    /// Tell a sender when its peer is down, as a transport would.
    pub unreachable: bool,
    /// Probability that a store call fails as a lost connection would: a
    /// load or reload fails; a commit fails and writes nothing, or (as
    /// often) lands and is still reported failed, its outcome unknown to
    /// the trader.
    pub store_failures: f64,
}

impl Faults {
    /// A perfect network: no loss, no duplicates, no crashes.
    pub const NONE: Self = Self {
        loss: 0.0,
        duplicate: 0.0,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        commit_delay: Duration::from_millis(2),
        burst: 1,
        drain_lag: Duration::ZERO,
        handshake: Duration::ZERO,
        every: Duration::from_millis(700),
        partitions: false,
        crashes: false,
        resignations: false,
        unreachable: false,
        store_failures: 0.0,
    };

    /// Every fault at once, at rates that keep the market trading.
    pub const ALL: Self = Self {
        loss: 0.05,
        duplicate: 0.03,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(30),
        commit_delay: Duration::from_millis(4),
        burst: 4,
        drain_lag: Duration::from_micros(200),
        handshake: Duration::from_millis(120),
        every: Duration::from_millis(700),
        partitions: true,
        crashes: true,
        resignations: true,
        unreachable: true,
        store_failures: 0.0,
    };
}

impl Default for Faults {
    fn default() -> Self {
        Self::ALL
    }
}

impl Faults {
    /// A fault profile drawn from `rng` (swarm testing): one run in ten
    /// with no faults at all, the rest with their own rates of loss,
    /// duplication, delay spread, commit delay and fault frequency, from
    /// gentle to extreme, and each kind of fault on or off.
    pub fn draw(rng: &mut impl rand::Rng) -> Self {
        if rng.random_range(0..10) == 0 {
            return Self::NONE;
        }
        fn pick(rng: &mut impl rand::Rng, from: &[u64]) -> Duration {
            Duration::from_millis(from[rng.random_range(0..from.len())])
        }
        Self {
            loss: [0.0, 0.001, 0.01, 0.05, 0.15, 0.3][rng.random_range(0..6)],
            duplicate: [0.0, 0.01, 0.03, 0.1, 0.25][rng.random_range(0..5)],
            min_delay: Duration::from_millis(1),
            max_delay: pick(rng, &[2, 5, 15, 30, 40]),
            commit_delay: pick(rng, &[1, 4, 15, 40]),
            burst: [1, 2, 4, 16][rng.random_range(0..4)],
            drain_lag: Duration::from_micros([0, 100, 1_000][rng.random_range(0..3)]),
            handshake: pick(rng, &[0, 0, 5, 60, 120, 150]),
            every: pick(rng, &[200, 700, 2_000]),
            partitions: rng.random_bool(0.75),
            crashes: rng.random_bool(0.75),
            resignations: rng.random_bool(0.5),
            unreachable: rng.random_bool(0.75),
            store_failures: [0.0, 0.0, 0.01, 0.05, 0.2][rng.random_range(0..5)],
        }
    }
}

/// A bug planted on purpose in the simulator's own stand-ins (never in the
/// product), to show that the checks catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plant {
    /// The store takes commits from any epoch: fencing is gone, and a
    /// deposed trader keeps selling.
    IgnoreFencing,
    /// The driver tells the trader its batch is durable before the store
    /// has it, so replies leave before the commit (and a crash loses it).
    ReplyBeforeCommit,
    /// A retried buy reaches the trader under a fresh request id, as if
    /// the trader did not deduplicate retries: a request is filled twice.
    SkipRetryDedup,
    /// The store's checkpoints forget the last batch before them, so a
    /// trader that opens the books from a checkpoint has lost a committed
    /// batch.
    CheckpointDropsBatch,
    /// The driver takes a commit whose outcome is unknown (the store
    /// failed it) for a success, and lets its replies leave.
    UnknownOutcomeIsSuccess,
    /// The store's leases never run out and are never given back: a dead
    /// trader holds the books for ever.
    LeaseNeverExpires,
    /// The driver reads the books when it asks for them, and the store
    /// fences the claim only when the call runs: a trader that opens the
    /// books misses whatever was committed while its load was in flight.
    BooksReadBeforeFence,
    /// The driver hands a store answer to the peer under the id of another
    /// call in flight: a renewal's success answers the commit beside it,
    /// whose replies leave before the commit is durable.
    AnswersCrossed,
    /// The durable store's commit path lost its fence: the batch's row
    /// lands whatever its epoch, so a deposed trader keeps selling.
    CommitUnfenced,
}

impl Plant {
    /// Its name on the command line (`bazaar sim --plant NAME`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::IgnoreFencing => "ignore-fencing",
            Self::ReplyBeforeCommit => "reply-before-commit",
            Self::SkipRetryDedup => "skip-retry-dedup",
            Self::CheckpointDropsBatch => "checkpoint-drops-batch",
            Self::UnknownOutcomeIsSuccess => "unknown-outcome-is-success",
            Self::LeaseNeverExpires => "lease-never-expires",
            Self::BooksReadBeforeFence => "books-read-before-fence",
            Self::AnswersCrossed => "answers-crossed",
            Self::CommitUnfenced => "commit-unfenced",
        }
    }
}

/// One simulation: its size, its length and its faults.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// How many seeds [`run_many`](super::run_many) runs.
    pub seeds: u64,
    /// The first seed.
    pub first_seed: u64,
    /// Peers in the market (ids 1..=peers); at least 1.
    pub peers: u32,
    /// Simulated time with faults on.
    pub faulty: Duration,
    /// Simulated time after the faults stop, by the end of which the
    /// market must have recovered (the liveness bound).
    pub settle: Duration,
    /// The fault model of every run, unless `swarm` draws one per seed.
    pub faults: Faults,
    /// Swarm testing (the default): each seed draws its own fault profile
    /// ([`Faults::draw`]) instead of using `faults`.
    pub swarm: bool,
    /// A bug planted on purpose, or none.
    pub plant: Option<Plant>,
    /// How many steps of a failing run's trace to print.
    pub trace_tail: usize,
    /// How many seeds run at once, on as many threads; the report is the
    /// same as a serial run's.
    pub jobs: usize,
}

impl SimOptions {
    /// The `bazaar sim` command line that runs `seed` alone with these
    /// options: every option that differs from the default is written out.
    /// Fault models other than the default are not command-line options:
    /// the line then says so, for a caller of the API to set them again.
    pub fn replay(&self, seed: u64) -> String {
        let default = Self::default();
        let mut line = format!(
            "bazaar sim --seeds 1 --seed {seed} --peers {}",
            self.peers.max(1)
        );
        if self.faulty != default.faulty {
            line += &format!(" --faulty {}ms", self.faulty.as_millis());
        }
        if self.settle != default.settle {
            line += &format!(" --settle {}ms", self.settle.as_millis());
        }
        if let Some(plant) = self.plant {
            line += &format!(" --plant {}", plant.name());
        }
        if !self.swarm {
            line += " --fixed-faults";
        }
        if self.faults != default.faults && !self.swarm {
            line += &format!(
                " (with the fault model {:?}, set through the API)",
                self.faults
            );
        }
        line
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            seeds: 100,
            first_seed: 0,
            peers: 5,
            faulty: Duration::from_secs(5),
            settle: Duration::from_secs(3),
            faults: Faults::ALL,
            swarm: true,
            plant: None,
            trace_tail: 40,
            jobs: 1,
        }
    }
}
