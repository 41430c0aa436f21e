//! The real-processes experiment's figures: each store's failovers.

use super::{mean, worst};
use crate::{
    bench::experiments::processes::{FailoverRun, ProcessesResult},
    books::BooksKind,
};

/// The failover run with the books in `store`, if it ran.
pub fn failover(p: &ProcessesResult, store: BooksKind) -> Option<&FailoverRun> {
    p.failovers.iter().find(|f| f.store == store)
}

/// The failover times of a run, in milliseconds, in order.
pub fn times_ms(run: &FailoverRun) -> Vec<f64> {
    run.kills.iter().map(|k| k.first_reply_ms).collect()
}

/// The worst failover time of a run, in milliseconds.
pub fn worst_ms(run: &FailoverRun) -> Option<f64> {
    worst(&times_ms(run))
}

/// The mean failover time of a run, in milliseconds.
pub fn mean_ms(run: &FailoverRun) -> Option<f64> {
    mean(&times_ms(run))
}

/// The mean time until the next trader announced itself, in milliseconds.
pub fn mean_elected_ms(run: &FailoverRun) -> Option<f64> {
    let elected: Vec<f64> = run.kills.iter().map(|k| k.elected_ms).collect();
    mean(&elected)
}
