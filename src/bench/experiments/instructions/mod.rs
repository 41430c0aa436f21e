//! Instructions per buy, a figure free of timing noise: `bazaar
//! count-buys` runs under `valgrind --tool=callgrind` at N and at 2N
//! answered buys, and the difference of the two instruction counts over N
//! is what one more buy costs, start-up and shutdown cancelled. Each count
//! is taken a few times, to show how exactly it repeats. Needs valgrind;
//! the bench says why when it skips it.

pub mod counted;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde::Serialize;

use super::Setup;
use crate::bench::plan::{CountingMarket, InstructionsPlan};

/// What the experiment measured.
#[derive(Debug, Clone, Serialize)]
pub struct InstructionsResult {
    /// What was run.
    pub plan: InstructionsPlan,
    /// The median instruction count of the whole process at N buys.
    pub instructions_n: u64,
    /// The median instruction count of the whole process at 2N buys.
    pub instructions_2n: u64,
    /// (instructions at 2N − instructions at N) / N, from the medians.
    pub per_buy: f64,
    /// Every count at N, in the order taken.
    pub runs_n: Vec<u64>,
    /// Every count at 2N, in the order taken.
    pub runs_2n: Vec<u64>,
    /// The largest minus the smallest of the repeats' instructions per
    /// buy (each from its own pair of runs), as a fraction of `per_buy`;
    /// `None` if a buy cost nothing to divide by.
    pub spread: Option<f64>,
    /// The callgrind profile of the last run at 2N, kept for
    /// `callgrind_annotate`.
    pub profile: PathBuf,
}

/// Why a count could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum InstructionsError {
    /// valgrind would not start.
    #[error("cannot run valgrind: {0}")]
    Spawn(std::io::Error),
    /// The counted run failed.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// The end of what it printed on stderr.
        stderr: String,
    },
    /// The profile had no total.
    #[error("no total in the callgrind profile {0}")]
    NoTotal(PathBuf),
}

/// The experiment as the bench runs it, when the plan has it: its
/// result, or why it was skipped (valgrind missing, or a run failed). The
/// binary counted is the one running the bench.
pub async fn run(setup: &Setup<'_>) -> (Option<InstructionsResult>, Option<String>) {
    let Some(plan) = setup.plan.instructions else {
        return (None, None);
    };
    let bar = setup.bar;
    bar.set_message("instructions per buy, under callgrind");
    let ran = match (unavailable(), std::env::current_exe()) {
        (Some(why), _) => Err(why),
        (None, Err(e)) => Err(format!("cannot find the bazaar binary: {e}")),
        (None, Ok(bazaar)) => {
            let (seed, dir) = (setup.seed, setup.out.to_owned());
            tokio::task::spawn_blocking(move || measure(&bazaar, plan, seed, &dir))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
    };
    bar.inc(1);
    match ran {
        Ok(result) => (Some(result), None),
        Err(why) => (None, Some(why)),
    }
}

/// Why this machine cannot count instructions, if it cannot: valgrind
/// missing or not starting.
pub fn unavailable() -> Option<String> {
    match Command::new("valgrind").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`valgrind --version` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("valgrind is not installed ({e})")),
    }
}

/// Counts `bazaar` (the binary at that path) at N and 2N buys, `repeats`
/// times each, keeping the callgrind profiles in `dir`.
///
/// # Errors
/// An [`InstructionsError`] if valgrind or a counted run fails.
pub fn measure(
    bazaar: &Path,
    plan: InstructionsPlan,
    seed: u64,
    dir: &Path,
) -> Result<InstructionsResult, InstructionsError> {
    let n = plan.buys.max(1);
    let mut runs_n = Vec::new();
    let mut runs_2n = Vec::new();
    let mut profile = PathBuf::new();
    let counted = Counted {
        bazaar,
        market: plan.market,
        seed,
    };
    for repeat in 0..plan.repeats.max(1) {
        let short = dir.join(format!("callgrind.out.{n}.{repeat}"));
        runs_n.push(counted.count(n, &short)?);
        let _ = std::fs::remove_file(&short);
        profile = dir.join("callgrind.out");
        runs_2n.push(counted.count(2 * n, &profile)?);
    }
    let middle = |runs: &[u64]| median(runs).expect("at least one run: repeats.max(1)");
    let (instructions_n, instructions_2n) = (middle(&runs_n), middle(&runs_2n));
    let per_buy = instructions_2n.saturating_sub(instructions_n) as f64 / n as f64;
    let pairs: Vec<f64> = runs_n
        .iter()
        .zip(&runs_2n)
        .map(|(&a, &b)| b.saturating_sub(a) as f64 / n as f64)
        .collect();
    let (low, high) = pairs
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    Ok(InstructionsResult {
        plan,
        instructions_n,
        instructions_2n,
        per_buy,
        runs_n,
        runs_2n,
        spread: (per_buy > 0.0).then(|| (high - low) / per_buy),
        profile,
    })
}

/// The counted runs: `bazaar count-buys` (the binary at `bazaar`) of
/// `market`, seeded with `seed`.
struct Counted<'a> {
    bazaar: &'a Path,
    market: CountingMarket,
    seed: u64,
}

impl Counted<'_> {
    /// The instructions of a run to `buys` answered buys under
    /// callgrind, its profile written to `out`.
    fn count(&self, buys: u64, out: &Path) -> Result<u64, InstructionsError> {
        let mut command = Command::new("valgrind");
        command
            .arg("--tool=callgrind")
            .arg("--quiet")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(self.bazaar)
            .args(self.args(buys));
        let output = command.output().map_err(InstructionsError::Spawn)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            return Err(InstructionsError::Failed {
                command: format!("{command:?}"),
                stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
            });
        }
        let text = std::fs::read_to_string(out).unwrap_or_default();
        total(&text).ok_or_else(|| InstructionsError::NoTotal(out.to_owned()))
    }

    /// The arguments of `bazaar` for a run to `buys`.
    fn args(&self, buys: u64) -> Vec<String> {
        vec![
            "count-buys".into(),
            buys.to_string(),
            format!("--buyers={}", self.market.buyers),
            format!("--sellers={}", self.market.sellers),
            format!("--seed={}", self.seed),
        ]
    }
}

/// The instruction total of a callgrind profile: its `totals:` line, or
/// its `summary:` line.
fn total(profile: &str) -> Option<u64> {
    let field = |key: &str| {
        profile
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    field("totals:").or_else(|| field("summary:"))
}

/// The middle count (the upper of the two middle ones), `None` if there
/// are no counts: no count is never a count of 0.
fn median(counts: &[u64]) -> Option<u64> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_totals_or_else_summary() {
        let profile = "version: 1\nevents: Ir\nsummary: 123\nfn=main\n5 7\ntotals: 456\n";
        assert_eq!(total(profile), Some(456));
        assert_eq!(total("events: Ir\nsummary: 789\n"), Some(789));
        assert_eq!(total("events: Ir\n"), None);
    }

    #[test]
    fn the_median_of_three_is_the_middle_one() {
        assert_eq!(median(&[5, 1, 3]), Some(3));
        assert_eq!(median(&[]), None);
    }
}
