//! The targets as a table of data: each holds a figure of the run to a
//! bound made of other figures of the same run (a ratio, so that a busy or
//! an idle machine moves both sides alike), or to an absolute bound for
//! the earlier targets. The report's "Against the targets" renders it.

use std::fmt::Write;

use bazaar_node::net::TransportKind;

use super::{
    json::{
        KNEE_P99_US, buy_p50_us, capacity_floor, commits, curve, fsync_p50_us, killed, knee,
        measured, paced_echo_p50_us, paced_fsync_p50_us, throughput,
    },
    report::us,
    results::BenchResults,
    scenarios::{Group, StoreKind},
};

use Figure::{
    BuyP50, CommitP50, FloorCommitP50, Fsync, Knee, KneeFloor, MostBuys, OpenBooks, PacedEcho,
    PacedFsync, PeersP99, ProcessFailover, WorstKill,
};
use Goal::{AtLeast, AtMost, Below};
use StoreKind::{Mem, Postgres, Sqlite};

const TCP: TransportKind = TransportKind::Tcp;

/// A figure of one run that a target reads.
#[derive(Debug, Clone, Copy)]
pub enum Figure {
    /// The paced echo's p50 over a transport (µs).
    PacedEcho(TransportKind),
    /// 4 KiB written and `fdatasync`ed, p50 (µs).
    Fsync,
    /// The same, each sync after the buyers' think time, p50 (µs).
    PacedFsync,
    /// The six-peer buy's p50 over a transport, books in a store (µs).
    BuyP50(TransportKind, StoreKind),
    /// The load curve's knee: its highest buys/s with p99 under 1 ms.
    Knee(TransportKind, StoreKind),
    /// The load curve's highest buys/s.
    MostBuys(TransportKind, StoreKind),
    /// The request/reply floor with as many connections as the store-off
    /// knee has buyers (round trips/s).
    KneeFloor(TransportKind),
    /// A durable store's commit p50, in the commits experiment (µs).
    CommitP50(StoreKind),
    /// A single-row `INSERT` in its own transaction on the store's server,
    /// p50 (µs).
    FloorCommitP50(StoreKind),
    /// The worst failover after a kill, in one process (ms).
    WorstKill,
    /// The worst failover between processes, books in a store (ms).
    ProcessFailover(StoreKind),
    /// Opening the books of the longest history, if at least this many
    /// sales (ms).
    OpenBooks(u64),
    /// The p99 of the buys with this many peers over tcp (µs).
    PeersP99(u32),
}

/// What a run says of a figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// Its experiment did not run.
    NotMeasured,
    /// Its experiment ran and has no such figure: why.
    Without(&'static str),
    /// Its value, in the figure's unit.
    Value(f64),
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

impl Figure {
    /// What `results` says of this figure.
    pub fn read(self, r: &BenchResults) -> Reading {
        let value = |v: Option<f64>| v.map_or(Reading::NotMeasured, Reading::Value);
        match self {
            PacedEcho(kind) => value(paced_echo_p50_us(r, kind)),
            Fsync => value(fsync_p50_us(r)),
            PacedFsync => value(paced_fsync_p50_us(r)),
            BuyP50(kind, store) => value(buy_p50_us(r, kind, store)),
            Knee(kind, store) => match knee(r, kind, store) {
                Some(k) => Reading::Value(k.buys_per_s),
                None if curve(r, kind, store).next().is_some() => {
                    Reading::Without("no knee: p99 over 1 ms at every point")
                }
                None => Reading::NotMeasured,
            },
            MostBuys(kind, store) => value(throughput(r, kind, store).map(|l| l.buys_per_s)),
            KneeFloor(kind) => match knee(r, kind, Mem) {
                Some(k) => value(capacity_floor(r, kind.name(), k.scenario.buyers)),
                None => Knee(kind, Mem).read(r),
            },
            CommitP50(store) => value(
                commits(r, store)
                    .and_then(|c| measured(&c.commit))
                    .map(|s| s.p50_us),
            ),
            FloorCommitP50(store) => value(
                commits(r, store)
                    .and_then(|c| c.floor.as_ref())
                    .and_then(measured)
                    .map(|s| s.p50_us),
            ),
            WorstKill => value(killed(r).map(|e| e.first_reply_ms).reduce(f64::max)),
            ProcessFailover(store) => Self::process_failover(r, store),
            OpenBooks(sales) => value(
                r.history
                    .last()
                    .filter(|h| h.sales >= sales)
                    .map(|h| h.open_ms),
            ),
            PeersP99(peers) => Self::peers_p99(r, peers),
        }
    }

    fn process_failover(r: &BenchResults, store: StoreKind) -> Reading {
        let run = r
            .processes
            .as_ref()
            .and_then(|p| p.failovers.iter().find(|f| f.store == store.name()));
        match run {
            None => Reading::NotMeasured,
            Some(run) => run
                .worst_ms()
                .map_or(Reading::Without("no kill timed"), Reading::Value),
        }
    }

    fn peers_p99(r: &BenchResults, peers: u32) -> Reading {
        let run = r
            .latency
            .iter()
            .find(|l| l.scenario.group == Group::Peers && l.scenario.peers == peers);
        match run.and_then(|l| measured(&l.latency).map(|s| (l, s))) {
            None => Reading::NotMeasured,
            Some((l, _)) if !l.complete => Reading::Without("cut short"),
            Some((_, s)) => Reading::Value(s.p99_us),
        }
    }

    /// How the report shows a value of this figure.
    pub fn show(self, v: f64) -> String {
        match self {
            PacedEcho(_) | Fsync | PacedFsync | BuyP50(..) | CommitP50(_) | FloorCommitP50(_)
            | PeersP99(_) => us(v),
            Knee(..) | MostBuys(..) | KneeFloor(_) => format!("{v:.0}/s"),
            WorstKill | ProcessFailover(_) | OpenBooks(_) if v < 10.0 => format!("{v:.2} ms"),
            WorstKill | ProcessFailover(_) | OpenBooks(_) => format!("{v:.0} ms"),
        }
    }

    /// What the report calls it beside its value, as a reference.
    pub const fn label(self) -> &'static str {
        match self {
            PacedEcho(_) => "paced echo",
            Fsync => "fdatasync",
            PacedFsync => "paced fdatasync",
            BuyP50(_, Mem) => "store-off buy",
            BuyP50(..) => "durable buy",
            Knee(_, Mem) => "store-off knee",
            Knee(..) => "knee",
            MostBuys(_, Mem) => "store off",
            MostBuys(..) => "most buys/s",
            KneeFloor(_) => "request/reply floor",
            CommitP50(_) => "commit",
            FloorCommitP50(_) => "floor commit",
            WorstKill | ProcessFailover(_) => "failover",
            OpenBooks(_) => "open",
            PeersP99(_) => "p99",
        }
    }
}

