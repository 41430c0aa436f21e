//! Running seeds and saying how they went: one line for a pass, the seed,
//! the broken invariant and the steps that led to it for a failure.

use std::{fmt, io};

use super::{RunTally, SimOptions, Violation, world::World};

/// How one seeded run went.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// Peers in the run.
    pub peers: u32,
    /// `Err` is the first invariant broken.
    pub outcome: Result<(), Violation>,
    /// What happened.
    pub tally: RunTally,
    /// A digest of every step and every action each peer asked for, in
    /// order: equal for two runs of one seed.
    pub digest: u64,
    /// The last steps, oldest first, when the run failed.
    pub trace: Vec<String>,
    /// The command line that runs this seed again with the same options.
    pub replay: String,
    /// The run's fault profile.
    pub faults: super::Faults,
}

impl RunReport {
    /// Whether every invariant held.
    pub const fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl fmt::Display for RunReport {
    /// A pass in one line; a failure with its seed, how to replay it, and
    /// its last steps.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tally;
        match &self.outcome {
            Ok(()) => write!(
                f,
                "seed {} passed: {} steps, {} sales, {} elections, {} crashes, digest {:016x}",
                self.seed, t.steps, t.sales, t.elections, t.crashes, self.digest
            ),
            Err(broken) => {
                writeln!(f, "seed {} FAILED: {broken}", self.seed)?;
                writeln!(f, "replay: {}", self.replay)?;
                writeln!(f, "faults: {:?}", self.faults)?;
                writeln!(f, "the last {} steps:", self.trace.len())?;
                for line in &self.trace {
                    writeln!(f, "{line}")?;
                }
                Ok(())
            }
        }
    }
}

/// Runs one seed. A run keeps no trace as it goes; a failed run is run
/// again, step for step the same, keeping its last steps to print.
pub fn run_one(seed: u64, options: &SimOptions) -> RunReport {
    let quiet = SimOptions {
        trace_tail: 0,
        ..options.clone()
    };
    let mut world = World::new(seed, &quiet);
    let outcome = world.run();
    debug_assert!(outcome.is_err() || world.book().audit().is_ok());
    let trace = if outcome.is_err() && options.trace_tail > 0 {
        let mut again = World::new(seed, options);
        let replayed = again.run();
        debug_assert_eq!(replayed, outcome, "a seed replays the same run");
        again.trace.lines()
    } else {
        Vec::new()
    };
    RunReport {
        seed,
        peers: options.peers.max(1),
        trace,
        outcome,
        tally: world.tally,
        digest: world.trace.digest(),
        replay: options.replay(seed),
        faults: world.faults,
    }
}

/// Runs `options.seeds` seeds from `options.first_seed` and writes one
/// summary line if all pass; otherwise each failing seed with its broken
/// invariant, and the trace of the first. Returns whether all passed. The
/// same options write the same bytes every time.
///
/// # Errors
/// Only those of `out`.
pub fn run_many(options: &SimOptions, out: &mut dyn io::Write) -> io::Result<bool> {
    let mut total = RunTally::default();
    let mut digest = Fnv::default();
    let mut failed = Vec::new();
    let seeds = options.first_seed..options.first_seed.saturating_add(options.seeds);
    for report in run_all(seeds.clone(), options) {
        let seed = report.seed;
        total.add(&report.tally);
        digest.mix(report.digest);
        if !report.passed() {
            if failed.is_empty() {
                write!(out, "{report}")?;
            } else if let Err(broken) = &report.outcome {
                writeln!(out, "seed {seed} FAILED: {broken}")?;
            }
            failed.push(seed);
        }
    }
    let peers = options.peers.max(1);
    let simulated = options.faulty + options.settle;
    if failed.is_empty() {
        writeln!(
            out,
            "sim: {} seeds ({}..{}) of {peers} peers, {simulated:?} simulated each: all passed; \
             {} steps, {} sales, {} elections, {} crashes, {} partitions, {} resignations, \
             {} messages lost, {} store calls, {} inputs taken with a store call in flight, \
             digest {:016x}",
            options.seeds,
            seeds.start,
            seeds.end,
            total.steps,
            total.sales,
            total.elections,
            total.crashes,
            total.partitions,
            total.resignations,
            total.lost,
            total.store_calls,
            total.in_flight,
            digest.0,
        )?;
    } else {
        let list: Vec<String> = failed.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "sim: {} of {} seeds of {peers} peers FAILED: {}",
            failed.len(),
            options.seeds,
            list.join(" ")
        )?;
    }
    Ok(failed.is_empty())
}

/// Runs every seed of `seeds`, on `options.jobs` threads, and returns the
/// reports in seed order: each seed's run is the same on any thread, so the
/// result is the serial one.
fn run_all(seeds: std::ops::Range<u64>, options: &SimOptions) -> Vec<RunReport> {
    let jobs = options.jobs.max(1);
    if jobs == 1 {
        return seeds.map(|seed| run_one(seed, options)).collect();
    }
    let next = std::sync::atomic::AtomicU64::new(seeds.start);
    let mut reports: Vec<RunReport> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if seed >= seeds.end {
                            return done;
                        }
                        done.push(run_one(seed, options));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a simulated run does not panic"))
            .collect()
    });
    reports.sort_by_key(|r| r.seed);
    reports
}

/// FNV-1a over the seeds' digests, in seed order.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn mix(&mut self, word: u64) {
        for byte in word.to_le_bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
