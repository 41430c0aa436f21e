//! `bazaar audit` and `bazaar ledger`: the books of a data directory.

use bazaar_node::store::{audit_report, ledger_lines};

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

pub(super) fn ledger(args: &DataDirArgs) -> Result<(), Failure> {
    for line in ledger_lines(&args.data_dir).map_err(Failure::input)? {
        println!("{line}");
    }
    Ok(())
}
