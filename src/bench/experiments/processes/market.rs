//! The experiment's market: six `bazaar node` processes of one cluster
//! file, three buyers (1–3) and three sellers (4–6, the highest the first
//! trader), over plaintext tcp on loopback, with the books in SQLite in
//! their shared data directory or in PostgreSQL; at the end, what the
//! buyers' summaries say.

use std::path::{Path, PathBuf};

use bazaar_node::Role;

use super::{ProcessesError, fleet::Fleet};
use crate::{
    node::summary::NodeSummary,
    stats::Latencies,
    up::{ANNOUNCEMENT, NodeCommand},
};

/// Every peer's role, by id from 1.
pub const ROLES: [Role; 6] = [
    Role::Buyer,
    Role::Buyer,
    Role::Buyer,
    Role::Seller,
    Role::Seller,
    Role::Seller,
];

/// The buyers' ids.
pub const BUYERS: std::ops::RangeInclusive<u32> = 1..=3;

/// The first trader: the highest id.
pub const FIRST_TRADER: u32 = ROLES.len() as u32;

/// How a market's processes start: the `bazaar` at `program` with the
/// cluster file `cluster`, keeping their incarnation counts and summaries in
/// `data_dir`, the books there too unless `postgres` names a database;
/// logging only the lab's lines if `quiet`.
#[derive(Clone, Copy)]
pub struct Launch<'a> {
    /// The `bazaar` binary.
    pub program: &'a Path,
    /// The cluster file.
    pub cluster: &'a Path,
    /// The peers' data directory.
    pub data_dir: &'a Path,
    /// The books' PostgreSQL database, if not SQLite in `data_dir`.
    pub postgres: Option<&'a str>,
    /// Whether the peers log only the lab's lines.
    pub quiet: bool,
}

/// Six running node processes.
pub struct Market {
    /// The processes and their lines.
    pub fleet: Fleet,
    data_dir: PathBuf,
}

impl Market {
    /// Starts every peer of the market `launch` describes. Returns once
    /// the first trader has sold.
    ///
    /// # Errors
    /// A [`ProcessesError`] if a peer cannot start or no sale comes.
    pub async fn start(launch: &Launch<'_>) -> Result<Self, ProcessesError> {
        let mut args: Vec<String> = [
            "--cluster",
            &launch.cluster.display().to_string(),
            "--transport",
            "tcp",
            "--insecure-plaintext",
            "--data-dir",
            &launch.data_dir.display().to_string(),
        ]
        .map(str::to_owned)
        .into();
        if let Some(url) = launch.postgres {
            args.extend(["--store".to_owned(), url.to_owned()]);
        }
        if launch.quiet {
            args.push("--quiet".to_owned());
        }
        let command = NodeCommand {
            program: launch.program.to_owned(),
            args,
        };
        let mut market = Self {
            fleet: Fleet::new("node", command),
            data_dir: launch.data_dir.to_owned(),
        };
        for id in 1..=FIRST_TRADER {
            market.fleet.spawn(id)?;
        }
        market.trading(FIRST_TRADER).await?;
        Ok(market)
    }

    /// Waits until peer `id` announces itself trader, then for its first
    /// sale.
    ///
    /// # Errors
    /// [`ProcessesError::Wait`] if either does not come in time.
    pub async fn trading(&mut self, id: u32) -> Result<(), ProcessesError> {
        let announcement = format!("My ID is {id}, {ANNOUNCEMENT}");
        self.fleet
            .watch(&format!("peer {id} to become trader"), |l| {
                l.text.contains(&announcement)
            })
            .await?;
        self.fleet
            .watch(&format!("trader {id}'s first sale"), |l| {
                l.peer == id && l.text.contains(" bought ")
            })
            .await?;
        Ok(())
    }

    /// Stops every peer and merges the response times of the buyers' every
    /// incarnation, as their summaries give them.
    ///
    /// # Errors
    /// [`ProcessesError::Wait`] if a buyer wrote no summary.
    pub async fn stop(self) -> Result<Latencies, ProcessesError> {
        self.fleet.stop().await;
        let mut buys = Latencies::default();
        for id in BUYERS {
            let path = NodeSummary::default_path(&self.data_dir, id);
            let summary = NodeSummary::read(&path).map_err(|e| {
                ProcessesError::Wait(format!("buyer {id}'s summary {}: {e}", path.display()))
            })?;
            buys.merge(&Latencies::from(&summary.latencies));
        }
        Ok(buys)
    }
}
