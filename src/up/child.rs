//! One peer process of `bazaar up`: started with the parent's pid so that
//! it stops when the parent dies, its output read line by line, stopped
//! with SIGTERM (or SIGKILL, when it must die without a goodbye).

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use tokio::sync::mpsc::UnboundedSender;

/// A line one peer wrote, on its standard output or error.
#[derive(Debug, Clone)]
pub struct Line {
    /// The peer.
    pub peer: u32,
    /// The line, without its end.
    pub text: String,
}

/// What `bazaar up` passes to every `bazaar node`.
#[derive(Debug, Clone)]
pub struct NodeCommand {
    /// The `bazaar` binary.
    pub program: std::path::PathBuf,
    /// Arguments before `--id`: the cluster file, the transport, `-q`…
    pub args: Vec<String>,
}

/// A running peer process.
pub struct PeerProcess {
    /// Its id.
    pub peer: u32,
    child: Child,
}

impl PeerProcess {
    /// Starts peer `peer`, sending each line it writes to `lines`.
    ///
    /// # Errors
    /// The process cannot be started.
    pub fn start(
        command: &NodeCommand,
        peer: u32,
        lines: &UnboundedSender<Line>,
    ) -> std::io::Result<Self> {
        Self::start_as("node", command, peer, lines)
    }

    /// Starts peer `peer` as `bazaar SUBCOMMAND` (`node`, or the bench's
    /// `echo`), with the same arguments, parent and pipes as a node.
    ///
    /// # Errors
    /// The process cannot be started.
    pub fn start_as(
        subcommand: &str,
        command: &NodeCommand,
        peer: u32,
        lines: &UnboundedSender<Line>,
    ) -> std::io::Result<Self> {
        let mut cmd = Command::new(&command.program);
        cmd.arg(subcommand)
            .args(&command.args)
            .args(["--id", &peer.to_string()])
            .args(["--parent-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            // Its own process group: a Ctrl-C at the terminal reaches
            // `bazaar up` alone, which then stops every peer in order and
            // collects their summaries.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd.spawn()?;
        if let Some(out) = child.stdout.take() {
            pump(peer, out, lines.clone());
        }
        if let Some(err) = child.stderr.take() {
            pump(peer, err, lines.clone());
        }
        Ok(Self { peer, child })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited (and is reaped).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks it to stop (SIGTERM), so that it prints and writes its summary.
    pub fn terminate(&self) {
        #[cfg(unix)]
        {
            use nix::{sys::signal, unistd::Pid};
            if let Ok(pid) = i32::try_from(self.child.id()) {
                let _ = signal::kill(Pid::from_raw(pid), signal::Signal::SIGTERM);
            }
        }
    }

    /// Waits until it exits; SIGKILLs it after `patience`. Returns whether
    /// it exited of its own accord.
    pub fn wait(&mut self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if self.exited() {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }
}

/// A handle dropped while its process runs (a caller that fails or panics
/// midway) SIGKILLs it: no peer outlives its handle.
impl Drop for PeerProcess {
    fn drop(&mut self) {
        if !self.exited() {
            self.kill();
        }
    }
}

/// Sends every line of `from` to `lines`, from a thread of its own.
fn pump(peer: u32, from: impl Read + Send + 'static, lines: UnboundedSender<Line>) {
    thread::spawn(move || {
        for text in BufReader::new(from).lines().map_while(Result::ok) {
            if lines.send(Line { peer, text }).is_err() {
                break;
            }
        }
    });
}

/// Removes the summaries an earlier run left, so that the table shows this
/// run's.
pub fn forget_summaries(data_dir: &Path, peers: &[u32]) {
    for &peer in peers {
        let _ = std::fs::remove_file(crate::node::summary::NodeSummary::default_path(
            data_dir, peer,
        ));
    }
}
