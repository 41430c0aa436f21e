//! The WAL checkpoint, mostly off the committing thread, and a log that
//! starts over.
//!
//! SQLite copies the write-ahead log back into the database file (a WAL
//! checkpoint, unrelated to the books' checkpoints) after the commit that
//! grows the log past 1000 pages, on the committing connection: that
//! commit then pays for copying the pages and an fsync of the file. The
//! trader's connection turns that off, and a thread of its own checkpoints
//! in passive mode (never blocking a writer) every [`EVERY`] commits.
//!
//! A passive checkpoint under steady commits never finishes (frames keep
//! coming), and SQLite starts the log over only after one has: the log
//! would grow for ever, and each commit's fsync would then extend the file
//! (about 1.7× the fsync of an overwrite here, docs/STORE.md). So every
//! [`RESTART_EVERY`] commits the committer checkpoints itself: the thread
//! has copied nearly everything, the rest is a few pages and one fsync of
//! the database file, and the next commit writes the log from its start,
//! over blocks the file already has.
//!
//! Until the log has once grown to its steady length, its commits would
//! still extend it; so before the first commit the trader writes the log
//! file out to [`LOG_BYTES`] with zeros, under the write lock, past
//! whatever frames it holds. SQLite reads a log's frames only up to the
//! first one whose checksum fails, which a zeroed frame does, so the zeros
//! are never mistaken for frames.

use std::{
    path::Path,
    sync::mpsc::{SyncSender, sync_channel},
    thread::{self, JoinHandle},
};

use rusqlite::Connection;

use super::file::connection;

/// Commits between two checkpoints by the thread.
pub(super) const EVERY: u64 = 128;

/// Commits between two checkpoints by the committer, after which the log
/// starts over: a few pages a commit, so the log stays a few megabytes
/// long and in the page cache.
pub(super) const RESTART_EVERY: u64 = 512;

/// The length the log is written out to before the first commit: about
/// [`RESTART_EVERY`] commits of a few pages each.
const LOG_BYTES: u64 = 8 << 20;

/// Writes the log file of the database at `path` out to [`LOG_BYTES`]
/// with zeros past its end, holding SQLite's write lock (`conn` is the
/// committer's connection) so that no frame is being written meanwhile.
/// Best effort: a log that cannot be extended only costs some speed.
pub(super) fn write_out_log(path: &Path, conn: &Connection) {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    let extended = conn.execute_batch("BEGIN IMMEDIATE").map(|()| {
        let written = extend_with_zeros(Path::new(&log), LOG_BYTES);
        let _ = conn.execute_batch("COMMIT");
        written
    });
    if let Ok(Err(e)) = extended {
        tracing::debug!("{}: the log was not written out: {e}", path.display());
    }
}

/// Appends zeros to the file at `path` up to `len` bytes, durably.
fn extend_with_zeros(path: &Path, len: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    let end = file.seek(SeekFrom::End(0))?;
    if end >= len {
        return Ok(());
    }
    let zeros = vec![0_u8; 1 << 20];
    let mut at = end;
    while at < len {
        let n = usize::try_from((len - at).min(zeros.len() as u64)).unwrap_or(zeros.len());
        file.write_all(&zeros[..n])?;
        at += n as u64;
    }
    file.sync_data()
}

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
