//! The floors every figure is set beside: a 32-byte echo over each
//! transport (hot, and paced as the buyers are), over raw tokio tcp, and
//! the disk's synced write.

pub mod disk;
pub mod echo;

use std::time::Duration;

use serde::Serialize;

use super::{ExperimentError, Setup, Summary, tasks};
use crate::{
    bench::plan::{THINK, TRANSPORTS},
    workers::on_workers,
};
use echo::Rounds;

/// The name of the disk's floor among the floors.
pub const FSYNC: &str = "fsync 4 KiB";

/// The name of the echo over tokio's sockets alone.
pub const RAW_TCP: &str = "raw tcp";

/// One floor: a 32-byte frame there and back, or a synced disk write.
#[derive(Debug, Clone, Serialize)]
pub struct FloorResult {
    /// `mem`, `tcp`, `quic`, `tcp+tls`, [`RAW_TCP`] for tokio sockets
    /// alone, or the disk's [`FSYNC`].
    pub name: String,
    /// The round trips back to back: hot.
    pub round_trip: Summary,
    /// The round trips paced as the latency experiments' buyers are (their
    /// think time slept before each, on the same runtime); measured for the
    /// transports and the disk only.
    pub paced: Option<Summary>,
}

/// Every floor, in report order: each transport's echo, raw tcp's, the
/// disk's.
///
/// # Errors
/// An [`ExperimentError`] if an echo or the disk fails.
pub async fn run(setup: &Setup<'_>) -> Result<Vec<FloorResult>, ExperimentError> {
    let (plan, bar) = (setup.plan, setup.bar);
    let mut floors = Vec::new();
    for kind in TRANSPORTS {
        bar.set_message(format!("echo floors over {kind}, hot and paced"));
        let hot = Rounds {
            count: plan.echo_round_trips,
            think: Duration::ZERO,
        };
        let hot = on_workers(echo::transport(kind, hot, setup.seed)).await?;
        let paced = Rounds {
            count: plan.paced_round_trips,
            think: THINK,
        };
        let paced = on_workers(echo::transport(kind, paced, setup.seed)).await?;
        floors.push(FloorResult {
            name: kind.name().into(),
            round_trip: Summary::from(&hot),
            paced: Some(Summary::from(&paced)),
        });
        bar.inc(1);
    }
    bar.set_message("echo floor over raw tokio tcp");
    let raw = on_workers(echo::raw_tcp(plan.echo_round_trips)).await?;
    floors.push(FloorResult {
        name: RAW_TCP.into(),
        round_trip: Summary::from(&raw),
        paced: None,
    });
    bar.inc(1);
    floors.push(fsync(setup).await?);
    bar.inc(1);
    Ok(floors)
}

/// The disk's floor in the output folder, hot and paced: a twentieth of
/// the echo's round trips each.
async fn fsync(setup: &Setup<'_>) -> Result<FloorResult, ExperimentError> {
    setup.bar.set_message("fsync floor");
    let dir = setup.out.to_owned();
    let rounds = setup.plan.echo_round_trips / 20;
    let synced = tasks::blocking("the fsync floor", move || {
        let hot = disk::fsync(&dir, rounds, Duration::ZERO)?;
        disk::fsync(&dir, rounds, THINK).map(|paced| (hot, paced))
    });
    let (hot, paced) = synced.await?.map_err(|source| ExperimentError::Disk {
        path: setup.out.join(disk::SCRATCH),
        source,
    })?;
    Ok(FloorResult {
        name: FSYNC.into(),
        round_trip: Summary::from(&hot),
        paced: Some(Summary::from(&paced)),
    })
}
