//! What the bench runs: every experiment as a value, and the two plans
//! (`--quick` and the full run) that list them.

use std::time::Duration;

use bazaar_protocol::PeerId;
use serde::Serialize;

use bazaar_node::{Incarnation, PeerConfig, ResignPolicy, Role, Timing, net::TransportKind};

use super::{counting::CountingMarket, instructions::InstructionsPlan, stock};

/// Where the trader's books live during an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// In memory: the store off.
    Mem,
    /// SQLite on disk, a commit per batch: the store on.
    Sqlite,
    /// PostgreSQL (`bazaar bench --postgres URL`), a commit per batch.
    Postgres,
}

impl StoreKind {
    /// How the report names it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mem => "mem",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What happens to the trader while buyers buy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disruption {
    /// Nothing: one trader throughout.
    None,
    /// The trader is crashed after every `every` answered requests, and
    /// brought back once its successor has answered a request.
    Kill {
        /// Answered requests (all buyers) between kills.
        every: u64,
    },
    /// The trader resigns after every `every` sales.
    Resign {
        /// Sales between resignations.
        every: u64,
    },
}

/// Which question an experiment answers, for grouping in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Six peers over each transport, store off.
    Transports,
    /// Six peers over each transport, store on.
    Durable,
    /// More and more peers.
    Peers,
    /// Buyers against sellers, unstocked.
    Ratios,
    /// The trader crashed or resigning every K requests.
    Elections,
}

/// A market of sequential buyers, each making `requests` requests.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyScenario {
    /// A short unique name.
    pub name: String,
    /// Which question it answers.
    pub group: Group,
    /// How peers reach each other.
    #[serde(serialize_with = "transport_name")]
    pub transport: TransportKind,
    /// Where the books live.
    pub store: StoreKind,
    /// Peers in all; the highest id is the first trader.
    pub peers: u32,
    /// Peers 1..=buyers buy; the rest sell.
    pub buyers: u32,
    /// Whether the store starts with a big deposit of every product.
    pub stocked: bool,
    /// A buyer's pause between a reply and its next request.
    #[serde(serialize_with = "micros")]
    pub think: Duration,
    /// Requests per buyer.
    pub requests: u64,
    /// What happens to the trader meanwhile.
    pub disruption: Disruption,
}

/// Many buyers with no think time against one trader, for buys per second:
/// one point of the load curve.
#[derive(Debug, Clone, Serialize)]
pub struct LoadScenario {
    /// A short unique name.
    pub name: String,
    /// How peers reach each other.
    #[serde(serialize_with = "transport_name")]
    pub transport: TransportKind,
    /// Where the books live.
    pub store: StoreKind,
    /// Concurrent buyers.
    pub buyers: u32,
    /// Sellers (the highest of them is the trader).
    pub sellers: u32,
    /// Time given after every buyer's first answer (the election over,
    /// connections up) before counting.
    #[serde(serialize_with = "micros")]
    pub warmup: Duration,
    /// How long buys are counted.
    #[serde(serialize_with = "micros")]
    pub window: Duration,
}

/// Everything one run of the bench does.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Whether this is the `--quick` plan.
    pub quick: bool,
    /// Round trips per echo floor.
    pub echo_round_trips: u32,
    /// Round trips per paced echo floor (each after a think time).
    pub paced_round_trips: u32,
    /// The latency experiments, in order.
    pub latency: Vec<LatencyScenario>,
    /// The load curve: throughput experiments with more and more buyers,
    /// per transport and store, in order.
    pub load: Vec<LoadScenario>,
    /// How long each request/reply floor of the load curve is counted
    /// (zero: no floors).
    pub capacity_window: Duration,
    /// The history experiment: the lengths of history, in sales.
    pub history: Vec<u64>,
    /// The remote-latency experiment: the delays added to each host's
    /// packets, in microseconds (empty: not run).
    pub remote: Vec<u64>,
    /// How long the market trades at each delay before the kill.
    pub remote_trade: Duration,
    /// The real-processes experiment (`None`: not run).
    pub processes: Option<super::ProcessesPlan>,
    /// Commits timed per durable store in the commits experiment (0: none).
    pub commits: u32,
    /// Whether PostgreSQL is measured beside SQLite (`--postgres URL`).
    pub postgres: bool,
    /// Instructions per buy under callgrind (`None`: not counted).
    pub instructions: Option<InstructionsPlan>,
}

/// Every transport, in report order.
pub const TRANSPORTS: [TransportKind; 4] = TransportKind::ALL;

