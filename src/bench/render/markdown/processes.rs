//! The real-processes section of the Markdown report: the buyers' response
//! times against the paced two-process echo, and the failovers per store.

use std::fmt::Write;

use super::ProcessesResult;
use crate::bench::report::{ratio, us};

/// Appends the section to `md`, if the experiment ran.
pub fn section(md: &mut String, result: Option<&ProcessesResult>) {
    let Some(p) = result else { return };
    let think = us(p.think_us as f64);
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
        crate::bench::echo::FRAME,
        p.echo.count,
        p.buy.count,
        us(p.buy.p50_us),
        us(p.buy.p99_us),
        us(p.echo.p50_us),
        us(p.echo.p99_us),
        ratio(p.buy.p50_us, Some(p.echo.p50_us)),
        ratio(p.buy.p99_us, Some(p.echo.p99_us)),
    );
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
        let ms = |v: Option<f64>| v.map_or_else(|| "–".into(), |v| format!("{v:.0} ms"));
        let elected = (!run.kills.is_empty())
            .then(|| run.kills.iter().map(|k| k.elected_ms).sum::<f64>() / run.kills.len() as f64);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            run.store,
            run.kills.len(),
            ms(elected),
            ms(run.mean_ms()),
            ms(run.worst_ms()),
            run.buy.count,
            us(run.buy.p50_us),
            us(run.buy.p99_us),
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
    md.push('\n');
}
