//! The Markdown report: tables of every experiment, each latency also as a
//! ratio to its transport's echo floor, the plots, and the targets.

use std::fmt::Write;

use super::{
    floor_us,
    json::{KNEE_P99_US, capacity_floor, curve, durable_load, killed, knee, measured, six_peers},
    plot::Plots,
    results::{BenchResults, LatencyResult, Summary},
    scenarios::{Disruption, Group, StoreKind, TRANSPORTS},
};
use bazaar_node::net::TransportKind;

/// The report for `results`, linking the `plots` drawn beside it.
pub fn markdown(results: &BenchResults, plots: &Plots) -> String {
    let mut md = String::new();
    header(&mut md, results);
    floors(&mut md, results);
    transports(&mut md, results);
    peers(&mut md, results, plots);
    ratios(&mut md, results);
    elections(&mut md, results, plots);
    load(&mut md, results, plots);
    stores(&mut md, results);
    history(&mut md, results, plots);
    remote(&mut md, results, plots);
    instructions(&mut md, results);
    super::processes::report::section(&mut md, results.processes.as_ref());
    super::targets::section(&mut md, results);
    md
}

fn remote(md: &mut String, r: &BenchResults, plots: &Plots) {
    if r.remote.is_empty() {
        if let Some(why) = &r.remote_skipped {
            let _ = writeln!(md, "## Local against remote\n\nSkipped: {why}.\n");
        }
        return;
    }
    let _ = writeln!(
        md,
        "## Local against remote\n\nSix `bazaar node` processes on six network-namespace \
         hosts (tcp, books in SQLite), every host's outgoing packets delayed by `tc netem`: a \
         round trip between two hosts takes twice the delay more. Buyers 1 and 3 over the \
         whole run (one failover included); failover from the SIGKILL of trader 6 to peer 5's \
         first sale.\n\n| delay each way | buys | mean | p50 | p99 | failover |\n|---:|---:|---:|---:|---:|---:|"
    );
    for x in &r.remote {
        let failover = x
            .failover_ms
            .map_or_else(|| "did not come".into(), |ms| format!("{ms:.0} ms"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {failover} |",
            us(x.delay_us as f64),
            x.buy.count,
            us(x.buy.mean_us),
            us(x.buy.p50_us),
            us(x.buy.p99_us)
        );
    }
    if let Some(why) = &r.remote_skipped {
        let _ = writeln!(md, "\nNot measured: {why}.");
    }
    if let Some(svg) = &plots.remote {
        let _ = writeln!(md, "\n![response time against delay]({svg})");
    }
    md.push('\n');
}

fn instructions(md: &mut String, r: &BenchResults) {
    let Some(i) = &r.instructions else {
        if let Some(why) = &r.instructions_skipped {
            let _ = writeln!(md, "## Instructions per buy\n\nSkipped: {why}.\n");
        }
        return;
    };
    let (n, market) = (i.plan.buys, i.plan.market);
    let _ = writeln!(
        md,
        "## Instructions per buy\n\n`bazaar count-buys` under `valgrind --tool=callgrind`: \
         {} buyers with no think time and {} sellers over mem, books in memory, on one \
         thread, until N and then 2N buys are answered; (2N count − N count) / N is one \
         buy's cost, start-up and shutdown cancelled. Free of timing noise: compare it \
         across changes.\n\n| N | instructions at N | at 2N | per buy | spread of {} \
         repeats |\n|---:|---:|---:|---:|---:|\n| {n} | {} | {} | **{:.0}** | {:.1} ({:.4} %) |\n\n\
         The last profile at 2N: `callgrind_annotate {}`.\n",
        market.buyers,
        market.sellers,
        i.runs_n.len(),
        i.instructions_n,
        i.instructions_2n,
        i.per_buy,
        i.spread * i.per_buy,
        i.spread * 100.0,
        i.profile.display(),
    );
}

fn stores(md: &mut String, r: &BenchResults) {
    if r.commits.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Durable stores\n\nThe same batches (a restocking deposit and {} one-unit buys \
         each) committed back to back to each durable store, only `commit` timed: SQLite \
         in the output folder, PostgreSQL in the database of `--postgres`. \"floor \
         commit\" is PostgreSQL's floor, as many rounds right after on the same server: a \
         single-row `INSERT` into a scratch table (`bench_floor`, dropped after) in its own \
         transaction, in a session with the store's settings; SQLite's floor is the \
         disk's, \"{}\" above. \"durable buys/s\" is the throughput experiment with \
         the books in that store (its highest point, tcp).\n\n| store | commits | commit \
         mean | p50 | p99 | max | floor commit p50 | p99 | commit p50 ÷ floor | buys/s by \
         commits alone | durable buys/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        super::commits::BUYS_PER_BATCH,
        super::FSYNC,
    );
    for c in &r.commits {
        let kind = if c.store == "postgres" {
            StoreKind::Postgres
        } else {
            StoreKind::Sqlite
        };
        let floor = c.floor.as_ref().and_then(measured);
        let load = durable_load(r, kind);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {:.0} | {} |",
            c.store,
            c.commit.count,
            summary_cells(&c.commit),
            floor.map_or_else(|| "–".into(), |f| us(f.p50_us)),
            floor.map_or_else(|| "–".into(), |f| us(f.p99_us)),
            of(Some(c.commit.p50_us), floor.map(|f| f.p50_us)),
            c.buys_per_s,
            load.map_or_else(|| "–".into(), |l| format!("{:.0}", l.buys_per_s)),
        );
    }
    md.push('\n');
}

