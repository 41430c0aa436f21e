//! `bazaar demo`: a whole market in one process, its lab log lines as they
//! happen, and at the end a table and an audit.

mod controls;
mod tally;

use std::{
    collections::BTreeMap,
    io::IsTerminal,
    time::{Duration, Instant},
};

use bazaar_protocol::PeerId;
use bazaar_transport::TransportError;
use tokio::sync::mpsc;

pub use tally::MarketTally;

use bazaar_node::{
    Event, PeerConfig, ResignPolicy, Role, Timing, audit::Audit, market::LocalMarket,
    net::TransportKind, runtime::Report,
};

use crate::{stats::human, story, web::Web};

/// What `bazaar demo` was asked for.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// How many peers.
    pub peers: u32,
    /// How they reach each other.
    pub transport: TransportKind,
    /// How long the market trades; `None`: until Ctrl-C or SIGTERM.
    pub duration: Option<Duration>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Crash each trader this long after it is elected.
    pub kill_trader_after: Option<Duration>,
    /// When traders resign.
    pub resign: ResignPolicy,
    /// Roles in id order; the last repeats. Empty: buyer, seller, buyer, …
    pub roles: Vec<Role>,
    /// Timeouts and pacing.
    pub timing: Timing,
    /// Print only the report.
    pub quiet: bool,
}

impl DemoOptions {
    /// The role of peer `id` (from 1).
    pub fn role(&self, id: u32) -> Role {
        match self.roles.as_slice() {
            [] if id % 2 == 1 => Role::Buyer,
            [] => Role::Seller,
            roles => roles[(id as usize - 1).min(roles.len() - 1)],
        }
    }

    /// Every peer's configuration.
    pub fn configs(&self) -> Vec<PeerConfig> {
        (1..=self.peers)
            .map(|id| PeerConfig {
                role: self.role(id),
                timing: self.timing,
                resign: self.resign,
                seed: self
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add(u64::from(id)),
                ..PeerConfig::simple(id, self.peers, Role::Both)
            })
            .collect()
    }
}

/// What a demo run produced.
pub struct DemoResult {
    /// Counts from the reports.
    pub tally: MarketTally,
    /// The audit of the books and the live peers.
    pub audit: Audit,
    /// The table and audit, as printed.
    pub report: String,
    /// How long it ran.
    pub elapsed: Duration,
    /// When the highest peer was first elected, and the frames sent by then.
    pub first_election: Option<(Duration, u64)>,
}

/// Runs the demo market and prints as it goes; `web` shows it live (or is
/// [`Web::off`]) and brings the page's controls.
///
/// # Errors
/// A [`TransportError`] if the transports cannot start.
pub async fn run(options: &DemoOptions, web: Web) -> Result<DemoResult, TransportError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let configs = options.configs();
    let roles: BTreeMap<PeerId, Role> = configs.iter().map(|c| (c.id, c.role)).collect();
    let market = LocalMarket::start(options.transport, configs, options.seed, tx).await?;
    let started = market.started();
    let mut demo = Running {
        market,
        web,
        tally: MarketTally::default(),
        kill_at: None,
        highest: PeerId(options.peers),
        first_election: None,
        partitioned: false,
    };
    demo.trade(options, &mut rx).await;
    let Running {
        market,
        mut tally,
        first_election,
        highest,
        ..
    } = demo;
    let outcome = market.stop().await;
    while let Ok(report) = rx.try_recv() {
        tally.observe(started.elapsed(), &report);
        log(&report, options.quiet);
    }
    let audit = match outcome.store.books() {
        Ok(Some(book)) => Audit::run(&book, &outcome.peers),
        _ => Audit::run(&empty_book(), &outcome.peers),
    };
    let elapsed = started.elapsed();
    let election = first_election.map_or_else(
        || format!("peer {highest} was never elected"),
        |(at, frames)| {
            format!(
                "peer {highest} elected {} after start; {frames} frames sent by then",
                human(at)
            )
        },
    );
    let report = format!(
        "{}\n{election}\n{}\n{}",
        summary_line(options, &tally, elapsed),
        tally.table(&outcome.peers, &roles),
        audit
    );
    Ok(DemoResult {
        tally,
        audit,
        report,
        elapsed,
        first_election,
    })
}

