//! The durable stores' figures: commits beside their floor.

use crate::{
    bench::experiments::{BenchResults, Summary, commits::CommitResult},
    books::BooksKind,
};

/// The commits experiment of a durable store, if it ran.
pub fn commits(results: &BenchResults, kind: BooksKind) -> Option<&CommitResult> {
    results.commits.iter().find(|c| c.store == kind)
}

/// A store's commit latencies, if any were timed.
pub fn commit(results: &BenchResults, kind: BooksKind) -> Option<&Summary> {
    commits(results, kind).and_then(|c| c.commit.measured())
}

/// A store's floor commit latencies, if measured (PostgreSQL's).
pub fn floor_commit(results: &BenchResults, kind: BooksKind) -> Option<&Summary> {
    commits(results, kind)
        .and_then(|c| c.floor.as_ref())
        .and_then(Summary::measured)
}