/// The think time of the latency experiments: short enough for 1,000
/// requests in seconds, long enough that a buyer's request rarely queues
/// behind another's, so that the figure is a response time, not a backlog.
pub const THINK: Duration = Duration::from_millis(1);

impl Plan {
    /// The plan for `--quick` (about a minute) or the full run.
    pub fn new(quick: bool) -> Self {
        let requests = if quick { 200 } else { 1_000 };
        let sizes: &[u32] = if quick {
            &[6, 24, 96]
        } else {
            &[6, 12, 24, 48, 96]
        };
        let base = |name: String, group, transport, peers, buyers| LatencyScenario {
            name,
            group,
            transport,
            store: StoreKind::Mem,
            peers,
            buyers,
            stocked: true,
            think: THINK,
            requests,
            disruption: Disruption::None,
        };
        let mut latency = Vec::new();
        for t in TRANSPORTS {
            latency.push(base(format!("6 peers, {t}"), Group::Transports, t, 6, 3));
        }
        for t in TRANSPORTS {
            latency.push(LatencyScenario {
                store: StoreKind::Sqlite,
                ..base(format!("6 peers, {t}, sqlite"), Group::Durable, t, 6, 3)
            });
        }
        for &n in sizes {
            let t = TransportKind::Tcp;
            latency.push(base(format!("{n} peers, tcp"), Group::Peers, t, n, n / 2));
        }
        for buyers in [1, 4, 6] {
            let sellers = 7 - buyers;
            latency.push(LatencyScenario {
                stocked: false,
                ..base(
                    format!("{buyers}:{sellers} buyers:sellers, tcp, unstocked"),
                    Group::Ratios,
                    TransportKind::Tcp,
                    8,
                    buyers,
                )
            });
        }
        let every = requests * 3 / 4;
        latency.push(LatencyScenario {
            disruption: Disruption::Kill { every },
            ..base(
                format!("trader killed every {every} requests, tcp"),
                Group::Elections,
                TransportKind::Tcp,
                6,
                3,
            )
        });
        latency.push(LatencyScenario {
            disruption: Disruption::Resign { every },
            ..base(
                format!("trader resigns every {every} sales, tcp"),
                Group::Elections,
                TransportKind::Tcp,
                6,
                3,
            )
        });

        let (warmup, window) = if quick {
            (Duration::from_millis(300), Duration::from_millis(600))
        } else {
            (Duration::from_millis(500), Duration::from_secs(2))
        };
        let steps: &[u32] = if quick {
            &[1, 4, 16, 64]
        } else {
            &[1, 2, 4, 8, 16, 32, 64, 128]
        };
        let mut load = Vec::new();
        for store in [StoreKind::Mem, StoreKind::Sqlite] {
            for t in TRANSPORTS {
                load.extend(steps.iter().map(|&buyers| LoadScenario {
                    name: format!("{buyers} buyers, {t}, store {}", store.name()),
                    transport: t,
                    store,
                    buyers,
                    sellers: 3,
                    warmup,
                    window,
                }));
            }
        }
        let history = if quick {
            vec![10_000, 100_000]
        } else {
            vec![10_000, 100_000, 1_000_000, 10_000_000]
        };
        Self {
            quick,
            echo_round_trips: if quick { 2_000 } else { 20_000 },
            paced_round_trips: if quick { 500 } else { 3_000 },
            latency,
            load,
            history,
            remote: vec![0, 500, 5_000],
            remote_trade: Duration::from_secs(if quick { 2 } else { 5 }),
            capacity_window: if quick {
                Duration::from_millis(400)
            } else {
                Duration::from_secs(1)
            },
            processes: Some(super::ProcessesPlan::new(quick)),
            commits: if quick { 500 } else { 2_000 },
            postgres: false,
            instructions: Some(InstructionsPlan {
                // The throughput experiments' market, so that the figure
                // sits beside their buys per second.
                market: CountingMarket {
                    buyers: 16,
                    sellers: 3,
                },
                buys: if quick { 2_000 } else { 5_000 },
                repeats: 3,
            }),
        }
    }

    /// The plan with PostgreSQL beside SQLite: its commits, and the load
    /// curve over tcp with the books in it.
    #[must_use]
    pub fn with_postgres(mut self) -> Self {
        self.postgres = true;
        let postgres: Vec<LoadScenario> = self
            .load
            .iter()
            .filter(|l| l.store == StoreKind::Sqlite && l.transport == TransportKind::Tcp)
            .map(|sqlite| LoadScenario {
                name: sqlite.name.replace("store sqlite", "store postgres"),
                store: StoreKind::Postgres,
                ..sqlite.clone()
            })
            .collect();
        self.load.extend(postgres);
        self
    }

