//! The simulator as `cargo test` runs it: 500 seeds across market sizes,
//! replay, each fault knob, and the bugs planted to show it catches them.

use std::time::Duration;

use bazaar_node::sim::{Faults, Plant, RunReport, SimOptions, Violation, run_many, run_one};

/// One fixed fault profile (`Faults::ALL`), so that a test's seeds mean
/// the same runs whatever the swarm draws.
fn options(peers: u32) -> SimOptions {
    SimOptions {
        peers,
        swarm: false,
        ..SimOptions::default()
    }
}

/// Runs `seeds` seeds from `first` and fails with the report if any fails.
fn all_pass(first_seed: u64, seeds: u64, peers: u32) {
    let options = SimOptions {
        first_seed,
        seeds,
        swarm: true,
        ..options(peers)
    };
    let mut out = Vec::new();
    let passed = run_many(&options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(passed, "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn seeds_0_to_149_pass_with_3_peers() {
    all_pass(0, 150, 3);
}

#[test]
fn seeds_150_to_299_pass_with_4_peers() {
    all_pass(150, 150, 4);
}

#[test]
fn seeds_300_to_419_pass_with_5_peers() {
    all_pass(300, 120, 5);
}

#[test]
fn seeds_420_to_499_pass_with_7_peers() {
    all_pass(420, 80, 7);
}

#[test]
fn the_same_seed_gives_the_same_run_twice() {
    let options = SimOptions {
        first_seed: 11,
        seeds: 3,
        ..options(5)
    };
    assert_eq!(run_one(11, &options), run_one(11, &options));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    run_many(&options, &mut a).unwrap();
    run_many(&options, &mut b).unwrap();
    assert_eq!(a, b);
    assert_ne!(run_one(11, &options).digest, run_one(12, &options).digest);
}

/// One run of 5 peers with only these faults; it must pass.
fn with(faults: Faults) -> RunReport {
    let report = run_one(
        3,
        &SimOptions {
            faults,
            ..options(5)
        },
    );
    assert!(report.passed(), "{report}");
    assert!(report.tally.sales > 0, "{report}");
    report
}

#[test]
fn without_faults_nothing_is_lost_crashed_or_cut() {
    let t = with(Faults::NONE).tally;
    assert_eq!(
        (
            t.lost,
            t.duplicated,
            t.crashes,
            t.partitions,
            t.resignations
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(t.elections, 1, "one election at start-up, then quiet");
}

#[test]
fn the_loss_knob_loses_messages_and_nothing_else() {
    let t = with(Faults {
        loss: 0.2,
        ..Faults::NONE
    })
    .tally;
    // Loss stops when the market turns calm, and `sent` counts both
    // phases: expect a fair share of 20%, not all of it.
    assert!(t.lost > t.sent / 20, "{t:?}");
    assert_eq!((t.duplicated, t.crashes, t.partitions), (0, 0, 0));
}

#[test]
fn the_duplicate_knob_delivers_twice() {
    let t = with(Faults {
        duplicate: 0.2,
        ..Faults::NONE
    })
    .tally;
    assert!(t.duplicated > t.sent / 10, "{t:?}");
    assert_eq!((t.lost, t.crashes), (0, 0));
}

#[test]
fn the_delay_knob_reorders_by_spreading_deliveries() {
    let narrow = with(Faults::NONE);
    let wide = with(Faults {
        max_delay: Duration::from_millis(80),
        ..Faults::NONE
    });
    assert_ne!(narrow.digest, wide.digest);
}

/// Partitions alone, with the books in one store both sides reach: the
/// lease keeps the side without the books from deposing the trader through
/// the store, so within one partition the books are opened at most twice
/// (the connected side's trader, and one successor if the trader was cut
/// off from everyone), and the side holding them keeps trading.
#[test]
fn partitions_with_a_shared_store_do_not_ping_pong_the_books() {
    let options = SimOptions {
        faults: Faults {
            partitions: true,
            ..Faults::NONE
        },
        ..options(5)
    };
    let (mut partitions, mut sales, mut most) = (0, 0, 0);
    for seed in 0..40 {
        let report = run_one(seed, &options);
        assert!(report.passed(), "{report}");
        partitions += report.tally.partitions;
        sales += report.tally.partitioned_sales;
        most = most.max(report.tally.most_opens_in_a_partition);
    }
    assert!(partitions > 40, "{partitions} partitions");
    assert!(
        most <= 2,
        "the books were opened {most} times within one partition"
    );
    assert!(sales > 0, "nobody traded during a partition");
}

#[test]
fn the_crash_knob_crashes_and_restarts_peers() {
    let t = with(Faults {
        crashes: true,
        ..Faults::NONE
    })
    .tally;
    assert!(t.crashes > 0 && t.restarts > 0, "{t:?}");
    assert_eq!((t.partitions, t.resignations), (0, 0));
    // Which peers crash is the seed's draw: over a few seeds, some trader
    // dies and another is elected.
    let options = SimOptions {
        faults: Faults {
            crashes: true,
            ..Faults::NONE
        },
        ..options(5)
    };
    let elections: u64 = (0..8)
        .map(|seed| run_one(seed, &options).tally.elections)
        .sum();
    assert!(elections > 8, "{elections} elections in 8 runs");
}

#[test]
fn the_partition_knob_cuts_and_heals() {
    let t = with(Faults {
        partitions: true,
        ..Faults::NONE
    })
    .tally;
    assert!(t.partitions > 0 && t.lost > 0, "{t:?}");
    assert_eq!(t.crashes, 0);
}

#[test]
fn the_resignation_knob_makes_traders_resign() {
    let t = with(Faults {
        resignations: true,
        ..Faults::NONE
    })
    .tally;
    assert!(t.resignations > 0, "{t:?}");
    assert!(t.elections > t.resignations, "{t:?}");
}

/// The first seed below 300 whose run the planted bug breaks, with what
/// broke.
/// Each seed draws its own fault profile, as `bazaar sim` does.
fn caught(plant: Plant, peers: u32) -> (u64, Violation) {
    let swarm = SimOptions {
        swarm: true,
        ..options(peers)
    };
    caught_with(plant, swarm)
}

fn caught_with(plant: Plant, options: SimOptions) -> (u64, Violation) {
    let options = SimOptions {
        plant: Some(plant),
        ..options
    };
    (0..400)
        .find_map(|seed| run_one(seed, &options).outcome.err().map(|e| (seed, e)))
        .unwrap_or_else(|| panic!("{plant:?} went unnoticed for 400 seeds"))
}

/// A buyer or a seller holds more than the ledger gives it.
const fn accounts(broken: &Violation) -> bool {
    matches!(broken, Violation::Receipts(_) | Violation::Credits(_))
}

#[test]
fn a_store_that_ignores_fencing_is_caught() {
    let (seed, broken) = caught(Plant::IgnoreFencing, 5);
    let fencing = matches!(
        broken,
        Violation::StaleCommit { .. } | Violation::TwoCommitters { .. }
    );
    assert!(fencing, "seed {seed}: {broken}");
}

#[test]
fn replies_sent_before_the_commit_are_caught() {
    let (seed, broken) = caught(Plant::ReplyBeforeCommit, 5);
    assert!(accounts(&broken), "seed {seed}: {broken}");
}

#[test]
fn retries_that_skip_the_dedup_are_caught() {
    let (seed, broken) = caught(Plant::SkipRetryDedup, 5);
    let requests = matches!(broken, Violation::ServedUnasked { .. });
    assert!(requests, "seed {seed}: {broken}");
}

/// Only store calls in flight reveal it: a load that answers at once has
/// nothing committed between its read and its fence.
#[test]
fn books_read_before_the_fence_are_caught() {
    let (seed, broken) = caught(Plant::BooksReadBeforeFence, 5);
    assert_eq!(broken.family(), "books", "seed {seed}: {broken}");
}

/// Only store calls in flight reveal it: with one call at a time, no
/// answer can cross another.
#[test]
fn answers_crossed_between_calls_in_flight_are_caught() {
    let (seed, broken) = caught(Plant::AnswersCrossed, 5);
    assert!(accounts(&broken), "seed {seed}: {broken}");
}

/// The fence sits in the durable store's commit itself (the row lands only
/// in the newest term): a commit path without it lets a deposed trader's
/// batch land, through the same cache and checkpoints a database's store
/// has.
#[test]
fn a_durable_commit_without_its_fence_is_caught() {
    let (seed, broken) = caught(Plant::CommitUnfenced, 5);
    let fencing = matches!(
        broken,
        Violation::StaleCommit { .. } | Violation::TwoCommitters { .. }
    );
    assert!(fencing || accounts(&broken), "seed {seed}: {broken}");
}

/// Seeds run on several threads report exactly what a serial run does.
#[test]
fn parallel_seeds_report_what_a_serial_run_does() {
    let serial = SimOptions {
        seeds: 12,
        plant: Some(Plant::ReplyBeforeCommit),
        ..options(4)
    };
    let parallel = SimOptions {
        jobs: 3,
        ..serial.clone()
    };
    let mut a = Vec::new();
    let mut b = Vec::new();
    let passed_a = run_many(&serial, &mut a).unwrap();
    let passed_b = run_many(&parallel, &mut b).unwrap();
    assert_eq!(passed_a, passed_b);
    assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
}

/// The store fails calls as a lost connection would: loads fail, commits
/// fail before or after they land, and the trader, not knowing, reloads;
/// every invariant holds.
#[test]
fn store_failures_with_unknown_outcomes_keep_every_invariant() {
    let options = SimOptions {
        faults: Faults {
            store_failures: 0.1,
            ..Faults::ALL
        },
        ..options(5)
    };
    let mut failures = 0;
    for seed in 0..30 {
        let report = run_one(seed, &options);
        assert!(report.passed(), "{report}");
        failures += report.tally.store_failures;
    }
    assert!(failures > 30, "{failures} store failures in 30 runs");
}

#[test]
fn a_driver_that_takes_an_unknown_outcome_for_a_success_is_caught() {
    let options = SimOptions {
        faults: Faults {
            store_failures: 0.1,
            ..Faults::ALL
        },
        ..options(5)
    };
    let (seed, broken) = caught_with(Plant::UnknownOutcomeIsSuccess, options);
    let drifted = broken.family() == "books";
    assert!(accounts(&broken) || drifted, "seed {seed}: {broken}");
}

#[test]
fn a_store_whose_leases_never_run_out_is_caught() {
    let (seed, broken) = caught(Plant::LeaseNeverExpires, 5);
    assert_eq!(broken.family(), "liveness", "seed {seed}: {broken}");
}

#[test]
fn a_checkpoint_that_forgets_a_batch_is_caught() {
    let (seed, broken) = caught(Plant::CheckpointDropsBatch, 5);
    assert_eq!(broken.family(), "books", "seed {seed}: {broken}");
}

#[test]
fn a_failure_prints_its_seed_how_to_replay_it_and_its_last_steps() {
    let options = SimOptions {
        plant: Some(Plant::ReplyBeforeCommit),
        seeds: 100,
        trace_tail: 12,
        swarm: true,
        ..options(5)
    };
    let mut out = Vec::new();
    assert!(!run_many(&options, &mut out).unwrap());
    let text = String::from_utf8(out).unwrap();
    let (seed, _) = caught(Plant::ReplyBeforeCommit, 5);
    assert!(text.starts_with(&format!("seed {seed} FAILED: ")), "{text}");
    assert!(
        text.contains(&format!(
            "replay: bazaar sim --seeds 1 --seed {seed} --peers 5 --plant reply-before-commit"
        )),
        "{text}"
    );
    assert!(text.contains("the last 12 steps:"), "{text}");
    assert!(text.lines().last().unwrap().contains("FAILED"), "{text}");
}

/// The summary's digest covers every action of every seed: the same
/// serially, with jobs, and on a second run; other seeds, another digest.
#[test]
fn the_digest_is_the_same_serially_in_parallel_and_again() {
    let summary = |first_seed: u64, jobs: usize| {
        let options = SimOptions {
            first_seed,
            seeds: 16,
            swarm: true,
            jobs,
            ..options(4)
        };
        let mut out = Vec::new();
        assert!(run_many(&options, &mut out).unwrap());
        let text = String::from_utf8(out).unwrap();
        let digest = text
            .split("digest ")
            .nth(1)
            .unwrap_or_else(|| panic!("no digest in {text}"))
            .trim()
            .to_owned();
        assert!(
            text.contains("inputs taken with a store call in flight"),
            "{text}"
        );
        digest
    };
    let serial = summary(40, 1);
    assert_eq!(serial.len(), 16, "{serial}");
    assert_eq!(summary(40, 2), serial);
    assert_eq!(summary(40, 1), serial);
    assert_ne!(summary(41, 1), serial);
}
