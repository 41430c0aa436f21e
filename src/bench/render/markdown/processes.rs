//! The real-processes section of the Markdown report: the buyers' response
//! times against the paced two-process echo, and the failovers per store.

use std::fmt::Write;

use super::cells::{ms, times, us, us_or_missing};
use crate::bench::{
    analysis::{
        processes::{mean_elected_ms, mean_ms, worst_ms},
        ratio,
    },
    experiments::{floors::echo::FRAME, processes::ProcessesResult},
};

/// Appends the section to `md`, if the experiment ran.
pub fn section(md: &mut String, result: Option<&ProcessesResult>) {
    let Some(p) = result else { return };
    buys(md, p);
    failovers(md, p);
    md.push('\n');
}

/// The buys against the two-process echo.
fn buys(md: &mut String, p: &ProcessesResult) {
    let think = us(p.think_us as f64);
    let (buy, echo) = (p.buy.measured(), p.echo.measured());
    let p50 = (buy.map(|s| s.p50_us), echo.map(|s| s.p50_us));
    let p99 = (buy.map(|s| s.p99_us), echo.map(|s| s.p99_us));
    let _ = writeln!(
        md,
        "## Real processes\n\nSix `bazaar node` processes on loopback, as `bazaar up` \
         starts them: buyers 1–3, sellers 4–6 (6 the first trader), plaintext tcp, \
         buyers thinking {think} between requests. Buys: the three buyers' summaries, \
         a market with no kill, books in SQLite. Echo: a {}-byte frame there and back \
         between two `bazaar echo` processes over the same tcp transport, {} round \
         trips, the sender thinking {think} after each reply as the buyers do.\n\n\
         | buys | buy p50 | buy p99 | echo p50 | echo p99 | p50 ÷ echo | p99 ÷ echo |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {} | {} | {} | {} |\n",
        FRAME,
        p.echo.count,
        p.buy.count,
        us_or_missing(p50.0),
        us_or_missing(p99.0),
        us_or_missing(p50.1),
        us_or_missing(p99.1),
        times(ratio(p50.0, p50.1)),
        times(ratio(p99.0, p99.1)),
    );
}

/// Each store's failovers, and why any stopped early.
fn failovers(md: &mut String, p: &ProcessesResult) {
    let _ = writeln!(
        md,
        "Failover: SIGKILL of the trader's process (6), then, by the peers' own log \
         lines (to the millisecond), the next trader's announcement (made once it \
         holds the books: the dead trader's lease is void as soon as its process is gone) and the first reply a \
         buyer logs from it; 6 is started again after each and takes over \
         before the next kill. The buys here are the buyers' whole runs, failovers \
         and returns included.\n\n\
         | books | kills | announced after (mean) | failover mean | failover worst | buys | buy p50 | buy p99 |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for run in &p.failovers {
        let buy = run.buy.measured();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            run.store,
            run.kills.len(),
            ms(mean_elected_ms(run)),
            ms(mean_ms(run)),
            ms(worst_ms(run)),
            run.buy.count,
            us_or_missing(buy.map(|s| s.p50_us)),
            us_or_missing(buy.map(|s| s.p99_us)),
        );
    }
    for run in &p.failovers {
        if let Some(why) = &run.gave_up {
            let _ = writeln!(
                md,
                "\nThe kills with the books in {} stopped early: {why}",
                run.store
            );
        }
    }
}
