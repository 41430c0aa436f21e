//! The two sizes of the bench, `--quick` and the full run, as two values
//! of one table, and the plan each gives: every experiment is the same in
//! both, only these numbers differ.

use std::time::Duration;

use bazaar_node::net::TransportKind;

use super::{
    CountingMarket, InstructionsPlan, Plan, ProcessesPlan, THINK, TRANSPORTS,
    scenarios::{Disruption, Group, LatencyScenario, LoadScenario},
};
use crate::books::BooksKind;

/// What tells the quick plan from the full one.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Whether this is the `--quick` scale.
    pub quick: bool,
    /// Requests per buyer in the latency experiments.
    pub requests: u64,
    /// How long one latency experiment may take before it is cut short.
    pub latency_limit: Duration,
    /// The market sizes of "more peers" (half of each buy).
    pub peers: &'static [u32],
    /// Round trips per hot echo floor.
    pub echo_round_trips: u32,
    /// Round trips per paced echo floor.
    pub paced_round_trips: u32,
    /// The load curve's steps, in closed-loop buyers.
    pub load_buyers: &'static [u32],
    /// Each load step's warm-up before counting.
    pub load_warmup: Duration,
    /// Each load step's counted window.
    pub load_window: Duration,
    /// Each request/reply floor's counted window.
    pub capacity_window: Duration,
    /// The lengths of history, in sales.
    pub history: &'static [u64],
    /// How long the remote market trades at each delay before the kill.
    pub remote_trade: Duration,
    /// How long the real processes trade before their buys are taken.
    pub processes_trade: Duration,
    /// Round trips of the two-process echo.
    pub processes_echo_round_trips: u32,
    /// Commits timed per durable store.
    pub commits: u32,
    /// N of the instruction count (it also counts 2N).
    pub counted_buys: u64,
}

impl Scale {
    /// `--quick`: about a minute of experiments.
    pub const QUICK: Self = Self {
        quick: true,
        requests: 200,
        latency_limit: Duration::from_secs(20),
        peers: &[6, 24, 96],
        echo_round_trips: 2_000,
        paced_round_trips: 500,
        load_buyers: &[1, 4, 16, 64],
        load_warmup: Duration::from_millis(300),
        load_window: Duration::from_millis(600),
        capacity_window: Duration::from_millis(400),
        history: &[10_000, 100_000],
        remote_trade: Duration::from_secs(2),
        processes_trade: Duration::from_secs(2),
        processes_echo_round_trips: 1_000,
        commits: 500,
        counted_buys: 2_000,
    };

    /// The full run.
    pub const FULL: Self = Self {
        quick: false,
        requests: 1_000,
        latency_limit: Duration::from_secs(90),
        peers: &[6, 12, 24, 48, 96],
        echo_round_trips: 20_000,
        paced_round_trips: 3_000,
        load_buyers: &[1, 2, 4, 8, 16, 32, 64, 128],
        load_warmup: Duration::from_millis(500),
        load_window: Duration::from_secs(2),
        capacity_window: Duration::from_secs(1),
        history: &[10_000, 100_000, 1_000_000, 10_000_000],
        remote_trade: Duration::from_secs(5),
        processes_trade: Duration::from_secs(5),
        processes_echo_round_trips: 4_000,
        commits: 2_000,
        counted_buys: 5_000,
    };
}

/// The delays each way of the remote experiment, in microseconds: none,
/// a LAN's, a WAN's.
const REMOTE_DELAYS_US: [u64; 3] = [0, 500, 5_000];

/// SIGKILLs of the trader per store in the real-processes experiment.
const PROCESS_KILLS: u32 = 3;

impl Plan {
    /// Every experiment, sized by `scale`.
    pub fn at(scale: &Scale) -> Self {
        Self {
            quick: scale.quick,
            echo_round_trips: scale.echo_round_trips,
            paced_round_trips: scale.paced_round_trips,
            latency: latency(scale),
            latency_limit: scale.latency_limit,
            load: load(scale),
            capacity_window: scale.capacity_window,
            history: scale.history.to_vec(),
            remote: REMOTE_DELAYS_US.to_vec(),
            remote_trade: scale.remote_trade,
            processes: Some(ProcessesPlan {
                trade: scale.processes_trade,
                echo_round_trips: scale.processes_echo_round_trips,
                kills: PROCESS_KILLS,
                bazaar: None,
            }),
            commits: scale.commits,
            postgres: false,
            instructions: Some(InstructionsPlan {
                // The throughput experiments' market, so that the figure
                // sits beside their buys per second.
                market: CountingMarket {
                    buyers: 16,
                    sellers: 3,
                },
                buys: scale.counted_buys,
                repeats: 3,
            }),
        }
    }
}

