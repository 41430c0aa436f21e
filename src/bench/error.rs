//! Why the bench stopped.

use std::path::PathBuf;

use super::{experiments::ExperimentError, render::svg::PlotError};

/// Why the bench stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An experiment could not run to its figures.
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// The output folder, the report or the JSON could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}