    /// The floors the load curve needs: for each transport it runs over,
    /// each number of buyers it tries, in order.
    pub fn capacity_floors(&self) -> Vec<(TransportKind, u32)> {
        if self.capacity_window.is_zero() {
            return Vec::new();
        }
        let mut floors: Vec<(TransportKind, u32)> = Vec::new();
        for l in &self.load {
            if !floors.contains(&(l.transport, l.buyers)) {
                floors.push((l.transport, l.buyers));
            }
        }
        floors
    }

    /// The raw tcp floors the load curve needs: each number of buyers of
    /// its tcp points.
    pub fn raw_capacity_floors(&self) -> Vec<u32> {
        self.capacity_floors()
            .into_iter()
            .filter(|(t, _)| *t == TransportKind::Tcp)
            .map(|(_, n)| n)
            .collect()
    }

    /// How many steps the progress bar counts: five floors, then each
    /// experiment, each transport's capacity floors counting as one.
    pub fn steps(&self) -> u64 {
        let mut floored: Vec<TransportKind> =
            self.capacity_floors().into_iter().map(|(t, _)| t).collect();
        floored.dedup();
        let capacity = floored.len() + usize::from(!self.raw_capacity_floors().is_empty());
        let remote = usize::from(!self.remote.is_empty());
        let instructions = usize::from(self.instructions.is_some());
        let commits = if self.commits == 0 {
            0
        } else {
            1 + usize::from(self.postgres)
        };
        let processes = self
            .processes
            .as_ref()
            .map_or(0, |p| p.steps(self.postgres));
        (5 + self.latency.len()
            + self.load.len()
            + capacity
            + self.history.len()
            + remote
            + commits
            + instructions) as u64
            + processes
    }
}

impl LatencyScenario {
    /// Every peer's configuration: buyers first, sellers after, the last
    /// seller the first trader.
    pub fn configs(&self, seed: u64) -> Vec<PeerConfig> {
        let resign = match self.disruption {
            Disruption::Resign { every } => ResignPolicy {
                after: None,
                after_sales: Some(every),
            },
            Disruption::None | Disruption::Kill { .. } => ResignPolicy::default(),
        };
        configs(self.peers, self.buyers, self.think, resign, seed)
    }

    /// The buyers' ids.
    pub fn buyer_ids(&self) -> Vec<PeerId> {
        (1..=self.buyers).map(PeerId).collect()
    }

    /// The sellers' ids.
    pub fn seller_ids(&self) -> Vec<PeerId> {
        (self.buyers + 1..=self.peers).map(PeerId).collect()
    }
}

impl LoadScenario {
    /// Peers in all.
    pub const fn peers(&self) -> u32 {
        self.buyers + self.sellers
    }

    /// Every peer's configuration, buyers thinking not at all.
    pub fn configs(&self, seed: u64) -> Vec<PeerConfig> {
        let peers = self.peers();
        configs(
            peers,
            self.buyers,
            Duration::ZERO,
            ResignPolicy::default(),
            seed,
        )
    }

    /// The sellers' ids.
    pub fn seller_ids(&self) -> Vec<PeerId> {
        (self.buyers + 1..=self.peers()).map(PeerId).collect()
    }
}

fn configs(
    peers: u32,
    buyers: u32,
    think: Duration,
    resign: ResignPolicy,
    seed: u64,
) -> Vec<PeerConfig> {
    (1..=peers)
        .map(|id| {
            let role = if id <= buyers {
                Role::Buyer
            } else {
                Role::Seller
            };
            // Sellers number their offers past a stocked store's lots.
            let incarnation = if role == Role::Seller {
                stock::SELLERS_LIFE
            } else {
                Incarnation::FIRST
            };
            PeerConfig {
                incarnation,
                // Six-peer timeouts would elect and depose traders in a
                // loop in the biggest markets (128 closed-loop buyers).
                timing: Timing {
                    think,
                    ..Timing::for_peers(peers)
                },
                resign,
                seed: seed.wrapping_mul(1_000_003).wrapping_add(u64::from(id)),
                ..PeerConfig::simple(id, peers, role)
            }
        })
        .collect()
}

fn transport_name<S: serde::Serializer>(t: &TransportKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.name())
}

pub(super) fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
