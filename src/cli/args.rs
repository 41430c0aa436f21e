//! The command line: every subcommand and flag, parsed by clap.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use clap::{
    Args, Parser, Subcommand,
    builder::{PossibleValuesParser, TypedValueParser as _},
};

use bazaar_node::{Role, net::TransportKind};

/// A peer-to-peer trading post: a bully-elected trader, Lamport clocks, and
/// books that survive the trader's crash.
#[derive(Debug, Parser)]
#[command(name = "bazaar", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole market in one process and audit it at the end.
    Demo(DemoArgs),
    /// Write a cluster file and the TLS material for quic.
    Init(InitArgs),
    /// Run one peer as its own process.
    Node(NodeArgs),
    /// The lab's parent program: run every peer of a cluster as its own
    /// process, merge their logs, and report at the end.
    Up(UpArgs),
    /// One line per peer of a cluster: reachable, role, trader, epoch,
    /// requests answered, p50.
    Status(StatusArgs),
    /// Run seeded deterministic simulations with faults and check every invariant.
    Sim(SimArgs),
    /// Check the invariants on the stored books.
    Audit(BooksArgs),
    /// Print the stored ledger, one sale a line.
    Ledger(BooksArgs),
    /// Run the experiments and write a report with plots.
    Bench(BenchArgs),
    /// A fixed market in one process and on one thread (mem transport,
    /// books in memory) for exactly N answered buys, then exit. It exists
    /// to be run under `valgrind --tool=callgrind`, whose instruction
    /// count it keeps free of timing: `bazaar bench --only instructions`
    /// runs it so at N and 2N buys.
    #[command(hide = true)]
    CountBuys(CountBuysArgs),
    /// One side of `bazaar bench`'s two-process echo floor. Hidden: it is
    /// of no use on its own; the bench starts two of them so that its floor
    /// crosses a process boundary over tcp as the buys of `bazaar node`
    /// processes do, in processes started and paced the same way.
    #[command(hide = true)]
    Echo(EchoArgs),
}

/// `bazaar demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many peers.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub peers: u32,
    /// How peers reach each other.
    #[arg(long, default_value_t = TransportKind::Mem, value_parser = transport_kind())]
    pub transport: TransportKind,
    /// How long the market trades (e.g. 10s, 500ms, 2m). Default: 10s, or
    /// with --web until Ctrl-C, so that the page can be watched.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Seed for every random choice of buyers and sellers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Crash the trader abruptly this long after it is elected (repeats for
    /// each new trader while at least two peers are left).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub kill_trader_after: Option<Duration>,
    /// The trader resigns after this long in office.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub resign_every: Option<Duration>,
    /// The trader resigns after this many sales.
    #[arg(long)]
    pub resign_after_sales: Option<u64>,
    /// Each peer's role in id order, comma-separated (buyer, seller, both,
    /// idle); the last one repeats. Default: alternately buyer and seller,
    /// so that both sides of the market are there.
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<Role>,
    /// How long buyers and sellers think between requests.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub think: Option<Duration>,
    /// Print only the final report, not every trade.
    #[arg(long, short)]
    pub quiet: bool,
    /// Serve a live page of the market at http://ADDR/ (PORT alone binds
    /// loopback, 127.0.0.1:PORT; give 0.0.0.0:PORT to open it to other
    /// hosts). The same state is at /state as JSON.
    #[arg(long, value_name = "ADDR", value_parser = crate::web::parse_addr)]
    pub web: Option<SocketAddr>,
    /// Turn on the page's controls (kill the trader, restart a peer, split
    /// the market): anyone who reaches the page can then stop the market.
    #[arg(long, requires = "web")]
    pub web_control: bool,
}

/// `bazaar init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// How many peers.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub peers: u32,
    /// The folder to write `cluster.toml` and `tls/` into.
    #[arg(long)]
    pub out: PathBuf,
    /// The address every peer listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The first peer's port; peer i listens on base-port + i - 1.
    #[arg(long, default_value_t = 7100)]
    pub base_port: u16,
    /// Keep the books in this PostgreSQL database, which every peer's
    /// host reaches (written as `store` in the cluster file; default:
    /// SQLite in each host's data directory).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Overwrite an existing cluster file.
    #[arg(long)]
    pub force: bool,
}

