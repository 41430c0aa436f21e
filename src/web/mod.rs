//! `--web ADDR`: a live page of the market, served by the binary itself
//! (no CDN, no build step): each peer, the elections with their reasons,
//! the sales as a ticker, the last minute as two small charts, pushed to
//! the browser as Server-Sent Events; `/state` as JSON for scripts; and,
//! with `--web-control`, buttons that kill the trader, restart a peer or
//! split the market.
//!
//! The market never waits for a page: its loop updates a [`MarketView`]
//! under a short lock, and a publisher turns it into one snapshot every
//! [`PUBLISH_EVERY`] for every page at once.

pub mod control;
pub mod observation;
mod server;
pub mod view;
pub mod window;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use bazaar_node::runtime::Report;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

pub use control::{Control, ControlReceiver, Outcome};
pub use observation::Observation;
pub use view::{Controls, MarketView, Snapshot};

/// How often the page gets a snapshot when the market moves: well inside
/// the 200 ms the page may lag.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// A snapshot at least this often even when nothing happens, so that the
/// charts move on through a quiet stretch.
const IDLE_PUBLISH: Duration = Duration::from_secs(1);

/// Where to serve the page and whether its controls work.
#[derive(Debug, Clone, Copy)]
pub struct WebOptions {
    /// The address to bind.
    pub addr: SocketAddr,
    /// Whether the controls act (`--web-control`).
    pub control: bool,
}

/// `--web`'s value: `PORT` (on loopback) or `IP:PORT`.
///
/// # Errors
/// Neither a port nor an address.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        return parse_addr(port);
    }
    text.parse().map_err(|_| {
        format!("{text:?} is neither a port nor an address (try 127.0.0.1:8080 or 8080)")
    })
}

/// The live page of a running market, or nothing (without `--web`): the
/// market's loop calls it either way.
pub struct Web {
    view: Option<Arc<Mutex<MarketView>>>,
    controls: Option<ControlReceiver>,
    tasks: Vec<JoinHandle<()>>,
}

impl Web {
    /// No page: every call does nothing.
    pub const fn off() -> Self {
        Self {
            view: None,
            controls: None,
            tasks: Vec::new(),
        }
    }

    /// Binds `options.addr` and serves `view` there; says where on
    /// standard output.
    ///
    /// # Errors
    /// One line saying why the address cannot be bound.
    pub async fn start(
        options: WebOptions,
        view: MarketView,
        can_partition: bool,
    ) -> Result<Self, String> {
        let listener = TcpListener::bind(options.addr)
            .await
            .map_err(|e| format!("cannot serve the web page on {}: {e}", options.addr))?;
        let addr = listener.local_addr().unwrap_or(options.addr);
        println!("{}", announcement(addr, options.control));
        let controls = Controls {
            on: options.control,
            can_partition,
        };
        let view = Arc::new(Mutex::new(view));
        let (tx, rx) = watch::channel(String::new());
        let publisher = tokio::spawn(publish(Arc::clone(&view), controls, tx));
        let (sender, receiver) = control::channel();
        let shared = server::Shared {
            snapshots: rx,
            controls: options.control.then_some(sender),
        };
        let server = server::serve(listener, shared);
        Ok(Self {
            view: Some(view),
            controls: options.control.then_some(receiver),
            tasks: vec![publisher, server],
        })
    }

    /// [`Self::start`] if there are `options` (`--web` was given), else
    /// [`Self::off`]; `view` is made only when needed.
    ///
    /// # Errors
    /// One line saying why the address cannot be bound.
    pub async fn start_if(
        options: Option<WebOptions>,
        view: impl FnOnce() -> MarketView,
        can_partition: bool,
    ) -> Result<Self, String> {
        match options {
            Some(options) => Self::start(options, view(), can_partition).await,
            None => Ok(Self::off()),
        }
    }

    /// Applies `change` to the view, if there is a page.
    fn with(&self, change: impl FnOnce(&mut MarketView, u64)) {
        if let Some(view) = &self.view {
            let mut view = view.lock().unwrap_or_else(PoisonError::into_inner);
            change(&mut view, unix_ms());
        }
    }

    /// A peer in this process reported something.
    pub fn observe(&self, report: &Report) {
        if self.view.is_some()
            && let Some(seen) = Observation::of(report)
        {
            self.with(|view, ms| view.observe(Instant::now(), ms, report.peer.0, &seen));
        }
    }

    /// A peer in another process reported something, which it saw at
    /// `wall_ms` (Unix).
    pub fn observe_from(&self, peer: u32, seen: &Observation, wall_ms: u64) {
        self.with(|view, _| view.observe(Instant::now(), wall_ms, peer, seen));
    }

    /// The trader the page shows (`None` without a page, or while an
    /// election is on).
    pub fn trader(&self) -> Option<u32> {
        let view = self.view.as_ref()?;
        let view = view.lock().unwrap_or_else(PoisonError::into_inner);
        view.trader().map(|(id, _)| id)
    }

    /// Peer `id` stopped or runs again.
    pub fn set_alive(&self, id: u32, alive: bool) {
        self.with(|view, ms| view.set_alive(id, alive, ms));
    }

    /// The market is split in two, or healed.
    pub fn set_partition(&self, sides: Option<[Vec<u32>; 2]>) {
        self.with(|view, ms| view.set_partition(sides, ms));
    }

    /// The next control a visitor asked for (pending forever without
    /// `--web-control`).
    pub async fn next_control(&mut self) -> control::Request {
        control::next(&mut self.controls).await
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The start-up line: where the page is, who can reach it, and whether its
/// controls act.
fn announcement(addr: SocketAddr, control: bool) -> String {
    let reach = if addr.ip().is_loopback() {
        "loopback only: --web 0.0.0.0:PORT opens it to other hosts"
    } else {
        "reachable from other hosts"
    };
    let controls = if control {
        "controls on: anyone who reaches the page can stop the market"
    } else {
        "controls off (--web-control turns them on)"
    };
    format!("web: the live market at http://{addr}/ ({reach}); {controls}")
}

/// Makes a snapshot whenever the market moved, at most every
/// [`PUBLISH_EVERY`]; the serialising happens once for every page.
async fn publish(view: Arc<Mutex<MarketView>>, controls: Controls, tx: watch::Sender<String>) {
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = Instant::now() - IDLE_PUBLISH;
    loop {
        tick.tick().await;
        let now = Instant::now();
        let snapshot = {
            let mut view = view.lock().unwrap_or_else(PoisonError::into_inner);
            if !view.changed() && now - last < IDLE_PUBLISH {
                continue;
            }
            view.take_snapshot(now, unix_ms(), controls)
        };
        last = now;
        if let Ok(json) = serde_json::to_string(&snapshot) {
            tx.send_replace(json);
        }
    }
}

/// Milliseconds since the Unix epoch: what the page compares its own clock
/// against to know its lag.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_binds_loopback() {
        assert_eq!(parse_addr("8080"), Ok("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(
            parse_addr("localhost:9"),
            Ok("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(parse_addr("0.0.0.0:80"), Ok("0.0.0.0:80".parse().unwrap()));
        assert!(parse_addr("somewhere").is_err());
    }
}
