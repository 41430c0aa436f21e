//! The bench's own processes: `bazaar` children started as `bazaar up`
//! starts its peers ([`PeerProcess`], with the bench's pid as their parent),
//! their lines read as they come, waited on with a bound, and stopped.
//! Dropping a fleet SIGKILLs whatever still runs, so that no process
//! outlives the experiment, not even one that fails midway.

use std::{
    collections::{BTreeMap, VecDeque},
    time::Duration,
};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::ProcessesError;
use crate::up::{Line, NodeCommand, PeerProcess, stop_all};

/// A bound on every wait, against hangs; never a performance claim.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Lines kept to say what the processes were doing when a wait failed.
const RECENT: usize = 20;

/// Running `bazaar SUBCOMMAND` processes, by id.
pub struct Fleet {
    subcommand: &'static str,
    command: NodeCommand,
    running: BTreeMap<u32, PeerProcess>,
    lines: UnboundedReceiver<Line>,
    tx: UnboundedSender<Line>,
    recent: VecDeque<Line>,
}

impl Fleet {
    /// A fleet of `bazaar SUBCOMMAND` processes with `command`'s program
    /// and arguments, none started yet.
    pub fn new(subcommand: &'static str, command: NodeCommand) -> Self {
        let (tx, lines) = unbounded_channel();
        Self {
            subcommand,
            command,
            running: BTreeMap::new(),
            lines,
            tx,
            recent: VecDeque::new(),
        }
    }

    /// Starts (or restarts) process `id`.
    ///
    /// # Errors
    /// [`ProcessesError::Start`] if it cannot be started.
    pub fn spawn(&mut self, id: u32) -> Result<(), ProcessesError> {
        let process = PeerProcess::start_as(self.subcommand, &self.command, id, &self.tx)
            .map_err(|e| ProcessesError::Start(format!("bazaar {} {id}: {e}", self.subcommand)))?;
        self.running.insert(id, process);
        Ok(())
    }

    /// Hands every line to `done` as it comes until `done` says so, and
    /// returns that line. Fails after [`PATIENCE`], or when a process
    /// exits without `done` being satisfied by what it wrote first.
    ///
    /// # Errors
    /// [`ProcessesError::Wait`] naming `what`, with the last lines read.
    pub async fn watch(
        &mut self,
        what: &str,
        mut done: impl FnMut(&Line) -> bool,
    ) -> Result<Line, ProcessesError> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut check = tokio::time::interval(Duration::from_millis(100));
        loop {
            let next = tokio::select! {
                line = self.lines.recv() => line,
                () = tokio::time::sleep_until(deadline) => None,
                _ = check.tick() => {
                    let exited = self.running.iter_mut().find_map(|(id, p)| p.exited().then_some(*id));
                    if let Some(id) = exited {
                        return self.drain_after_exit(what, id, &mut done).await;
                    }
                    continue;
                }
            };
            let Some(line) = next else {
                return Err(self.failed(what, "not in time"));
            };
            if self.saw(&line, &mut done) {
                return Ok(line);
            }
        }
    }

    /// The end of [`Fleet::watch`] once process `exited` is gone: what it
    /// wrote before exiting may still be in its pipes.
    async fn drain_after_exit(
        &mut self,
        what: &str,
        exited: u32,
        done: &mut impl FnMut(&Line) -> bool,
    ) -> Result<Line, ProcessesError> {
        let until = tokio::time::Instant::now() + Duration::from_millis(300);
        while let Ok(Some(line)) = tokio::time::timeout_at(until, self.lines.recv()).await {
            if self.saw(&line, done) {
                return Ok(line);
            }
        }
        Err(self.failed(what, &format!("process {exited} exited first")))
    }

    fn saw(&mut self, line: &Line, done: &mut impl FnMut(&Line) -> bool) -> bool {
        self.recent.push_back(line.clone());
        if self.recent.len() > RECENT {
            self.recent.pop_front();
        }
        done(line)
    }

    fn failed(&self, what: &str, why: &str) -> ProcessesError {
        let recent: Vec<String> = self
            .recent
            .iter()
            .map(|l| format!("[{}] {}", l.peer, l.text))
            .collect();
        ProcessesError::Wait(format!(
            "{what}: {why}; the last lines:\n{}",
            recent.join("\n")
        ))
    }

    /// SIGKILL process `id`, and reap it.
    pub fn kill(&mut self, id: u32) {
        if let Some(mut p) = self.running.remove(&id) {
            p.kill();
        }
    }

    /// Stops every process (SIGTERM, then SIGKILL after a while), off the
    /// async workers, and waits until they are gone.
    pub async fn stop(mut self) {
        let mut running = std::mem::take(&mut self.running);
        let _ = tokio::task::spawn_blocking(move || stop_all(&mut running)).await;
    }
}