fn history(md: &mut String, r: &BenchResults, plots: &Plots) {
    if r.history.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## History\n\nStores of growing histories written through the SQLite store in \
         batches of 5,000 one-unit sales (16 buyers, 8 sellers), then opened as a new \
         trader opens them at a failover: fence the epoch, load the newest checkpoint, \
         replay the batches after it. \"connect\" is a peer's process starting (its \
         integrity check reads the whole file up to 64 MiB). \"live state\" is the book \
         the trader holds, encoded.\n\n| sales | batches | file | write | connect | \
         open the books | live state |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    for h in &r.history {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} MB | {:.1} s | {:.1} ms | {:.2} ms | {} bytes |",
            h.sales,
            h.batches,
            h.file_bytes as f64 / 1e6,
            h.build_s,
            h.connect_ms,
            h.open_ms,
            h.book_bytes
        );
    }
    if let Some(svg) = &plots.history {
        let _ = writeln!(md, "\n![open time and live state against history]({svg})");
    }
    md.push('\n');
}

fn header(md: &mut String, r: &BenchResults) {
    let plan = &r.plan;
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
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
         each buyer makes {} sequential requests with {} µs of think time; the \
         store starts with a big deposit of every product (\"stocked\") unless \
         said otherwise. A response time runs from the buyer's first send of a \
         request to its reply, retries included, as the buyer's peer measures it.\n",
        r.load_average.as_deref().unwrap_or("unknown"),
        r.elapsed_s,
        plan.latency.first().map_or(0, |s| s.requests),
        super::THINK.as_micros(),
    );
}

pub(super) fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} ms", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0} µs")
    } else {
        format!("{v:.1} µs")
    }
}

pub(super) fn ratio(v: f64, floor: Option<f64>) -> String {
    of(Some(v), floor)
}

/// `v ÷ floor`, or `–` if either was not measured (never a 0 for a
/// missing figure).
fn of(v: Option<f64>, floor: Option<f64>) -> String {
    v.zip(floor)
        .map_or_else(|| "–".into(), |(v, f)| format!("{:.1}×", v / f))
}

fn summary_cells(s: &Summary) -> String {
    format!(
        "{} | {} | {} | {}",
        us(s.mean_us),
        us(s.p50_us),
        us(s.p99_us),
        us(s.max_us)
    )
}

fn floors(md: &mut String, r: &BenchResults) {
    let _ = writeln!(
        md,
        "## Floors\n\nA {}-byte echo: peer 1 sends, peer 2 sends it back, through the \
         `Transport` trait; \"raw tcp\" is two tokio sockets with nothing between. Hot: \
         {} round trips back to back after a warm-up. Paced: {} round trips, each after \
         the buyers' think time ({} µs) slept on the same runtime, so that both ends wake \
         from idle as a buyer and its trader do; every response time below is divided by \
         its transport's paced p50. \"{}\" is one 4 KiB write and `fdatasync` in the \
         output folder ({} rounds): what a durable commit pays at least.\n\n\
         | floor | mean | p50 | p99 | max | paced p50 | paced p99 |\n\
         |---|---:|---:|---:|---:|---:|---:|",
        super::echo::FRAME,
        r.plan.echo_round_trips,
        r.plan.paced_round_trips,
        super::THINK.as_micros(),
        super::FSYNC,
        r.plan.echo_round_trips / 20,
    );
    for e in &r.echo {
        let (p50, p99) = e.paced.map_or(("–".into(), "–".into()), |p| {
            (us(p.p50_us), us(p.p99_us))
        });
        let _ = writeln!(
            md,
            "| {} | {} | {p50} | {p99} |",
            e.name,
            summary_cells(&e.round_trip)
        );
    }
    md.push('\n');
}

