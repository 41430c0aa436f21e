//! Proof that a lease's holder is gone, for the SQLite store: the trader
//! of epoch E holds an exclusive lock on `lease-E.lock`, beside
//! `bazaar.db`, for as long as its process lives. The system releases the
//! lock when the process dies, however it dies (SIGKILL included), so a
//! claimant that can take the lock of the lease's epoch knows that nobody
//! trades under it any more and need not wait out the lease.
//!
//! The lock only ever shortens a wait; it never makes a claim unsafe. A
//! claimant that cannot tell (no lock file: a store written before locks
//! existed, or one whose folder refused the file) waits for the lease to
//! run out, as it would without locks. Peers of one process share one
//! store, and so share its locks: there a crashed task's lock stays held
//! and the lease is waited out, as before. The locks are `flock(2)` locks,
//! which are sound on a local disk, as SQLite's own locking needs anyway.

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    path::{Path, PathBuf},
};

use bazaar_protocol::Epoch;

/// The lock of one epoch, held: released when dropped (or when the process
/// ends).
#[derive(Debug)]
pub(super) struct HolderLock(#[allow(dead_code, reason = "held for its lock")] File);

impl HolderLock {
    /// Takes the lock of `epoch` in `dir`, creating its file. `None` if it
    /// cannot: another store claims the same epoch (and one of the two
    /// claims will be fenced), or the folder refuses the file.
    pub(super) fn take(dir: &Path, epoch: Epoch) -> Option<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path(dir, epoch))
            .ok()?;
        file.try_lock().ok()?;
        Some(Self(file))
    }
}

/// Whether the trader of `epoch` is provably gone: its lock file exists and
/// nobody holds the lock. Its file is removed then, since nobody will lock
/// it again.
pub(super) fn is_gone(dir: &Path, epoch: Epoch) -> bool {
    remove_if_free(&path(dir, epoch))
}

/// Removes the lock files of epochs before `epoch`, once a claim of
/// `epoch` has succeeded and nobody needs them; a lock still held (its
/// trader lives, deposed) keeps its file.
pub(super) fn forget_before(dir: &Path, epoch: Epoch) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let older = name
            .to_str()
            .and_then(|n| {
                n.strip_prefix("lease-")?
                    .strip_suffix(".lock")?
                    .parse()
                    .ok()
            })
            .is_some_and(|e: u64| e < epoch.0);
        if older {
            remove_if_free(&entry.path());
        }
    }
}

/// Removes the lock file at `path` if it exists and nobody holds its lock;
/// returns whether it did.
fn remove_if_free(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().write(true).open(path) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = fs::remove_file(path);
            true
        }
        Err(TryLockError::WouldBlock | TryLockError::Error(_)) => false,
    }
}

fn path(dir: &Path, epoch: Epoch) -> PathBuf {
    dir.join(format!("lease-{}.lock", epoch.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bazaar-holder-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_held_lock_proves_nothing_and_a_released_one_proves_the_holder_gone() {
        let dir = scratch("held");
        let held = HolderLock::take(&dir, Epoch(3)).expect("a new epoch's lock is free");
        assert!(!is_gone(&dir, Epoch(3)), "its holder lives");
        assert!(
            HolderLock::take(&dir, Epoch(3)).is_none(),
            "one holder per epoch"
        );
        drop(held);
        assert!(is_gone(&dir, Epoch(3)), "its holder is gone");
        assert!(
            !is_gone(&dir, Epoch(3)),
            "the file went with the proof: later claims wait out the lease"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_epoch_without_a_lock_file_proves_nothing() {
        let dir = scratch("none");
        assert!(!is_gone(&dir, Epoch(1)));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn forgetting_removes_older_free_locks_only() {
        let dir = scratch("forget");
        let held = HolderLock::take(&dir, Epoch(1)).unwrap();
        drop(HolderLock::take(&dir, Epoch(2)).unwrap());
        let newer = HolderLock::take(&dir, Epoch(3)).unwrap();
        drop(HolderLock::take(&dir, Epoch(4)).unwrap());
        forget_before(&dir, Epoch(3));
        assert!(path(&dir, Epoch(1)).exists(), "held: kept");
        assert!(!path(&dir, Epoch(2)).exists(), "older and free: removed");
        assert!(path(&dir, Epoch(3)).exists() && path(&dir, Epoch(4)).exists());
        drop((held, newer));
        let _ = fs::remove_dir_all(&dir);
    }
}