/// `bazaar node`.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// The cluster file written by `bazaar init`.
    #[arg(long)]
    pub cluster: PathBuf,
    /// This peer's id in the cluster file.
    #[arg(long)]
    pub id: u32,
    /// How peers reach each other. tcp runs under mutual TLS whenever
    /// `tls/` beside the cluster file holds the cluster's CA (as `bazaar
    /// init` writes it); quic always does.
    #[arg(long, default_value_t = TransportKind::Tcp, value_parser = between_processes())]
    pub transport: TransportKind,
    /// tcp without TLS even though the cluster has TLS material: anyone who
    /// can reach the port can then claim to be any peer. For loopback labs.
    #[arg(long)]
    pub insecure_plaintext: bool,
    /// Where this peer keeps its last incarnation and its summary, and the
    /// books unless they are in PostgreSQL (default: `data/` beside the
    /// cluster file).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep the books in this PostgreSQL database
    /// (postgres://user:password@host:port/database) instead of SQLite in
    /// the data directory (default: the cluster file's `store`, if any).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Seed for this peer's random choices (default: its id).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The trader resigns after this long in office.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub resign_every: Option<Duration>,
    /// Stop after this long (default: run until SIGTERM or Ctrl-C).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Log only the lab's lines (the trader's sales and announcements),
    /// problems and the summary, not the peer's own story.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write the summary as JSON here at exit (default:
    /// `peer-N.summary.json` in the data directory).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Serve Prometheus metrics on http://ADDR/metrics (default: the
    /// peer's `metrics` address in the cluster file, if any).
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Stop when the process with this id is no longer this one's parent
    /// (`bazaar up` passes its own, so that no peer outlives it).
    #[arg(long)]
    pub parent_pid: Option<u32>,
    /// Also write what `bazaar up --web` shows, one `@web` line of JSON per
    /// event, on standard output (`up --web` passes it).
    #[arg(long, hide = true)]
    pub web_feed: bool,
}

/// `bazaar up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// The cluster file to run.
    #[arg(long)]
    pub cluster: Option<PathBuf>,
    /// Write a cluster of N peers first (into --out), as `bazaar init` does.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub peers: Option<u32>,
    /// With --peers: the folder for `cluster.toml`, `tls/` and `data/`.
    #[arg(long, default_value = "lab")]
    pub out: PathBuf,
    /// With --peers: the address every peer listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// With --peers: the first peer's port (metrics on the ports after the peers').
    #[arg(long, default_value_t = 7100)]
    pub base_port: u16,
    /// How peers reach each other.
    #[arg(long, default_value_t = TransportKind::Tcp, value_parser = between_processes())]
    pub transport: TransportKind,
    /// Where the books live (default: `data/` beside the cluster file).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep the books in this PostgreSQL database, passed to every peer
    /// and audited at the end (default: the cluster file's `store`, if
    /// any; with --peers, written into the new cluster file).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Stop every peer after this long (default: on Ctrl-C or SIGTERM).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// SIGKILL the current trader this often, and start it again after
    /// --restart-after.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub kill_trader_every: Option<Duration>,
    /// How long a killed trader stays down.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub restart_after: Duration,
    /// Peers log only the lab's lines, problems and their summaries.
    #[arg(long, short)]
    pub quiet: bool,
    /// Serve a live page of the market at http://ADDR/ (PORT alone binds
    /// loopback, 127.0.0.1:PORT; give 0.0.0.0:PORT to open it to other
    /// hosts). The same state is at /state as JSON.
    #[arg(long, value_name = "ADDR", value_parser = crate::web::parse_addr)]
    pub web: Option<SocketAddr>,
    /// Turn on the page's controls (kill the trader, restart a peer):
    /// anyone who reaches the page can then stop the market.
    #[arg(long, requires = "web")]
    pub web_control: bool,
}

/// `bazaar status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The cluster file; each peer's metrics address in it is asked.
    #[arg(long)]
    pub cluster: PathBuf,
    /// How long to wait for each peer before calling it unreachable.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `bazaar bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// A short run (about a minute): fewer requests, fewer sizes.
    #[arg(long)]
    pub quick: bool,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The folder for report.md and the SVG plots.
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// Seed for every random choice of buyers and sellers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run only these experiments (comma-separated; the floors always
    /// run): latency, load, history, remote, instructions, processes.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<Experiment>,
    /// Also measure the books in this PostgreSQL database, beside SQLite
    /// (commit latency, durable buys/s). The bench empties it: it drops
    /// the bazaar's tables there before each experiment.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Run the latency and load experiments over these transports only
    /// (comma-separated; the floors always run over every transport).
    #[arg(long, value_delimiter = ',', value_parser = transport_kind())]
    pub transports: Vec<TransportKind>,
}

