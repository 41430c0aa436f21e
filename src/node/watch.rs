//! When a node stops: SIGTERM, Ctrl-C, the end of `--duration`, or its
//! parent's death (`--parent-pid`).

use std::time::Duration;

/// How often a node checks that its parent is alive.
const PARENT_POLL: Duration = Duration::from_millis(200);

/// Returns when the node should stop, saying why.
pub async fn stop_reason(duration: Option<Duration>, parent_pid: Option<u32>) -> &'static str {
    tokio::select! {
        () = signal() => "signalled",
        () = sleep(duration) => "its time is up",
        () = parent_gone(parent_pid) => "its parent is gone",
    }
}

async fn sleep(duration: Option<Duration>) {
    match duration {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// SIGTERM or Ctrl-C.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Returns once this process's parent is no longer `pid`: when a parent
/// dies, the kernel hands its children to another (init, or a subreaper),
/// so a changed parent id means the parent is gone. This is how `bazaar up`
/// leaves no peer behind even when it is SIGKILLed, with no unsafe code
/// (`prctl(PR_SET_PDEATHSIG)` would need it).
async fn parent_gone(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        loop {
            if std::os::unix::process::parent_id() != pid {
                return;
            }
            tokio::time::sleep(PARENT_POLL).await;
        }
    }
    let _ = (pid, PARENT_POLL);
    std::future::pending().await
}
