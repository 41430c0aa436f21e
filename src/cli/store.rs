//! `bazaar audit` and `bazaar ledger`: the books of a data directory or
//! of a PostgreSQL database.

use std::io::Write as _;

use crate::{
    books::Books,
    cli::{BooksArgs, Failure},
};

/// The books the flags name (clap requires exactly one of them).
fn books(args: &BooksArgs) -> Result<Books, Failure> {
    Books::from_flags(
        args.store.as_deref(),
        args.data_dir.clone().unwrap_or_default(),
    )
    .map_err(Failure::input)
}

pub(super) fn audit(args: &BooksArgs) -> Result<(), Failure> {
    let (report, passed) = books(args)?.audit().map_err(Failure::input)?;
    println!("{report}");
    if passed {
        Ok(())
    } else {
        Err(Failure::run("the audit failed (see above)"))
    }
}

/// Streams the ledger to standard output, however long the history; stops
/// quietly when the reader goes away (`bazaar ledger | head`).
pub(super) fn ledger(args: &BooksArgs) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = None;
    books(args)?
        .for_each_ledger_line(|line| match writeln!(out, "{line}") {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        })
        .map_err(Failure::input)?;
    let flushed = out.flush();
    match failed.map_or(flushed, Err) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::run(format!("cannot write the ledger: {e}")))
        }
        _ => Ok(()),
    }
}
