//! A peer's last incarnation on disk, so that a peer run as its own
//! process starts each time with a new [`Incarnation`]. The count is kept
//! in `peer-N.incarnation`. Data directories written before it had that
//! name hold `peer-N.lives`: the count there is continued, and the old file
//! removed once the new one is durable.

use std::{
    fs::{self, File},
    io::{self, Write as _},
    path::{Path, PathBuf},
};

use bazaar_protocol::PeerId;

use crate::peer::Incarnation;

/// Why an incarnation could not begin.
#[derive(Debug, thiserror::Error)]
pub enum IncarnationError {
    /// The file holds something other than a count.
    #[error("{path}: not an incarnation count ({detail}): delete it to start over")]
    Garbled {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// The count cannot be read or made durable.
    #[error("cannot keep the incarnation count in {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The peer has started 2^32 times.
    #[error("{path}: peer has used every incarnation")]
    Exhausted {
        /// The file.
        path: PathBuf,
    },
}

/// The file that keeps the last incarnation of peer `id` in `dir`.
pub fn incarnation_file(dir: &Path, id: PeerId) -> PathBuf {
    dir.join(format!("peer-{}.incarnation", id.0))
}

/// The name [`incarnation_file`] had before, read when the new one is
/// missing.
fn earlier_incarnation_file(dir: &Path, id: PeerId) -> PathBuf {
    dir.join(format!("peer-{}.lives", id.0))
}

/// Begins a new incarnation of peer `id`: returns it, one past the last
/// one recorded in `dir/peer-N.incarnation` (or in the file's earlier
/// name, `peer-N.lives`; or [`Incarnation::FIRST`] if there is none), after
/// recording it durably. The number is written to a
/// temporary file, flushed to disk, renamed over the old one and the folder
/// flushed, so that a crash at any point leaves the old number or the new
/// one, never a torn file, and no incarnation begins that a power cut
/// could make the next one repeat.
///
/// # Errors
/// A [`IncarnationError`] naming the file.
pub fn begin_incarnation(dir: &Path, id: PeerId) -> Result<Incarnation, IncarnationError> {
    let path = incarnation_file(dir, id);
    let earlier = earlier_incarnation_file(dir, id);
    let this = match read_last(&path)? {
        Some(last) => next_after(last, &path)?,
        None => match read_last(&earlier)? {
            Some(last) => next_after(last, &earlier)?,
            None => Incarnation::FIRST,
        },
    };
    let io_error = |source| IncarnationError::Io {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_error)?;
    let tmp = path.with_extension("incarnation.tmp");
    let write = || -> io::Result<()> {
        let mut file = File::create(&tmp)?;
        writeln!(file, "{this}")?;
        file.sync_all()?;
        fs::rename(&tmp, &path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(io_error)?;
    match fs::remove_file(&earlier) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(IncarnationError::Io {
            path: earlier,
            source: e,
        }),
        _ => Ok(this),
    }
}

/// The last incarnation recorded in `path`, or `None` if there is no such
/// file.
fn read_last(path: &Path) -> Result<Option<Incarnation>, IncarnationError> {
    match fs::read_to_string(path) {
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .map(|last| Some(Incarnation(last)))
            .map_err(|e| IncarnationError::Garbled {
                path: path.to_owned(),
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IncarnationError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The incarnation after `last`, which `path` recorded.
fn next_after(last: Incarnation, path: &Path) -> Result<Incarnation, IncarnationError> {
    last.next().ok_or_else(|| IncarnationError::Exhausted {
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("bazaar-incarnations-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn each_incarnation_is_larger_than_the_last() {
        let dir = scratch("count");
        let incarnations: Vec<Incarnation> = (0..3)
            .map(|_| begin_incarnation(&dir, PeerId(4)).unwrap())
            .collect();
        assert_eq!(
            incarnations,
            [Incarnation(0), Incarnation(1), Incarnation(2)]
        );
        assert_eq!(
            begin_incarnation(&dir, PeerId(5)).unwrap(),
            Incarnation::FIRST
        );
        assert_eq!(
            fs::read_to_string(incarnation_file(&dir, PeerId(4))).unwrap(),
            "2\n"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A file written before incarnations were counted from zero holds the
    /// last one used, so the next incarnation still comes after it.
    #[test]
    fn an_existing_count_is_continued() {
        let dir = scratch("old");
        fs::create_dir_all(&dir).unwrap();
        fs::write(incarnation_file(&dir, PeerId(1)), "7\n").unwrap();
        assert_eq!(begin_incarnation(&dir, PeerId(1)).unwrap(), Incarnation(8));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A data directory written when the file was `peer-N.lives` carries on
    /// counting from it, and is left with the new name alone.
    #[test]
    fn a_count_under_the_earlier_name_is_continued_and_moved() {
        let dir = scratch("earlier");
        fs::create_dir_all(&dir).unwrap();
        let earlier = dir.join("peer-2.lives");
        fs::write(&earlier, "4\n").unwrap();
        assert_eq!(begin_incarnation(&dir, PeerId(2)).unwrap(), Incarnation(5));
        assert!(!earlier.exists(), "the earlier file is removed");
        assert_eq!(
            fs::read_to_string(incarnation_file(&dir, PeerId(2))).unwrap(),
            "5\n"
        );
        assert_eq!(begin_incarnation(&dir, PeerId(2)).unwrap(), Incarnation(6));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_garbled_or_exhausted_count_names_the_file() {
        let dir = scratch("bad");
        fs::create_dir_all(&dir).unwrap();
        fs::write(incarnation_file(&dir, PeerId(1)), "many\n").unwrap();
        let err = begin_incarnation(&dir, PeerId(1)).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{}: not an incarnation count",
                incarnation_file(&dir, PeerId(1)).display()
            )),
            "{err}"
        );
        fs::write(incarnation_file(&dir, PeerId(1)), format!("{}\n", u32::MAX)).unwrap();
        assert!(matches!(
            begin_incarnation(&dir, PeerId(1)),
            Err(IncarnationError::Exhausted { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
