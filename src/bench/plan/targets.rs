//! The targets as a table of data: each holds a figure of the run to a
//! bound made of other figures of the same run (a ratio, so that a busy or
//! an idle machine moves both sides alike), or to an absolute bound for
//! the earlier targets. The analysis reads each figure and says whether
//! its target is met; the report's "Against the targets" renders that.

use bazaar_node::net::TransportKind;

use crate::books::BooksKind;

use BooksKind::{Mem, Postgres, Sqlite};
use Figure::{
    BuyP50, CommitP50, FloorCommitP50, Fsync, Knee, KneeFloor, MostBuys, OpenBooks, PacedEcho,
    PacedFsync, PeersP99, ProcessFailover, WorstKill,
};
use Goal::{AtLeast, AtMost, Below};

const TCP: TransportKind = TransportKind::Tcp;

/// A figure of one run that a target reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    /// The paced echo's p50 over a transport (µs).
    PacedEcho(TransportKind),
    /// 4 KiB written and `fdatasync`ed, p50 (µs).
    Fsync,
    /// The same, each sync after the buyers' think time, p50 (µs).
    PacedFsync,
    /// The six-peer buy's p50 over a transport, books in a store (µs).
    BuyP50(TransportKind, BooksKind),
    /// The load curve's knee: its highest buys/s with p99 under 1 ms.
    Knee(TransportKind, BooksKind),
    /// The load curve's highest buys/s.
    MostBuys(TransportKind, BooksKind),
    /// The request/reply floor with as many connections as the store-off
    /// knee has buyers (round trips/s).
    KneeFloor(TransportKind),
    /// A durable store's commit p50, in the commits experiment (µs).
    CommitP50(BooksKind),
    /// A single-row `INSERT` in its own transaction on the store's server,
    /// p50 (µs).
    FloorCommitP50(BooksKind),
    /// The worst failover after a kill, in one process (ms).
    WorstKill,
    /// The worst failover between processes, books in a store (ms).
    ProcessFailover(BooksKind),
    /// Opening the books of the longest history, if at least this many
    /// sales (ms).
    OpenBooks(u64),
    /// The p99 of the buys with this many peers over tcp (µs).
    PeersP99(u32),
}

/// How a figure is held to its reference.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// figure ≤ this × reference.
    AtMost(f64),
    /// figure < this × reference.
    Below(f64),
    /// figure ≥ this × reference.
    AtLeast(f64),
}

/// One row of "Against the targets".
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// What the report calls it.
    pub name: &'static str,
    /// The figure held to the bound.
    pub figure: Figure,
    /// The reference: each weight times a figure of the same run, summed;
    /// empty for an absolute bound (the goal's factor, in the figure's
    /// unit).
    pub of: &'static [(f64, Figure)],
    /// The bound on `figure ÷ reference`.
    pub goal: Goal,
}

const fn t(name: &'static str, figure: Figure, of: &'static [(f64, Figure)], goal: Goal) -> Target {
    Target {
        name,
        figure,
        of,
        goal,
    }
}

/// Every target, the ratios first, then the earlier absolute ones.
pub const TARGETS: &[Target] = &[
    t(
        "store off: tcp buy p50 ≤ 1.2× paced echo",
        BuyP50(TCP, Mem),
        &[(1.0, PacedEcho(TCP))],
        AtMost(1.2),
    ),
    t(
        "SQLite: tcp buy p50 ≤ paced echo + 2 × fdatasync",
        BuyP50(TCP, Sqlite),
        &[(1.0, PacedEcho(TCP)), (2.0, Fsync)],
        AtMost(1.0),
    ),
    t(
        "SQLite, floor paced as the buys: tcp buy p50 ≤ paced echo + 2 × paced fdatasync",
        BuyP50(TCP, Sqlite),
        &[(1.0, PacedEcho(TCP)), (2.0, PacedFsync)],
        AtMost(1.0),
    ),
    t(
        "SQLite: tcp knee ≥ 0.5× store-off knee",
        Knee(TCP, Sqlite),
        &[(1.0, Knee(TCP, Mem))],
        AtLeast(0.5),
    ),
    t(
        "SQLite: tcp most buys/s ≥ 0.6× store off",
        MostBuys(TCP, Sqlite),
        &[(1.0, MostBuys(TCP, Mem))],
        AtLeast(0.6),
    ),
    t(
        "PostgreSQL: commit p50 ≤ 1.5× floor commit",
        CommitP50(Postgres),
        &[(1.0, FloorCommitP50(Postgres))],
        AtMost(1.5),
    ),
    t(
        "PostgreSQL: tcp knee ≥ 0.25× store-off knee",
        Knee(TCP, Postgres),
        &[(1.0, Knee(TCP, Mem))],
        AtLeast(0.25),
    ),
    t(
        "PostgreSQL: tcp most buys/s ≥ 0.5× store off",
        MostBuys(TCP, Postgres),
        &[(1.0, MostBuys(TCP, Mem))],
        AtLeast(0.5),
    ),
    t(
        "store off: tcp knee ≥ 0.8× request/reply floor",
        Knee(TCP, Mem),
        &[(1.0, KneeFloor(TCP))],
        AtLeast(0.8),
    ),
    t(
        "tcp buy p50 ≤ 1 ms, store on",
        BuyP50(TCP, Sqlite),
        &[],
        AtMost(1_000.0),
    ),
    t(
        "tcp ≥ 100,000 buys/s, store off",
        MostBuys(TCP, Mem),
        &[],
        AtLeast(100_000.0),
    ),
    t(
        "tcp ≥ 20,000 buys/s, store on",
        MostBuys(TCP, Sqlite),
        &[],
        AtLeast(20_000.0),
    ),
    t(
        "failover ≤ 1 s (aim 300 ms), worst kill",
        WorstKill,
        &[],
        AtMost(1_000.0),
    ),
    t(
        "failover in processes < 100 ms, books in sqlite",
        ProcessFailover(Sqlite),
        &[],
        Below(100.0),
    ),
    t(
        "failover in processes < 100 ms, books in postgres",
        ProcessFailover(Postgres),
        &[],
        Below(100.0),
    ),
    t(
        "open the books ≤ 20 ms at 10 M sales",
        OpenBooks(10_000_000),
        &[],
        AtMost(20.0),
    ),
    t("96 peers, p99 ≤ 10 ms", PeersP99(96), &[], AtMost(10_000.0)),
];

impl Goal {
    /// The bound on `figure ÷ reference`.
    pub const fn factor(self) -> f64 {
        match self {
            Self::AtMost(x) | Self::Below(x) | Self::AtLeast(x) => x,
        }
    }

    /// Whether `ratio` (figure ÷ reference) meets the goal.
    pub fn met(self, ratio: f64) -> bool {
        match self {
            Self::AtMost(x) => ratio <= x,
            Self::Below(x) => ratio < x,
            Self::AtLeast(x) => ratio >= x,
        }
    }
}
