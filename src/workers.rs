//! Where the application's own loops run.

use std::future::Future;

/// Runs `work` (a market's watcher, a node's report loop, a floor's client)
/// as a task on the runtime's workers, as the peers run, rather than on the
/// thread that blocks on the runtime: each of the peers' reports then
/// schedules a task instead of waking a parked thread (a system call on the
/// path of every buy). A panic in `work` carries on as a panic here.
pub async fn on_workers<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    tokio::spawn(work)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}