/// `bazaar count-buys`.
#[derive(Debug, Clone, Args)]
pub struct CountBuysArgs {
    /// Answered buys to run for, all buyers together.
    pub buys: u64,
    /// Buyers, with no think time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub buyers: u32,
    /// Sellers; the highest of them is the trader.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub sellers: u32,
    /// Seed for every random choice of buyers and sellers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `bazaar echo` (hidden): one side of the bench's two-process echo.
#[derive(Debug, Clone, Args)]
pub struct EchoArgs {
    /// A cluster file of two peers: where each side listens.
    #[arg(long)]
    pub cluster: PathBuf,
    /// This side: 2 sends every frame back until stopped; 1 sends them.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2))]
    pub id: u32,
    /// Side 1: round trips to time, after a warm-up.
    #[arg(long, default_value_t = 1_000)]
    pub round_trips: u32,
    /// Side 1: the pause after each reply, as a buyer thinks.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub think: Duration,
    /// Stop when the process with this id is no longer this one's parent.
    #[arg(long)]
    pub parent_pid: Option<u32>,
}

/// One kind of experiment of `bazaar bench`, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Experiment {
    /// Response times of sequential buyers in each circumstance.
    Latency,
    /// Throughput under load.
    Load,
    /// Opening the books against the length of history.
    History,
    /// Local against remote: hosts in network namespaces (root).
    Remote,
    /// Instructions per buy in one process, counted by callgrind
    /// (valgrind).
    Instructions,
    /// Six `bazaar node` processes on loopback: buys against a paced
    /// two-process echo, and failover after a SIGKILL of the trader.
    Processes,
}

/// `bazaar sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// How many seeded runs.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// The first seed; runs use seed, seed + 1, …
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Peers per run.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub peers: u32,
    /// Simulated time with faults on, per run.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub faulty: Duration,
    /// Simulated time after the faults stop, by the end of which the market
    /// must have recovered.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub settle: Duration,
    /// Every seed with the one fixed fault profile, instead of swarm
    /// testing (the default: each seed draws its own rates of loss,
    /// duplication, delay, commit delay and faults, from none to extreme).
    #[arg(long)]
    pub fixed_faults: bool,
    /// How many seeds run at once (threads); the output is the same as
    /// a serial run's.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// Plant a bug on purpose, to see the simulator catch it.
    #[arg(long, value_enum)]
    pub plant: Option<PlantArg>,
}

/// A bug to plant, for `bazaar sim --plant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlantArg {
    /// The store takes commits from any epoch.
    IgnoreFencing,
    /// Replies leave before the batch is durable.
    ReplyBeforeCommit,
    /// Retried buys get fresh request ids.
    SkipRetryDedup,
    /// The store's checkpoints forget the last batch before them.
    CheckpointDropsBatch,
    /// A commit whose outcome is unknown is taken for a success.
    UnknownOutcomeIsSuccess,
    /// The store's leases never run out.
    LeaseNeverExpires,
    /// A load reads the books before the store fences the claim.
    BooksReadBeforeFence,
    /// A store answer reaches the peer under another call's id.
    AnswersCrossed,
    /// The durable store's commit lands whatever its epoch.
    CommitUnfenced,
}

/// `bazaar audit` and `bazaar ledger`: where the books are.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct BooksArgs {
    /// The data directory holding `bazaar.db` (SQLite).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL database holding the books
    /// (postgres://user:password@host:port/database).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// `--transport` for a market in one process: the names listed in `--help`.
fn transport_kind() -> impl clap::builder::TypedValueParser<Value = TransportKind> {
    PossibleValuesParser::new(TransportKind::ALL.map(TransportKind::name))
        .map(|name| name.parse().expect("clap passes only the listed names"))
}

/// `--transport` for a peer in a process of its own.
fn between_processes() -> impl clap::builder::TypedValueParser<Value = TransportKind> {
    PossibleValuesParser::new(TransportKind::BETWEEN_PROCESSES.map(TransportKind::name))
        .map(|name| name.parse().expect("clap passes only the listed names"))
}
