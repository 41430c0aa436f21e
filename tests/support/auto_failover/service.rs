//! One `pg_autoctl` service of a formation, as a process of ours: killed
//! or stopped by its PID, and the System V objects that a SIGKILLed
//! PostgreSQL server and keeper leave behind removed by their ids.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    thread,
    time::{Duration, Instant},
};

/// One `pg_autoctl` service: the monitor or a node.
pub(super) struct Service {
    pub(super) name: String,
    pub(super) pgdata: PathBuf,
    pub(super) port: u16,
    /// `pg_autoctl`, leader of its own process group.
    pub(super) child: Option<Child>,
    /// System V objects a SIGKILLed service left: (semaphores, segments).
    pub(super) leftovers: (Vec<String>, Vec<String>),
}

impl Service {
    /// SIGKILLs this service's process group (pg_autoctl, its services
    /// and its postmaster; the backends, each in a group of its own, exit
    /// when they see the postmaster gone), noting the IPC objects the dead
    /// leave behind; returns the postmaster's PID (0 if none).
    pub(super) fn kill(&mut self, run: &Path) -> u32 {
        let Some(mut child) = self.child.take() else {
            return 0;
        };
        // Read before the kill: pg_autoctl's log semaphore (line 5 of its
        // pid file) and the server's interlock segment (line 7 of
        // postmaster.pid) outlive a SIGKILL.
        let pidfile = run
            .join("pg_autoctl")
            .join(self.pgdata.strip_prefix("/").unwrap_or(&self.pgdata))
            .join("pg_autoctl.pid");
        if let Some(sem) = line(&pidfile, 5) {
            self.leftovers.0.push(sem);
        }
        let postmaster = postmaster(&self.pgdata);
        if let Some((_, shm)) = &postmaster {
            self.leftovers.1.push(shm.clone());
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .output();
        let _ = child.wait();
        postmaster.map_or(0, |(pid, _)| pid)
    }

    /// Stops this service: SIGQUIT to pg_autoctl (an immediate stop of its
    /// server), SIGKILL to the group if it lingers; then removes the IPC
    /// objects of whatever was SIGKILLed.
    pub(super) fn stop(&mut self, run: &Path) {
        let lingers = self.child.as_mut().is_some_and(|child| {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = Command::new("kill")
                    .args(["-QUIT", &child.id().to_string()])
                    .output();
                let deadline = Instant::now() + Duration::from_secs(30);
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(20));
                }
            }
            matches!(child.try_wait(), Ok(None))
        });
        if lingers {
            let pid = self.kill(run);
            wait_gone(pid);
        } else if self.child.take().is_some() {
            // pg_autoctl is gone; a server it left running (its data
            // directory still holds a postmaster.pid) is stopped by PID.
            if let Some((pid, shm)) = postmaster(&self.pgdata) {
                if Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = Command::new("kill")
                        .args(["-QUIT", &pid.to_string()])
                        .output();
                    wait_gone(pid);
                }
                self.leftovers.1.push(shm);
            }
        }
        for sem in &self.leftovers.0 {
            let _ = Command::new("ipcrm").args(["-s", sem]).output();
        }
        for shm in &self.leftovers.1 {
            let _ = Command::new("ipcrm").args(["-m", shm]).output();
        }
    }
}

/// Line `n` (from 1) of `file`, trimmed.
fn line(file: &Path, n: usize) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    Some(text.lines().nth(n - 1)?.trim().to_owned())
}

/// A server's postmaster PID and shared memory id, from the
/// `postmaster.pid` it leaves in its data directory while it runs.
pub(super) fn postmaster(pgdata: &Path) -> Option<(u32, String)> {
    let file = pgdata.join("postmaster.pid");
    let pid = line(&file, 1)?.parse().ok()?;
    let shm = line(&file, 7)?.split_whitespace().nth(1)?.to_owned();
    Some((pid, shm))
}

/// Waits (a bounded while) until process `pid` has exited: gone, or a
/// zombie that nobody here reaps.
pub(super) fn wait_gone(pid: u32) {
    if pid == 0 {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat)
                if !stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z') =>
            {
                thread::sleep(Duration::from_millis(20));
            }
            _ => return,
        }
    }
}
