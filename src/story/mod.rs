//! What a `bazaar node` says as it runs: one line per event of its peer, in
//! the market's words. The trader's two lab lines are kept exactly:
//! `peer 3 bought 4 fish from peer 2` and `Dear buyers and sellers, My ID
//! is 6, and I am the new coordinator`. Every line is worded here: the
//! library's events carry values, not words (a refusal's reason, an error,
//! brings its own message).
//!
//! [`line()`] sorts the events by kind; each kind's lines are worded in a
//! file of their own: `trade.rs` (buying and selling), `office.rs`
//! (elections and the trader's term), `books.rs` (the store) and
//! `reach.rs` (other peers and their messages).

mod books;
mod office;
mod reach;
mod trade;

use bazaar_node::{Event, runtime::Report};

/// How loud a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loudness {
    /// One of the lab's lines: printed even with `-q`.
    Lab,
    /// The peer's own story: printed unless `-q`.
    Story,
    /// Something went wrong: always printed, as a warning.
    Problem,
    /// Detail for `RUST_LOG=debug`.
    Detail,
}

/// The line for one report, and how loud it is. Every line a peer's
/// events make is worded here, and only here.
pub fn line(report: &Report) -> (Loudness, String) {
    let (peer, event) = (report.peer, &report.event);
    match event {
        Event::Sold(_)
        | Event::Asked { .. }
        | Event::Answered { .. }
        | Event::GaveUp { .. }
        | Event::Offered { .. }
        | Event::Credited(_) => trade::line(peer, event),
        Event::Coordinator { .. }
        | Event::Following { .. }
        | Event::ElectionStarted { .. }
        | Event::SteppedDown { .. }
        | Event::CutOff { .. } => office::line(peer, event),
        Event::DeskClosed { .. }
        | Event::StoreUnavailable { .. }
        | Event::BooksReloaded { .. }
        | Event::BooksLeased { .. }
        | Event::Committed { .. } => books::line(peer, event),
        Event::OutageBegan { .. } | Event::OutageEnded { .. } | Event::Rejected { .. } => {
            reach::line(peer, event)
        }
    }
}

/// Logs one report: the lab's lines always, the story unless `quiet`,
/// problems as warnings, detail at debug level.
pub fn tell(report: &Report, quiet: bool) {
    match line(report) {
        (Loudness::Lab, text) => tracing::info!("{text}"),
        (Loudness::Story, text) if !quiet => tracing::info!("{text}"),
        (Loudness::Problem, text) => tracing::warn!("{text}"),
        (Loudness::Story | Loudness::Detail, text) => tracing::debug!("{text}"),
    }
}

#[cfg(test)]
mod tests;