/// The demo while it trades: the market, its page, and what it counts.
struct Running {
    market: LocalMarket,
    web: Web,
    tally: MarketTally,
    /// The trader to crash next (`--kill-trader-after`), and when.
    kill_at: Option<(PeerId, tokio::time::Instant)>,
    highest: PeerId,
    first_election: Option<(Duration, u64)>,
    /// Whether the page split the market in two.
    partitioned: bool,
}

impl Running {
    /// Trades until the duration is over (or, with none, until Ctrl-C or
    /// SIGTERM), watching reports, crashing traders and obeying the page.
    async fn trade(&mut self, options: &DemoOptions, rx: &mut mpsc::UnboundedReceiver<Report>) {
        let started = self.market.started();
        let progress = !options.quiet && std::io::stderr().is_terminal();
        let mut ticker = tokio::time::interval(Duration::from_millis(250));
        let stopping = crate::node::watch::stop_reason(options.duration, None);
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                Some(report) = rx.recv() => self.observe(options, &report),
                () = sleep_until(self.kill_at.map(|(_, at)| at)) => {
                    let (id, _) = self.kill_at.take().expect("the sleep had a deadline");
                    if self.market.live().count() >= 2 {
                        self.crash(id).await;
                        tracing::warn!("killed trader {id} (no goodbye)");
                    }
                }
                (control, reply) = self.web.next_control() => {
                    let _ = reply.send(self.obey(control).await);
                }
                _ = ticker.tick(), if progress => show_progress(started, &self.tally),
                _ = &mut stopping => break,
            }
        }
        if progress {
            eprint!("\r\x1b[K");
        }
    }

    fn observe(&mut self, options: &DemoOptions, report: &Report) {
        let at = self.market.started().elapsed();
        self.tally.observe(at, report);
        self.web.observe(report);
        log(report, options.quiet);
        if self.first_election.is_none()
            && matches!(report.event, Event::Coordinator { id, .. } if id == self.highest)
        {
            self.first_election = Some((at, self.market.frames_sent()));
        }
        if let (Some(after), Event::Coordinator { id, .. }) =
            (options.kill_trader_after, &report.event)
        {
            self.kill_at = Some((*id, tokio::time::Instant::now() + after));
        }
    }

    /// Crashes `id` and shows it dead on the page.
    async fn crash(&mut self, id: PeerId) {
        self.market.crash(id).await;
        self.web.set_alive(id.0, false);
    }
}

fn summary_line(options: &DemoOptions, tally: &MarketTally, elapsed: Duration) -> String {
    let all = tally.all_latencies();
    format!(
        "\n{} peers over {} for {}: {} buys answered ({:.0}/s), {} sales, response mean {} p50 {} p99 {} max {}",
        options.peers,
        options.transport,
        human(elapsed),
        tally.answered,
        tally.answered as f64 / elapsed.as_secs_f64().max(1e-9),
        tally.sales,
        human(all.mean()),
        human(all.quantile(0.5)),
        human(all.quantile(0.99)),
        human(all.max()),
    )
}

fn empty_book() -> bazaar_market::Book {
    bazaar_market::Book::new(bazaar_market::Pricing::default()).expect("default prices are valid")
}

/// Logs a report in the words of the node's story: the lab's lines and
/// step-downs at info, the rest quieter. A line is worded only if its level
/// is logged.
pub fn log(report: &Report, quiet: bool) {
    use Event::{Coordinator, DeskClosed, Rejected, Sold, SteppedDown};
    let text = || story::line(report).1;
    match &report.event {
        Coordinator { .. } | Sold(_) | SteppedDown { .. } if !quiet => {
            tracing::info!("{}", text());
        }
        DeskClosed { .. } | Rejected { .. } => tracing::warn!("{}", text()),
        _ => tracing::debug!("{}", text()),
    }
}

fn show_progress(started: Instant, tally: &MarketTally) {
    let trader = tally
        .trader()
        .map_or("none".into(), |(id, e)| format!("{id} (epoch {e})"));
    eprint!(
        "\r\x1b[K[{:>6}] trader {trader} · {} buys answered · {} sales · {} elections",
        human(started.elapsed()),
        tally.answered,
        tally.sales,
        tally.coordinators.len()
    );
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