/// One rendered row: what was measured, against what, the ratio, met.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The figure, or why it is missing.
    pub measured: String,
    /// The reference it is divided by (or the absolute bound).
    pub against: String,
    /// figure ÷ reference, `–` if either is missing or the bound is
    /// absolute.
    pub ratio: String,
    /// `yes`, `**no**`, or `–` where not measured.
    pub met: &'static str,
}

impl Target {
    /// The row of this target for `r`.
    pub fn row(&self, r: &BenchResults) -> Row {
        let figure = self.figure.read(r);
        let (reference, against) = self.reference(r);
        let measured = match figure {
            Reading::NotMeasured => "not measured".to_owned(),
            Reading::Without(why) => why.to_owned(),
            Reading::Value(v) => self.figure.show(v),
        };
        let (ratio, met) = match (figure, reference) {
            (Reading::NotMeasured, _) | (_, Reading::NotMeasured | Reading::Without(_)) => {
                ("–".to_owned(), "–")
            }
            (Reading::Without(_), Reading::Value(_)) => ("–".to_owned(), "**no**"),
            (Reading::Value(v), Reading::Value(reference)) => {
                let x = v / reference;
                let ratio = if self.of.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{x:.2}×")
                };
                (ratio, if self.goal.met(x) { "yes" } else { "**no**" })
            }
        };
        Row {
            measured,
            against,
            ratio,
            met,
        }
    }

    /// The reference's value and how the report shows it: the weighted
    /// sum of `of`, or 1 for an absolute bound (shown as the bound).
    fn reference(&self, r: &BenchResults) -> (Reading, String) {
        if self.of.is_empty() {
            return (Reading::Value(1.0), self.figure.show(self.goal.factor()));
        }
        let mut sum = 0.0;
        let mut parts = Vec::new();
        for &(weight, figure) in self.of {
            let v = match figure.read(r) {
                Reading::Value(v) => v,
                Reading::NotMeasured => return (Reading::NotMeasured, "not measured".into()),
                Reading::Without(why) => return (Reading::Without(why), why.into()),
            };
            sum += weight * v;
            let weight = if weight == 1.0 {
                String::new()
            } else {
                format!("{weight} × ")
            };
            parts.push(format!("{weight}{} {}", figure.label(), figure.show(v)));
        }
        let mut text = parts.join(" + ");
        if parts.len() > 1 {
            let _ = write!(text, " = {}", self.figure.show(sum));
        }
        (Reading::Value(sum), text)
    }
}

impl Goal {
    const fn factor(self) -> f64 {
        match self {
            Self::AtMost(x) | Self::Below(x) | Self::AtLeast(x) => x,
        }
    }

    fn met(self, ratio: f64) -> bool {
        match self {
            Self::AtMost(x) => ratio <= x,
            Self::Below(x) => ratio < x,
            Self::AtLeast(x) => ratio >= x,
        }
    }
}

/// The report's section: every target of [`TARGETS`], one row each.
pub fn section(md: &mut String, r: &BenchResults) {
    let _ = writeln!(
        md,
        "## Against the targets\n\nEach target holds a figure to a reference measured in \
         the same run (the ratio column: figure ÷ reference), the earlier ones to an \
         absolute bound. A knee is the highest buys/s of a load curve with p99 under {}; \
         \"not measured\" where the run did not include the experiment.\n\n\
         | target | measured | against | ratio | met |\n|---|---:|---|---:|---|",
        us(KNEE_P99_US)
    );
    for target in TARGETS {
        let row = target.row(r);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            target.name, row.measured, row.against, row.ratio, row.met
        );
    }
    md.push('\n');
}
