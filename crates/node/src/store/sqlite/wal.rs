//! The WAL checkpoint, off the committing thread.
//!
//! SQLite copies the write-ahead log back into the database file (a WAL
//! checkpoint, unrelated to the books' checkpoints) after the commit that
//! grows the log past 1000 pages, on the committing connection: that
//! commit then pays for copying the pages and an fsync of the file. The
//! trader's connection turns that off, and a thread of its own checkpoints
//! in passive mode (never blocking a writer) every [`EVERY`] commits.

use std::{
    path::Path,
    sync::mpsc::{SyncSender, sync_channel},
    thread::{self, JoinHandle},
};

use rusqlite::Connection;

use super::file::connection;

/// Commits between two checkpoints: a few pages each, so the log stays a
/// few hundred pages long and in the page cache.
pub(super) const EVERY: u64 = 64;

/// The checkpointing thread, stopped and joined when dropped.
#[derive(Debug)]
pub(super) struct WalCheckpointer {
    poke: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WalCheckpointer {
    /// Starts the thread with a connection of its own to `path`, and turns
    /// off the automatic checkpoint of `committer`. `None` if either
    /// cannot be done: then `committer` checkpoints as SQLite does by
    /// default.
    pub(super) fn start(path: &Path, committer: &Connection) -> Option<Self> {
        let conn = connection(path, false).ok()?;
        let (poke, pokes) = sync_channel::<()>(1);
        let name = path.display().to_string();
        let thread = thread::Builder::new()
            .name("bazaar-wal".into())
            .spawn(move || {
                while pokes.recv().is_ok() {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!("{name}: WAL checkpoint failed: {e}");
                    }
                }
            })
            .ok()?;
        let checkpointer = Self {
            poke: Some(poke),
            thread: Some(thread),
        };
        committer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .ok()
            .map(|()| checkpointer)
    }

    /// Asks for a checkpoint, unless one is already asked for.
    pub(super) fn poke(&self) {
        if let Some(poke) = &self.poke {
            let _ = poke.try_send(());
        }
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.poke = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
