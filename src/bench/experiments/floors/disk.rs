//! The durable store's floor: one small write and `fdatasync` in the
//! folder the stores use, what any commit that survives a power cut pays.

use std::{
    fs::OpenOptions,
    io::{Seek, SeekFrom, Write},
    path::Path,
    time::{Duration, Instant},
};

use crate::stats::Latencies;

/// The scratch file's name in the folder.
pub const SCRATCH: &str = "fsync-floor.tmp";

/// `rounds` writes of 4 KiB at the start of a scratch file in `dir`, each
/// followed by `fdatasync` and then a pause of `pace` (zero: back to back;
/// a disk that has idled syncs slower, so a paced buy's floor is a paced
/// sync); the file is removed afterwards.
///
/// # Errors
/// The I/O error, if the file cannot be written or synced.
pub fn fsync(dir: &Path, rounds: u32, pace: Duration) -> std::io::Result<Latencies> {
    let path = dir.join(SCRATCH);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let block = [0x5a_u8; 4096];
    let mut latencies = Latencies::default();
    for _ in 0..rounds {
        let started = Instant::now();
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&block)?;
        file.sync_data()?;
        latencies.record(started.elapsed());
        std::thread::sleep(pace);
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(latencies)
}
