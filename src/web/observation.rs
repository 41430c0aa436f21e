//! What the page needs from a peer's report, as a small value: the demo
//! makes it from each report in process; a `bazaar node` under `up --web`
//! writes it as one line of JSON (behind [`FEED_PREFIX`]) for `up` to read.
//! Either way the page is fed by the same values, worded by
//! [`crate::story`] at the peer.

use std::time::Duration;

use bazaar_node::{Event, runtime::Report};
use serde::{Deserialize, Serialize};

use crate::story;

/// Marks a line of a node's output as an observation for `up`'s page.
pub const FEED_PREFIX: &str = "@web ";

/// Something a peer reported that the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observation {
    /// The peer is the new trader.
    Elected {
        /// Its epoch.
        epoch: u64,
        /// Its announcement, in the lab's words.
        line: String,
    },
    /// The peer follows a trader.
    Follows {
        /// The trader.
        trader: u32,
        /// Its epoch.
        epoch: u64,
    },
    /// The peer is trader no more.
    SteppedDown,
    /// The peer starts an election.
    ElectionStarted {
        /// The highest epoch it had seen.
        epoch: u64,
        /// Its line, saying why.
        line: String,
    },
    /// The peer, as trader, sold.
    Sold {
        /// The lab's line.
        line: String,
    },
    /// The peer's buy was answered.
    Answered {
        /// Its response time, in microseconds.
        latency_us: u64,
    },
}

impl Observation {
    /// What the page shows of `report`, if anything.
    pub fn of(report: &Report) -> Option<Self> {
        let line = || story::line(report).1;
        Some(match &report.event {
            Event::Coordinator { epoch, .. } => Self::Elected {
                epoch: epoch.0,
                line: line(),
            },
            Event::Following { trader, epoch } => Self::Follows {
                trader: trader.0,
                epoch: epoch.0,
            },
            Event::SteppedDown { .. } => Self::SteppedDown,
            Event::ElectionStarted { epoch, .. } => Self::ElectionStarted {
                epoch: epoch.0,
                line: line(),
            },
            Event::Sold(_) => Self::Sold { line: line() },
            Event::Answered { latency, .. } => Self::Answered {
                latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            },
            _ => return None,
        })
    }

    /// The response time of an answered buy.
    pub const fn latency(&self) -> Option<Duration> {
        match self {
            Self::Answered { latency_us } => Some(Duration::from_micros(*latency_us)),
            _ => None,
        }
    }

    /// The feed line for `up`: the prefix, then JSON with the node's wall
    /// clock (Unix ms) when it saw the event.
    pub fn to_feed_line(&self, wall_ms: u64) -> String {
        let stamped = Stamped {
            at_ms: wall_ms,
            seen: self.clone(),
        };
        let json = serde_json::to_string(&stamped).unwrap_or_default();
        format!("{FEED_PREFIX}{json}")
    }

    /// Reads a feed line back: the observation and its wall-clock stamp;
    /// `None` for any other line.
    pub fn from_feed_line(text: &str) -> Option<(Self, u64)> {
        let json = text.split_once(FEED_PREFIX)?.1;
        let stamped: Stamped = serde_json::from_str(json).ok()?;
        Some((stamped.seen, stamped.at_ms))
    }
}

/// Writes the feed line of `report`, if the page shows it, on standard
/// output (for `up`, which reads every line a node writes).
pub fn feed(report: &Report) {
    if let Some(seen) = Observation::of(report) {
        let line = seen.to_feed_line(super::unix_ms());
        let mut out = std::io::stdout().lock();
        let _ = std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes());
    }
}

/// An observation with when it was made.
#[derive(Debug, Serialize, Deserialize)]
struct Stamped {
    at_ms: u64,
    #[serde(flatten)]
    seen: Observation,
}

#[cfg(test)]
mod tests {
    use bazaar_protocol::{Epoch, PeerId};

    use super::*;

    #[test]
    fn a_feed_line_reads_back_as_it_was_written() {
        let report = Report {
            peer: PeerId(6),
            event: Event::Coordinator {
                id: PeerId(6),
                epoch: Epoch(3),
            },
        };
        let seen = Observation::of(&report).expect("the page shows an election");
        let line = seen.to_feed_line(1_700_000_000_123);
        assert_eq!(
            Observation::from_feed_line(&line),
            Some((seen, 1_700_000_000_123))
        );
    }

    #[test]
    fn other_lines_are_not_observations() {
        assert_eq!(
            Observation::from_feed_line("peer 3 bought 4 fish from peer 2"),
            None
        );
        assert_eq!(Observation::from_feed_line("@web {not json"), None);
    }
}
