//! The real-processes figures as JSON: `processes.buy_p50_us`,
//! `processes.echo_p50_us`, `processes.failover_ms` (SQLite, the worst
//! kill), `processes.postgres.failover_ms` (null when PostgreSQL did not
//! run), and the whole run under `processes.runs`.

use serde_json::{Value, json};

use super::{FailoverRun, ProcessesResult};

/// The experiment's figures; `null` if it did not run.
pub fn figures(result: Option<&ProcessesResult>) -> Value {
    let Some(p) = result else {
        return Value::Null;
    };
    let sqlite = p.failover("sqlite");
    json!({
        "think_us": p.think_us,
        "buy_p50_us": p.buy.p50_us,
        "buy_p99_us": p.buy.p99_us,
        "echo_p50_us": p.echo.p50_us,
        "echo_p99_us": p.echo.p99_us,
        "buy_p50_over_echo": p.buy.p50_us / p.echo.p50_us,
        "failover_ms": sqlite.and_then(FailoverRun::worst_ms),
        "failover_mean_ms": sqlite.and_then(FailoverRun::mean_ms),
        "failovers_ms": sqlite.map(FailoverRun::times_ms),
        "postgres": p.failover("postgres").map(|pg| json!({
            "failover_ms": pg.worst_ms(),
            "failover_mean_ms": pg.mean_ms(),
            "failovers_ms": pg.times_ms(),
        })),
        "runs": p,
    })
}
