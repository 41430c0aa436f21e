//! `bazaar audit` and `bazaar ledger`: the books of a data directory.

use std::io::Write as _;

use bazaar_node::store::{audit_report, for_each_ledger_line};

use crate::cli::{DataDirArgs, Failure};

pub(super) fn audit(args: &DataDirArgs) -> Result<(), Failure> {
    let (report, passed) = audit_report(&args.data_dir).map_err(Failure::input)?;
    println!("{report}");
    if passed {
        Ok(())
    } else {
        Err(Failure::run("the audit failed (see above)"))
    }
}

/// Streams the ledger to standard output, however long the history; stops
/// quietly when the reader goes away (`bazaar ledger | head`).
pub(super) fn ledger(args: &DataDirArgs) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = None;
    for_each_ledger_line(&args.data_dir, |line| match writeln!(out, "{line}") {
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
