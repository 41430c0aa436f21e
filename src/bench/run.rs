//! One run of the bench, start to end: every experiment of the plan, then
//! the report, the plots and the JSON written.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};

use super::{
    BenchError,
    experiments::{self, BenchResults, Setup},
    plan::Plan,
    render::{json::to_json, markdown, svg},
};

/// What `bazaar bench` was asked for.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The plan to run.
    pub plan: Plan,
    /// Folder for `report.md`, the plots, and the durable stores while
    /// they are in use.
    pub out: PathBuf,
    /// Where to write the figures as JSON, if anywhere.
    pub json: Option<PathBuf>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
    /// A PostgreSQL database the bench may empty, to measure beside
    /// SQLite (its bazaar tables are dropped before each experiment).
    pub postgres: Option<String>,
}

/// Runs every experiment of the plan, then writes the report, the plots
/// and the JSON. Returns the figures.
///
/// # Errors
/// A [`BenchError`] naming the experiment or the file that failed.
pub async fn run(options: &BenchOptions) -> Result<BenchResults, BenchError> {
    create_dir(&options.out)?;
    let bar = progress_bar(options.plan.steps(), options.progress);
    let setup = Setup {
        plan: &options.plan,
        out: &options.out,
        seed: options.seed,
        postgres: options.postgres.as_deref(),
        bar: &bar,
    };
    let results = experiments::run(&setup).await?;
    bar.finish_and_clear();
    write_outputs(options, &results)?;
    Ok(results)
}

/// Writes `report.md` and the plots into `out`, and the JSON if asked.
fn write_outputs(options: &BenchOptions, results: &BenchResults) -> Result<(), BenchError> {
    let plots = svg::draw_all(results, &options.out)?;
    write(
        &options.out.join("report.md"),
        markdown::report(results, &plots),
    )?;
    if let Some(path) = &options.json {
        let text =
            serde_json::to_string_pretty(&to_json(results)).expect("JSON values always serialize");
        write(path, text + "\n")?;
    }
    Ok(())
}

fn write(path: &Path, text: String) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|source| BenchError::Write {
        path: path.to_owned(),
        source,
    })
}

fn create_dir(dir: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
        path: dir.to_owned(),
        source,
    })
}

/// A bar of `steps` steps on a terminal; a hidden one otherwise.
fn progress_bar(steps: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