fn latency_row(md: &mut String, label: &str, l: &LatencyResult, floor: Option<f64>) {
    let filled = 100.0 * l.filled as f64 / (l.latency.count.max(1) as f64);
    let _ = writeln!(
        md,
        "| {label} | {} | {} | {} | {filled:.0}% | {}{} |",
        summary_cells(&l.latency),
        ratio(l.latency.p50_us, floor),
        ratio(l.latency.p99_us, floor),
        l.latency.count,
        if l.complete { "" } else { " (cut short)" },
    );
}

/// The head of a latency table whose first column is `label`.
fn latency_head(label: &str) -> String {
    format!(
        "| {label} | mean | p50 | p99 | max | p50 ÷ floor | p99 ÷ floor | filled | buys |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
}

fn transports(md: &mut String, r: &BenchResults) {
    let _ = writeln!(
        md,
        "## Six peers over each transport\n\n3 buyers, 3 sellers. Store off: books in \
         memory; store on: SQLite, one transaction (WAL, synchronous=FULL) per batch \
         before its replies leave.\n\n{}",
        latency_head("transport, store")
    );
    for store in [StoreKind::Mem, StoreKind::Sqlite] {
        for kind in TRANSPORTS {
            if let Some(l) = six_peers(r, kind, store) {
                let label = format!("{kind}, {}", on_off(store));
                latency_row(md, &label, l, floor_us(r, kind));
            }
        }
    }
    md.push('\n');
}

const fn on_off(store: StoreKind) -> &'static str {
    match store {
        StoreKind::Mem => "store off",
        StoreKind::Sqlite => "store on",
        StoreKind::Postgres => "store on (postgres)",
    }
}

fn peers(md: &mut String, r: &BenchResults, plots: &Plots) {
    let _ = writeln!(
        md,
        "## More peers (tcp, store off)\n\nHalf the peers buy, half sell.\n\n{}",
        latency_head("peers")
    );
    let floor = floor_us(r, TransportKind::Tcp);
    for l in r
        .latency
        .iter()
        .filter(|l| l.scenario.group == Group::Peers)
    {
        latency_row(md, &l.scenario.peers.to_string(), l, floor);
    }
    if let Some(svg) = &plots.peers {
        let _ = writeln!(md, "\n![latency against peers]({svg})");
    }
    md.push('\n');
}

fn ratios(md: &mut String, r: &BenchResults) {
    let rows: Vec<&LatencyResult> = r
        .latency
        .iter()
        .filter(|l| l.scenario.group == Group::Ratios)
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Buyers against sellers (tcp, 8 peers, unstocked)\n\nThe trader (peer 8) \
         is a seller that pauses while it trades; the others split as shown. No \
         initial deposit: buyers get only what sellers have offered, one lot of 1–10 \
         units at a time each.\n\n{}",
        latency_head("buyers:sellers")
    );
    let floor = floor_us(r, TransportKind::Tcp);
    for l in rows {
        let label = format!(
            "{}:{}",
            l.scenario.buyers,
            l.scenario.peers - l.scenario.buyers - 1
        );
        latency_row(md, &label, l, floor);
    }
    md.push('\n');
}

fn elections(md: &mut String, r: &BenchResults, plots: &Plots) {
    let rows: Vec<&LatencyResult> = r
        .latency
        .iter()
        .filter(|l| l.scenario.group == Group::Elections)
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Re-elections (tcp, 6 peers, store off, default timeouts)\n\n\
         *Killed*: the trader's task is aborted and its transport dropped with no \
         goodbye; once its successor has answered a buyer it is brought back, and \
         as the highest id it takes over again (*returned*). *Resigned*: the trader \
         steps down after K sales. Each election's time runs from the death (or \
         resignation, or return) to the new trader's announcement, and to the first \
         reply a buyer gets from it: the failover time.\n\n{}",
        latency_head("experiment")
    );
    for l in &rows {
        latency_row(md, &l.scenario.name, l, floor_us(r, TransportKind::Tcp));
    }
    let _ = writeln!(
        md,
        "\n| experiment | cause | trader | at | elected after | first reply after |\n|---|---|---|---:|---:|---:|"
    );
    for l in &rows {
        for e in &l.elections {
            let _ = writeln!(
                md,
                "| {} | {} | {} → {} | {:.2} s | {:.1} ms | {:.1} ms |",
                short(l),
                e.cause,
                e.old,
                e.new,
                e.at_s,
                e.elected_ms,
                e.first_reply_ms
            );
        }
    }
    let kills: Vec<f64> = killed(r).map(|e| e.first_reply_ms).collect();
    if !kills.is_empty() {
        let worst = kills.iter().copied().fold(0.0, f64::max);
        let mean = kills.iter().sum::<f64>() / kills.len() as f64;
        let _ = writeln!(
            md,
            "\nFailover after a kill: mean {mean:.1} ms, worst {worst:.1} ms over {} kills.",
            kills.len()
        );
    }
    for (svg, what) in [(&plots.killed, "killed"), (&plots.resigned, "resigning")] {
        if let Some(svg) = svg {
            let _ = writeln!(md, "\n![latency over time, trader {what}]({svg})");
        }
    }
    md.push('\n');
}

