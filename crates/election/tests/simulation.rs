//! Thousands of seeded runs of the election under crashes, restarts, message
//! loss, wild delays and resignations: safety at every step, agreement on the
//! highest live peer within a bound once the faults stop.
//!
//! Replay one seed with its trace: `ELECTION_SEED=1234 cargo test -p
//! bazaar-election --test simulation -- --nocapture`.

mod harness;

use std::time::{Duration, Instant};

use harness::Sim;

const SEEDS: u64 = 3_000;

#[test]
fn peers_agree_on_the_highest_live_peer_after_faults() {
    if let Some(seed) = std::env::var("ELECTION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let outcome = Sim::replay(seed);
        println!("seed {seed}: {outcome:?}");
        assert!(outcome.is_ok(), "seed {seed} failed");
        return;
    }
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let (mut events, mut crashes, mut claims, mut most_peers) = (0, 0, 0, 0);
    for seed in 0..SEEDS {
        match Sim::run(seed) {
            Ok(outcome) => {
                slowest = slowest.max(outcome.settle_time);
                events += outcome.events;
                crashes += outcome.crashes;
                claims += outcome.claims;
                most_peers = most_peers.max(outcome.peers);
            }
            Err(why) => panic!("seed {seed} failed (replay with ELECTION_SEED={seed}): {why}"),
        }
    }
    println!(
        "{SEEDS} seeds, up to {most_peers} peers: {events} events, {crashes} crashes, \
         {claims} claims; slowest agreement {slowest:?} after the faults stopped \
         (bound {:?}); {:?} wall time",
        harness::SETTLE_BOUND,
        started.elapsed()
    );
}
