//! Why an experiment stopped the bench.

use std::path::PathBuf;

use bazaar_node::store::StoreError;
use bazaar_transport::TransportError;

use super::{floors::echo::EchoError, processes::ProcessesError};

/// Why an experiment could not run to its figures.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// An experiment's transports could not start.
    #[error("{scenario}: {source}")]
    Transport {
        /// The experiment.
        scenario: String,
        /// What the transport said.
        source: TransportError,
    },
    /// An experiment's store could not be opened or written.
    #[error("{scenario}: {source}")]
    Store {
        /// The experiment.
        scenario: String,
        /// What the store said.
        source: StoreError,
    },
    /// An echo floor failed.
    #[error(transparent)]
    Echo(#[from] EchoError),
    /// The disk's floor could not write or sync its scratch file.
    #[error("fsync floor: cannot write {path}: {source}")]
    Disk {
        /// The scratch file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The real-processes experiment could not run.
    #[error(transparent)]
    Processes(#[from] ProcessesError),
    /// The floor commit on PostgreSQL failed (the server, the session or
    /// its scratch table `bench_floor`).
    #[error("postgres floor commits: {0}")]
    FloorCommit(#[source] postgres::Error),
    /// The running `bazaar` binary, whose subcommands an experiment
    /// starts as processes, could not be found.
    #[error("cannot find the bazaar binary: {0}")]
    Binary(#[source] std::io::Error),
    /// Work of an experiment on the blocking pool panicked.
    #[error("{experiment}: panicked: {detail}")]
    Panicked {
        /// The experiment.
        experiment: String,
        /// What the panic said.
        detail: String,
    },
}
