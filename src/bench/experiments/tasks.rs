//! Work that must not hold an async worker (a disk, a database, child
//! processes), run on tokio's blocking pool.

use super::ExperimentError;

/// Runs `work` on tokio's blocking pool. If it panics, the bench fails
/// with [`ExperimentError::Panicked`] naming `experiment`.
///
/// # Errors
/// [`ExperimentError::Panicked`] if `work` panicked.
pub async fn blocking<T: Send + 'static>(
    experiment: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ExperimentError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ExperimentError::Panicked {
            experiment: experiment.to_owned(),
            detail: e.to_string(),
        })
}
