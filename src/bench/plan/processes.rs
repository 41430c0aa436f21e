//! The real-processes experiment as a value: how long its market trades,
//! how long its echo runs, how often its trader is killed.

use std::{path::PathBuf, time::Duration};

/// What the experiment does.
#[derive(Debug, Clone)]
pub struct ProcessesPlan {
    /// How long the market trades, after its first sale, before the
    /// buyers' figures are taken.
    pub trade: Duration,
    /// Round trips of the two-process echo, after its warm-up.
    pub echo_round_trips: u32,
    /// SIGKILLs of the trader per store.
    pub kills: u32,
    /// The `bazaar` binary whose `node` and `echo` run the processes;
    /// `None`: this process's own, as in `bazaar bench` (a test names the
    /// binary it built).
    pub bazaar: Option<PathBuf>,
}

impl ProcessesPlan {
    /// Progress steps: the echo, the buys, the failovers per store.
    pub fn steps(&self, postgres: bool) -> u64 {
        3 + u64::from(postgres)
    }
}
