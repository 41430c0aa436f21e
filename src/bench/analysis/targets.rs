//! Each target of the plan's table read against one run: the figure, its
//! reference, their ratio, and whether the goal is met.

use bazaar_node::net::TransportKind;

use super::{
    floors::{fsync_p50_us, paced_echo_p50_us, paced_fsync_p50_us},
    latency::{buy_p50_us, failovers_ms, group},
    load::{capacity_floor, curve, knee, throughput},
    processes::{failover, worst_ms},
    stores::{commit, floor_commit},
    worst,
};
use crate::{
    bench::{
        experiments::BenchResults,
        plan::{
            Group,
            targets::{Figure, Target},
        },
    },
    books::BooksKind,
};

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

/// What a figure is held to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// An absolute bound, in the figure's unit.
    Bound(f64),
    /// Figures of the same run, each weighted: `(weight, figure, value)`,
    /// and their weighted sum.
    Sum {
        /// Each part, in the table's order.
        parts: Vec<(f64, Figure, f64)>,
        /// The weighted sum.
        total: f64,
    },
    /// A figure of the reference is missing: the first that is.
    Missing(Reading),
}

/// One target read against a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The figure held to the bound.
    pub figure: Reading,
    /// What it is held to.
    pub reference: Reference,
    /// figure ÷ reference, for a reference of figures that were measured.
    pub ratio: Option<f64>,
    /// Whether the goal is met; `None` where the figure or its reference
    /// was not measured.
    pub met: Option<bool>,
}

/// The target read against `r`.
pub fn verdict(target: &Target, r: &BenchResults) -> Verdict {
    let figure = read(target.figure, r);
    let reference = reference(target, r);
    let bound = match &reference {
        Reference::Bound(_) => Some(1.0),
        Reference::Sum { total, .. } => Some(*total),
        Reference::Missing(_) => None,
    };
    let (ratio, met) = match (figure, bound) {
        (Reading::NotMeasured, _) | (_, None) => (None, None),
        (Reading::Without(_), Some(_)) => (None, Some(false)),
        (Reading::Value(v), Some(bound)) => {
            let x = v / bound;
            let ratio = matches!(reference, Reference::Sum { .. }).then_some(x);
            (ratio, Some(target.goal.met(x)))
        }
    };
    Verdict {
        figure,
        reference,
        ratio,
        met,
    }
}

/// The reference of `target`: its goal's factor for an absolute bound,
/// else the weighted sum of its figures.
fn reference(target: &Target, r: &BenchResults) -> Reference {
    if target.of.is_empty() {
        return Reference::Bound(target.goal.factor());
    }
    let mut parts = Vec::new();
    for &(weight, figure) in target.of {
        match read(figure, r) {
            Reading::Value(v) => parts.push((weight, figure, v)),
            missing => return Reference::Missing(missing),
        }
    }
    let total = parts.iter().map(|&(weight, _, v)| weight * v).sum();
    Reference::Sum { parts, total }
}

/// What `r` says of `figure`.
pub fn read(figure: Figure, r: &BenchResults) -> Reading {
    let value = |v: Option<f64>| v.map_or(Reading::NotMeasured, Reading::Value);
    match figure {
        Figure::PacedEcho(kind) => value(paced_echo_p50_us(r, kind)),
        Figure::Fsync => value(fsync_p50_us(r)),
        Figure::PacedFsync => value(paced_fsync_p50_us(r)),
        Figure::BuyP50(kind, store) => value(buy_p50_us(r, kind, store)),
        Figure::Knee(kind, store) => read_knee(r, kind, store),
        Figure::MostBuys(kind, store) => value(throughput(r, kind, store).map(|l| l.buys_per_s)),
        Figure::KneeFloor(kind) => match knee(r, kind, BooksKind::Mem) {
            Some(k) => value(capacity_floor(r, kind.name(), k.scenario.buyers)),
            None => read(Figure::Knee(kind, BooksKind::Mem), r),
        },
        Figure::CommitP50(store) => value(commit(r, store).map(|s| s.p50_us)),
        Figure::FloorCommitP50(store) => value(floor_commit(r, store).map(|s| s.p50_us)),
        Figure::WorstKill => value(worst(&failovers_ms(r))),
        Figure::ProcessFailover(store) => process_failover(r, store),
        Figure::OpenBooks(sales) => value(
            r.history
                .last()
                .filter(|h| h.sales >= sales)
                .map(|h| h.open_ms),
        ),
        Figure::PeersP99(peers) => peers_p99(r, peers),
    }
}

fn read_knee(r: &BenchResults, kind: TransportKind, store: BooksKind) -> Reading {
    match knee(r, kind, store) {
        Some(k) => Reading::Value(k.buys_per_s),
        None if curve(r, kind, store).next().is_some() => {
            Reading::Without("no knee: p99 over 1 ms at every point")
        }
        None => Reading::NotMeasured,
    }
}

fn process_failover(r: &BenchResults, store: BooksKind) -> Reading {
    match r.processes.as_ref().and_then(|p| failover(p, store)) {
        None => Reading::NotMeasured,
        Some(run) => worst_ms(run).map_or(Reading::Without("no kill timed"), Reading::Value),
    }
}

fn peers_p99(r: &BenchResults, peers: u32) -> Reading {
    let run = group(r, Group::Peers).find(|l| l.scenario.peers == peers);
    match run.and_then(|l| l.latency.measured().map(|s| (l, s))) {
        None => Reading::NotMeasured,
        Some((l, _)) if !l.complete => Reading::Without("cut short"),
        Some((_, s)) => Reading::Value(s.p99_us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::plan::{Plan, targets::TARGETS};

    fn nothing_measured() -> BenchResults {
        BenchResults {
            plan: Plan::new(true),
            floors: Vec::new(),
            latency: Vec::new(),
            load: Vec::new(),
            capacity: Vec::new(),
            history: Vec::new(),
            remote: Vec::new(),
            remote_skipped: None,
            instructions: None,
            instructions_skipped: None,
            processes: None,
            commits: Vec::new(),
            elapsed_s: 0.0,
            load_average: None,
        }
    }

    #[test]
    fn a_target_of_a_run_that_measured_nothing_is_neither_met_nor_missed() {
        let r = nothing_measured();
        for target in TARGETS {
            let v = verdict(target, &r);
            assert_eq!(v.figure, Reading::NotMeasured, "{}", target.name);
            assert_eq!((v.ratio, v.met), (None, None), "{}", target.name);
        }
    }

    #[test]
    fn an_absolute_target_is_held_to_its_bound_with_no_ratio() {
        let target = TARGETS
            .iter()
            .find(|t| t.of.is_empty())
            .expect("an absolute target");
        let v = verdict(target, &nothing_measured());
        assert_eq!(v.reference, Reference::Bound(target.goal.factor()));
    }
}
