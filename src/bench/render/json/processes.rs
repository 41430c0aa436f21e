//! The real-processes figures as JSON: `processes.buy_p50_us`,
//! `processes.echo_p50_us`, `processes.failover_ms` (SQLite, the worst
//! kill), `processes.postgres.failover_ms` (null when PostgreSQL did not
//! run), and the whole run under `processes.runs`.

use serde_json::{Value, json};

use crate::{
    bench::{
        analysis::{
            processes::{failover, mean_ms, times_ms, worst_ms},
            ratio,
        },
        experiments::processes::ProcessesResult,
    },
    books::BooksKind,
};

/// The experiment's figures; `null` if it did not run.
pub fn figures(result: Option<&ProcessesResult>) -> Value {
    let Some(p) = result else {
        return Value::Null;
    };
    let sqlite = failover(p, BooksKind::Sqlite);
    let (buy, echo) = (p.buy.measured(), p.echo.measured());
    json!({
        "think_us": p.think_us,
        "buy_p50_us": buy.map(|s| s.p50_us),
        "buy_p99_us": buy.map(|s| s.p99_us),
        "echo_p50_us": echo.map(|s| s.p50_us),
        "echo_p99_us": echo.map(|s| s.p99_us),
        "buy_p50_over_echo": ratio(buy.map(|s| s.p50_us), echo.map(|s| s.p50_us)),
        "failover_ms": sqlite.and_then(worst_ms),
        "failover_mean_ms": sqlite.and_then(mean_ms),
        "failovers_ms": sqlite.map(times_ms),
        "postgres": failover(p, BooksKind::Postgres).map(|pg| json!({
            "failover_ms": worst_ms(pg),
            "failover_mean_ms": mean_ms(pg),
            "failovers_ms": times_ms(pg),
        })),
        "runs": p,
    })
}