fn short(l: &LatencyResult) -> &'static str {
    match l.scenario.disruption {
        Disruption::Kill { .. } => "killed",
        Disruption::Resign { .. } => "resigning",
        Disruption::None => "none",
    }
}

fn load(md: &mut String, r: &BenchResults, plots: &Plots) {
    let Some(first) = r.load.first() else { return };
    let s = &first.scenario;
    let _ = writeln!(
        md,
        "## Load curve\n\nMore and more buyers with no think time, each with one request \
         out at a time (closed loop), against {} sellers (the highest the trader), stocked; \
         buys counted for {:.1} s after {:.1} s of warm-up at each step. The knee is the \
         highest throughput whose p99 stays under {}. Beside it, in the same run, the \
         request/reply floor: as many clients as buyers, each on its own connection with one \
         32-byte frame out at a time, against one echo peer serving them all from one task \
         through the `Transport` trait (as the trader serves its buyers), counted for {:.1} s; \
         and the same over raw tokio tcp with one echo task per connection.\n\n\
         | transport | knee, store off | at buyers | floor, same connections | knee ÷ floor \
         | raw tcp floor | knee, store on | ÷ store-off knee |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|",
        s.sellers,
        s.window.as_secs_f64(),
        s.warmup.as_secs_f64(),
        us(KNEE_P99_US),
        r.plan.capacity_window.as_secs_f64(),
    );
    let per_s = |v: Option<f64>| v.map_or_else(|| "–".into(), |v| format!("{v:.0}/s"));
    for kind in TRANSPORTS {
        if curve(r, kind, StoreKind::Mem).next().is_none() {
            continue;
        }
        let off = knee(r, kind, StoreKind::Mem);
        let on = knee(r, kind, StoreKind::Sqlite);
        let at = off.map(|k| k.scenario.buyers);
        let floor = at.and_then(|n| capacity_floor(r, kind.name(), n));
        let raw = at.and_then(|n| capacity_floor(r, "raw tcp", n));
        let _ = writeln!(
            md,
            "| {kind} | {} | {} | {} | {} | {} | {} | {} |",
            per_s(off.map(|k| k.buys_per_s)),
            at.map_or_else(|| "–".into(), |n| n.to_string()),
            per_s(floor),
            of(off.map(|k| k.buys_per_s), floor),
            per_s(raw),
            per_s(on.map(|k| k.buys_per_s)),
            of(on.map(|k| k.buys_per_s), off.map(|k| k.buys_per_s)),
        );
    }
    let _ = writeln!(
        md,
        "\nEvery point. \"buys per commit\" is how many requests a batch serves on average.\n\n\
         | transport, store | buyers | buys/s | p50 | p99 | floor | buys ÷ floor | frames per buy \
         | buys per commit |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for l in &r.load {
        if !l.settled {
            let _ = writeln!(
                md,
                "| {}, {} | {} | did not settle: some buyer was never answered within 30 s \
                 (every peer connecting to every other, and electing) | | | | | | |",
                l.scenario.transport,
                on_off(l.scenario.store),
                l.scenario.buyers,
            );
            continue;
        }
        let floor = capacity_floor(r, l.scenario.transport.name(), l.scenario.buyers);
        let _ = writeln!(
            md,
            "| {}, {} | {} | {:.0} | {} | {} | {} | {} | {:.2} | {:.1} |",
            l.scenario.transport,
            on_off(l.scenario.store),
            l.scenario.buyers,
            l.buys_per_s,
            us(l.latency.p50_us),
            us(l.latency.p99_us),
            per_s(floor),
            ratio(l.buys_per_s, floor),
            l.frames_per_buy,
            l.buys_per_s / l.commits_per_s.max(1e-9),
        );
    }
    if let Some(svg) = &plots.throughput {
        let _ = writeln!(md, "\n![load curve per transport]({svg})");
    }
    md.push('\n');
}
