//! The floor of the real-processes experiment: a 32-byte frame there and
//! back between two `bazaar echo` processes over plaintext tcp through the
//! `Transport` trait, as the node processes talk, paced as their buyers
//! are: the sender waits the buyers' think time after each reply.

use std::{future::Future, path::Path};

use bazaar_node::{
    Role,
    cluster::Cluster,
    net::{TransportKind, start_peer},
};
use bazaar_protocol::PeerId;

use super::{ProcessesError, cluster, fleet::Fleet};
use crate::{
    bench::experiments::floors::echo::{EchoError, Rounds, paced_round_trips, reflect},
    stats::{Latencies, LatencyCounts},
    up::NodeCommand,
};

/// The sender's id in the echo's cluster file.
pub const SENDER: PeerId = PeerId(1);

/// The reflector's id in the echo's cluster file.
pub const REFLECTOR: PeerId = PeerId(2);

/// What the reflector prints once it listens.
const READY: &str = "echo: listening";

/// Runs the echo in two child processes of `bazaar` (the binary at
/// `program`), their cluster file in `dir`: the reflector first, then the
/// sender, whose `rounds` come back as its one line of JSON.
///
/// # Errors
/// A [`ProcessesError`] if a process cannot start or says nothing in time.
pub async fn measure(
    program: &Path,
    dir: &Path,
    rounds: Rounds,
) -> Result<Latencies, ProcessesError> {
    let path = dir.join("echo.toml");
    cluster::write(&path, &[Role::Idle, Role::Idle], 0)?;
    let args = [
        "--cluster".to_owned(),
        path.display().to_string(),
        "--round-trips".to_owned(),
        rounds.count.to_string(),
        "--think".to_owned(),
        humantime::format_duration(rounds.think).to_string(),
    ];
    let mut fleet = Fleet::new(
        "echo",
        NodeCommand {
            program: program.to_owned(),
            args: args.into(),
        },
    );
    fleet.spawn(REFLECTOR.0)?;
    fleet
        .watch("the echo's reflector to listen", |l| l.text == READY)
        .await?;
    fleet.spawn(SENDER.0)?;
    let line = fleet
        .watch("the echo's round trips", |l| {
            l.peer == SENDER.0 && l.text.starts_with('{')
        })
        .await?;
    fleet.stop().await;
    let counts: LatencyCounts = serde_json::from_str(&line.text)
        .map_err(|e| ProcessesError::Wait(format!("the echo's figures: {e}")))?;
    Ok(Latencies::from(&counts))
}

/// One side of the echo, in this process (`bazaar echo`): peer `id` of the
/// two-peer `cluster`. The reflector prints `READY` once it listens and
/// sends every frame back; the sender makes its `rounds` after a warm-up
/// and prints them as one line of JSON ([`LatencyCounts`]). Either stops
/// early when `stop` returns.
///
/// # Errors
/// An [`EchoError`] if the transport fails.
pub async fn side(
    cluster: &Cluster,
    id: PeerId,
    rounds: Rounds,
    stop: impl Future<Output = &'static str>,
) -> Result<(), EchoError> {
    let kind = TransportKind::Tcp;
    let transport = start_peer(kind, id, cluster.addresses(), Path::new(""))
        .await
        .map_err(|source| EchoError::Transport { kind, source })?;
    let work = async {
        if id == REFLECTOR {
            println!("{READY}");
            reflect(std::sync::Arc::clone(&transport)).await;
            return Ok(());
        }
        let latencies = paced_round_trips(kind, transport.as_ref(), REFLECTOR, rounds).await?;
        let json = serde_json::to_string(&LatencyCounts::from(&latencies))
            .expect("counts always serialize");
        println!("{json}");
        Ok(())
    };
    // Either side stops with its parent, the sender too: without its
    // reflector it would wait for a reply forever.
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = stop => Ok(()),
    };
    transport.shutdown().await;
    outcome
}
