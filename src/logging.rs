//! Log lines in the lab's shape: a local timestamp, then the message.

use std::{fmt, io::IsTerminal};

use tracing_subscriber::{
    EnvFilter,
    fmt::{format::Writer, time::FormatTime},
};

/// Local wall-clock time with milliseconds, as the lab's logs show it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalTime;

impl FormatTime for LocalTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write!(
            w,
            "{}",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f")
        )
    }
}

/// Sends `tracing` output to standard error, one plain line per event:
/// `2026-11-23 21:50:36.123 peer 3 bought 4 fish from peer 2`.
///
/// `RUST_LOG` overrides `default_filter` (for example `bazaar=debug`).
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // A second init (tests that call it twice) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(LocalTime)
        .with_target(false)
        .with_level(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
