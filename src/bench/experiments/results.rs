//! The figures a run produces, as plain values for the report, the plots
//! and the JSON.

use std::time::Duration;

use serde::Serialize;

use super::scenarios::{LatencyScenario, LoadScenario, Plan};
use crate::stats::Latencies;

/// A latency distribution in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl From<&Latencies> for Summary {
    fn from(l: &Latencies) -> Self {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        Self {
            count: l.count(),
            mean_us: us(l.mean()),
            p50_us: us(l.quantile(0.5)),
            p99_us: us(l.quantile(0.99)),
            max_us: us(l.max()),
        }
    }
}

/// One floor: a 32-byte frame there and back, or a synced disk write.
#[derive(Debug, Clone, Serialize)]
pub struct EchoResult {
    /// `mem`, `tcp`, `quic`, `raw tcp` for tokio sockets alone, or the
    /// disk's [`FSYNC`](super::FSYNC).
    pub name: String,
    /// The round trips back to back: hot.
    pub round_trip: Summary,
    /// The round trips paced as the latency experiments' buyers are (their
    /// think time slept before each, on the same runtime); measured for the
    /// transports only.
    pub paced: Option<Summary>,
}

/// One buyer's reply, for the latency-over-time plot.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// When the reply arrived, seconds from the market's start.
    pub at_s: f64,
    /// The request's response time, in microseconds.
    pub latency_us: f64,
}

/// What an election did to the buyers: from the trader's death (or its
/// resignation, or a crashed trader's return) to the first reply.
#[derive(Debug, Clone, Serialize)]
pub struct Election {
    /// What caused it: `killed`, `resigned` or `returned`.
    pub cause: String,
    /// The trader before.
    pub old: u32,
    /// The trader after.
    pub new: u32,
    /// When it began, seconds from the market's start.
    pub at_s: f64,
    /// Until the new trader announced itself, in milliseconds.
    pub elected_ms: f64,
    /// Until a buyer got its first reply from the new trader, in
    /// milliseconds: the failover time.
    pub first_reply_ms: f64,
}

/// The outcome of one latency experiment.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyResult {
    /// What was run.
    pub scenario: LatencyScenario,
    /// Every buyer's response times together.
    pub latency: Summary,
    /// Requests answered with at least one unit.
    pub filled: u64,
    /// Whether every buyer made all its requests before the time limit.
    pub complete: bool,
    /// Wall time, seconds.
    pub elapsed_s: f64,
    /// Frames sent by all peers.
    pub frames: u64,
    /// The elections after the first.
    pub elections: Vec<Election>,
    /// Every reply in order, kept only where the report plots them.
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

/// The outcome of one throughput experiment.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// What was run.
    pub scenario: LoadScenario,
    /// Buys answered per second in the window.
    pub buys_per_s: f64,
    /// Buys answered with at least one unit, per second.
    pub filled_per_s: f64,
    /// Response times of the window's buys.
    pub latency: Summary,
    /// Frames sent per buy in the window, all peers.
    pub frames_per_buy: f64,
    /// Batches the trader committed per second (store on: fsyncs/s).
    pub commits_per_s: f64,
    /// Whether every buyer had been answered once before the window (the
    /// election over, every connection up) within the bench's patience.
    pub settled: bool,
}

/// One point of the load curve's floor: what a transport's connections
/// carry as plain request/reply with nothing of the market on them.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityResult {
    /// `mem`, `tcp`, `quic`, `tcp+tls`, or `raw tcp` for tokio sockets
    /// with one echo task per connection.
    pub transport: String,
    /// Closed-loop clients, each on its own connection.
    pub connections: u32,
    /// Round trips per second, all clients together.
    pub round_trips_per_s: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResults {
    /// What was run.
    pub plan: Plan,
    /// The floors: echoes over mem, tcp, quic and raw tcp, then fsync.
    pub echo: Vec<EchoResult>,
    /// The latency experiments, in plan order.
    pub latency: Vec<LatencyResult>,
    /// The load curve: throughput experiments, in plan order.
    pub load: Vec<LoadResult>,
    /// The load curve's floors: each transport's request/reply capacity at
    /// each number of buyers of the curve.
    pub capacity: Vec<CapacityResult>,
    /// The history experiments, shortest history first.
    pub history: Vec<super::HistoryResult>,
    /// The remote-latency experiment, smallest delay first.
    pub remote: Vec<super::RemoteResult>,
    /// Why the remote-latency experiment did not run, if it did not.
    pub remote_skipped: Option<String>,
    /// Instructions per buy under callgrind, if measured.
    pub instructions: Option<super::InstructionsResult>,
    /// Why instructions were not counted, if the plan had them.
    pub instructions_skipped: Option<String>,
    /// The real-processes experiment, if it ran.
    pub processes: Option<super::ProcessesResult>,
    /// The durable stores' commits: SQLite, then PostgreSQL if measured.
    pub commits: Vec<super::CommitResult>,
    /// Seconds the whole run took.
    pub elapsed_s: f64,
    /// The machine's load average at the start, where the system tells it.
    pub load_average: Option<String>,
}
