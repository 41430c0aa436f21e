//! The lab's optional experiment, local against remote: six `bazaar node`
//! processes on six network-namespace hosts, with every host's outgoing
//! packets delayed (`tc netem`) by 0, 0.5 ms and 5 ms, so that a round trip
//! between two hosts takes twice that more. At each delay: the buyers'
//! response times (from their summaries), then the failover time after a
//! SIGKILL of the trader (to the next trader's first sale). Needs root,
//! iproute2 and tc; the bench says why when it skips it.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{ExperimentError, Setup, Summary, tasks};
use crate::{
    hosts::{Hosts, HostsError},
    node::summary::NodeSummary,
    stats::Latencies,
};

/// What one delay measured.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteResult {
    /// The delay added to each host's outgoing packets, microseconds.
    pub delay_us: u64,
    /// The buyers' response times, all buyers together, before the kill.
    pub buy: Summary,
    /// From the SIGKILL of the trader to the next trader's first sale,
    /// milliseconds; `None` if it did not come within the bench's patience.
    pub failover_ms: Option<f64>,
}

/// The experiment, when the plan has delays and this machine can make
/// network namespaces: what each delay measured, and why the rest was not
/// (or why none was).
///
/// # Errors
/// [`ExperimentError::Binary`] if the running binary cannot be found, or
/// [`ExperimentError::Panicked`].
pub async fn run(
    setup: &Setup<'_>,
) -> Result<(Vec<RemoteResult>, Option<String>), ExperimentError> {
    let (plan, bar) = (setup.plan, setup.bar);
    if plan.remote.is_empty() {
        return Ok((Vec::new(), None));
    }
    if let Some(why) = crate::hosts::unavailable() {
        bar.inc(1);
        return Ok((Vec::new(), Some(why)));
    }
    bar.set_message("local against remote: hosts in network namespaces");
    let bazaar = std::env::current_exe().map_err(ExperimentError::Binary)?;
    let delays: Vec<Duration> = plan
        .remote
        .iter()
        .map(|&us| Duration::from_micros(us))
        .collect();
    let trade = plan.remote_trade;
    let ran = tasks::blocking("local against remote", move || {
        measure(&bazaar, &delays, trade)
    });
    let ran = ran.await?;
    bar.inc(1);
    Ok(ran.unwrap_or_else(|e| (Vec::new(), Some(e.to_string()))))
}

/// Measures at each of `delays`, trading for `trade` at each before the
/// kill. Returns what was measured, and why the rest was not (a kernel
/// without `sch_netem` can make the hosts but cannot delay them).
///
/// # Errors
/// A [`HostsError`] if the hosts cannot be made at all.
pub fn measure(
    bazaar: &Path,
    delays: &[Duration],
    trade: Duration,
) -> Result<(Vec<RemoteResult>, Option<String>), HostsError> {
    let mut results = Vec::new();
    for &delay in delays {
        match one(bazaar, delay, trade) {
            Ok(result) => results.push(result),
            Err(e) if !results.is_empty() => {
                return Ok((results, Some(format!("delays of {delay:?} and more: {e}"))));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((results, None))
}

/// One delay: the buyers' response times, then the failover.
fn one(bazaar: &Path, delay: Duration, trade: Duration) -> Result<RemoteResult, HostsError> {
    let mut hosts = Hosts::create(bazaar, "remote", 6, 20)?;
    hosts.delay(delay)?;
    let mut seen = Vec::new();
    for id in 1..=5 {
        hosts.spawn(id);
    }
    hosts.spawn(6);
    let elected = hosts.wait_for(
        Some(6),
        "My ID is 6, and I am the new coordinator",
        &mut seen,
    );
    let failover_ms = if elected.is_some() {
        hosts.collect(trade, &mut seen);
        let killed = Instant::now();
        // Peer 5's summary would end with its term as trader: collect the
        // buyers' figures from peers 1 and 3, which only buy.
        hosts.kill(6);
        hosts
            .wait_for(
                Some(5),
                "My ID is 5, and I am the new coordinator",
                &mut seen,
            )
            .and_then(|_| hosts.wait_for(Some(5), " bought ", &mut seen))
            .map(|(_, at, _)| (at - killed).as_secs_f64() * 1e3)
    } else {
        None
    };
    hosts.terminate_all();
    let mut buys = Latencies::default();
    for id in [1, 3] {
        let path = hosts
            .dir
            .join("data")
            .join(format!("peer-{id}.summary.json"));
        let summary = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<NodeSummary>(&text).ok());
        if let Some(summary) = summary {
            buys.merge(&Latencies::from(&summary.latencies));
        }
    }
    Ok(RemoteResult {
        delay_us: u64::try_from(delay.as_micros()).unwrap_or(u64::MAX),
        buy: Summary::from(&buys),
        failover_ms,
    })
}
