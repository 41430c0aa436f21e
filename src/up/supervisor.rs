//! `up` while the peers run: shows their lines, feeds the page, kills the
//! trader on schedule or when the page asks, and starts peers again.

use std::{collections::BTreeMap, time::Duration};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::{ANNOUNCEMENT, Line, PeerProcess, UpOptions, say, show, sleep_until, until};
use crate::web::{Control, Observation, Outcome, Web};

/// The peers of `up` and what it knows of them.
pub(super) struct Supervisor<'a> {
    options: &'a UpOptions,
    pub(super) running: BTreeMap<u32, PeerProcess>,
    pub(super) tx: UnboundedSender<Line>,
    web: Web,
    colour: bool,
    trader: Option<u32>,
    /// A peer killed on schedule, and when it is started again.
    dead: Option<(u32, tokio::time::Instant)>,
}

impl<'a> Supervisor<'a> {
    pub(super) const fn new(
        options: &'a UpOptions,
        tx: UnboundedSender<Line>,
        web: Web,
        colour: bool,
    ) -> Self {
        Self {
            options,
            running: BTreeMap::new(),
            tx,
            web,
            colour,
            trader: None,
            dead: None,
        }
    }

    /// Starts peer `peer` and says so.
    pub(super) fn start(&mut self, peer: u32) -> std::io::Result<u32> {
        let p = PeerProcess::start(&self.options.command, peer, &self.tx)?;
        let pid = p.pid();
        say(&format!("started peer {peer} (pid {pid})"));
        self.running.insert(peer, p);
        self.web.set_alive(peer, true);
        Ok(pid)
    }

    /// Runs until the duration is over or a signal arrives.
    pub(super) async fn supervise(&mut self, lines: &mut UnboundedReceiver<Line>) {
        let every = self.options.kill_trader_every;
        let kill_at = move || every.map(|e| tokio::time::Instant::now() + e);
        let mut next_kill = kill_at();
        let stopping = until(self.options.duration);
        tokio::pin!(stopping);
        let mut check = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                Some(line) = lines.recv() => self.on_line(&line),
                why = &mut stopping => {
                    say(&format!("stopping every peer: {why}"));
                    break;
                }
                () = sleep_until(next_kill) => {
                    next_kill = kill_at();
                    if let Ok(id) = self.kill_trader() {
                        say(&format!("killed trader {id} (SIGKILL); it comes back in {:?}", self.options.restart_after));
                        self.dead = Some((id, tokio::time::Instant::now() + self.options.restart_after));
                    }
                }
                () = sleep_until(self.dead.map(|(_, at)| at)) => {
                    let (id, _) = self.dead.take().expect("the sleep had a deadline");
                    if let Err(e) = self.start(id) {
                        say(&format!("cannot restart peer {id}: {e}"));
                    }
                }
                (control, reply) = self.web.next_control() => {
                    let _ = reply.send(self.obey(control));
                }
                _ = check.tick() => self.reap(),
            }
        }
    }

    /// A peer's line: an observation for the page, or a line to show.
    fn on_line(&mut self, line: &Line) {
        if let Some((seen, at_ms)) = Observation::from_feed_line(&line.text) {
            if matches!(seen, Observation::Elected { .. }) {
                self.trader = Some(line.peer);
            }
            self.web.observe_from(line.peer, &seen, at_ms);
            return;
        }
        if line.text.contains(ANNOUNCEMENT) {
            self.trader = Some(line.peer);
        }
        show(line, self.colour);
    }

    /// SIGKILLs the trader; returns its id.
    fn kill_trader(&mut self) -> Result<u32, String> {
        let id = self
            .trader
            .take()
            .ok_or("no trader to kill: an election is on")?;
        let mut p = self
            .running
            .remove(&id)
            .ok_or(format!("trader {id} is not running"))?;
        p.kill();
        self.web.set_alive(id, false);
        Ok(id)
    }

    /// Performs one of the page's controls.
    fn obey(&mut self, control: Control) -> Outcome {
        match control {
            Control::KillTrader => {
                let id = self.kill_trader()?;
                say(&format!("killed trader {id} (SIGKILL) from the web page"));
                Ok(format!("SIGKILLed trader {id}"))
            }
            Control::Restart(peer) => {
                if !self.options.peers.contains(&peer) {
                    return Err(format!("there is no peer {peer}"));
                }
                if self.running.contains_key(&peer) {
                    return Err(format!("peer {peer} is running"));
                }
                if self.dead.is_some_and(|(id, _)| id == peer) {
                    self.dead = None;
                }
                let pid = self
                    .start(peer)
                    .map_err(|e| format!("cannot restart peer {peer}: {e}"))?;
                Ok(format!("restarted peer {peer} (pid {pid})"))
            }
            Control::Partition => {
                Err("only the demo (one process, mem transport) can split the market".into())
            }
        }
    }

    /// Forgets the peers that exited, saying so unless `up` killed them.
    fn reap(&mut self) {
        for (id, p) in &mut self.running {
            if p.exited() {
                say(&format!("peer {id} exited on its own"));
                self.web.set_alive(*id, false);
            }
        }
        self.running.retain(|_, p| !p.exited());
    }
}
