//! The report's title and the run's circumstances.

use std::fmt::Write;

use super::cells::MISSING;
use crate::bench::{experiments::BenchResults, plan::THINK};

/// The title, the machine, and how every latency experiment runs.
pub fn section(md: &mut String, r: &BenchResults) {
    let plan = &r.plan;
    let cores =
        std::thread::available_parallelism().map_or_else(|_| MISSING.to_owned(), |n| n.to_string());
    let requests = plan
        .latency
        .first()
        .map_or_else(|| MISSING.to_owned(), |s| s.requests.to_string());
    let _ = writeln!(
        md,
        "# bazaar bench{}\n",
        if plan.quick { " --quick" } else { "" }
    );
    let _ = writeln!(
        md,
        "{cores} cores, load average at the start {}; the whole run took {:.0} s. \
         Every market runs in this one process on one multi-thread tokio runtime \
         (one worker per core), beside the echo floors. Latency experiments: \
         buyers are peers 1..b, sellers the rest, the highest id the first trader; \
         each buyer makes {requests} sequential requests with {} µs of think time; the \
         store starts with a big deposit of every product (\"stocked\") unless \
         said otherwise. A response time runs from the buyer's first send of a \
         request to its reply, retries included, as the buyer's peer measures it.\n",
        r.load_average.as_deref().unwrap_or("unknown"),
        r.elapsed_s,
        THINK.as_micros(),
    );
}