/// The latency experiments, grouped as the report shows them.
fn latency(scale: &Scale) -> Vec<LatencyScenario> {
    let tcp = TransportKind::Tcp;
    // Six peers over tcp, half of them buying, sequentially, from a
    // stocked store in memory, the trader left alone: what each
    // experiment changes, it says.
    let six = LatencyScenario {
        name: String::new(),
        group: Group::Transports,
        transport: tcp,
        store: BooksKind::Mem,
        peers: 6,
        buyers: 3,
        stocked: true,
        think: THINK,
        requests: scale.requests,
        disruption: Disruption::None,
    };
    let mut latency = Vec::new();
    for transport in TRANSPORTS {
        latency.push(LatencyScenario {
            name: format!("6 peers, {transport}"),
            transport,
            ..six.clone()
        });
    }
    for transport in TRANSPORTS {
        latency.push(LatencyScenario {
            name: format!("6 peers, {transport}, sqlite"),
            group: Group::Durable,
            transport,
            store: BooksKind::Sqlite,
            ..six.clone()
        });
    }
    for &peers in scale.peers {
        latency.push(LatencyScenario {
            name: format!("{peers} peers, tcp"),
            group: Group::Peers,
            peers,
            buyers: peers / 2,
            ..six.clone()
        });
    }
    for buyers in [1, 4, 6] {
        latency.push(LatencyScenario {
            name: format!("{buyers}:{} buyers:sellers, tcp, unstocked", 7 - buyers),
            group: Group::Ratios,
            peers: 8,
            buyers,
            stocked: false,
            ..six.clone()
        });
    }
    let every = scale.requests * 3 / 4;
    for (name, disruption) in [
        (
            format!("trader killed every {every} requests, tcp"),
            Disruption::Kill { every },
        ),
        (
            format!("trader resigns every {every} sales, tcp"),
            Disruption::Resign { every },
        ),
    ] {
        latency.push(LatencyScenario {
            name,
            group: Group::Elections,
            disruption,
            ..six.clone()
        });
    }
    latency
}

/// The load curve: each step of buyers over each transport, the books in
/// memory, then in SQLite.
fn load(scale: &Scale) -> Vec<LoadScenario> {
    let mut load = Vec::new();
    for store in [BooksKind::Mem, BooksKind::Sqlite] {
        for t in TRANSPORTS {
            load.extend(scale.load_buyers.iter().map(|&buyers| LoadScenario {
                name: format!("{buyers} buyers, {t}, store {}", store.name()),
                transport: t,
                store,
                buyers,
                sellers: 3,
                warmup: scale.load_warmup,
                window: scale.load_window,
            }));
        }
    }
    load
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(plan: &Plan) -> Vec<String> {
        plan.latency.iter().map(|l| l.name.clone()).collect()
    }

    #[test]
    fn quick_and_full_run_the_same_experiments_sized_apart() {
        let (quick, full) = (Plan::new(true), Plan::new(false));
        assert!(quick.quick && !full.quick);
        let groups = |plan: &Plan| -> Vec<Group> {
            let mut groups: Vec<Group> = plan.latency.iter().map(|l| l.group).collect();
            groups.dedup();
            groups
        };
        assert_eq!(groups(&quick), groups(&full));
        assert_eq!(
            quick.latency.len() + 2,
            full.latency.len(),
            "two more sizes of peers"
        );
        assert_eq!(
            quick.load.len() * 2,
            full.load.len(),
            "twice the steps of buyers"
        );
        assert!(quick.latency.iter().all(|l| l.requests == 200));
        assert!(full.latency.iter().all(|l| l.requests == 1_000));
    }

    #[test]
    fn the_quick_plan_names_its_experiments_as_the_report_shows_them() {
        let quick = Plan::new(true);
        assert_eq!(
            names(&quick),
            [
                "6 peers, mem",
                "6 peers, tcp",
                "6 peers, quic",
                "6 peers, tcp+tls",
                "6 peers, mem, sqlite",
                "6 peers, tcp, sqlite",
                "6 peers, quic, sqlite",
                "6 peers, tcp+tls, sqlite",
                "6 peers, tcp",
                "24 peers, tcp",
                "96 peers, tcp",
                "1:6 buyers:sellers, tcp, unstocked",
                "4:3 buyers:sellers, tcp, unstocked",
                "6:1 buyers:sellers, tcp, unstocked",
                "trader killed every 150 requests, tcp",
                "trader resigns every 150 sales, tcp",
            ]
        );
        assert_eq!(
            quick.load.first().map(|l| l.name.as_str()),
            Some("1 buyers, mem, store mem")
        );
        assert_eq!(
            quick.load.len(),
            2 * TRANSPORTS.len() * Scale::QUICK.load_buyers.len()
        );
    }

    #[test]
    fn postgres_adds_the_tcp_curve_with_its_books_there() {
        let plan = Plan::new(true).with_postgres();
        let postgres: Vec<&str> = plan
            .load
            .iter()
            .filter(|l| l.store == BooksKind::Postgres)
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(postgres.first(), Some(&"1 buyers, tcp, store postgres"));
        assert_eq!(postgres.len(), Scale::QUICK.load_buyers.len());
        assert_eq!(
            plan.commit_stores(),
            [BooksKind::Sqlite, BooksKind::Postgres]
        );
    }
}
