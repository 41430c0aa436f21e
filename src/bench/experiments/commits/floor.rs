//! The PostgreSQL store's floor: what one durable transaction costs on the
//! same server, in a session with the store's own settings, with nothing
//! of the books in it. A single-row `INSERT` in its own transaction (one
//! round trip, one WAL flush) into a real table, so that the commit the
//! store makes per batch can be given as a ratio to it.

use std::time::Instant;

use bazaar_node::store::PgTimeouts;
use postgres::{Client, NoTls};

use crate::{bench::experiments::Summary, stats::Latencies};

/// The scratch table: a real one, since a `TEMP` table skips the WAL and
/// so the very flush the floor is about. Dropped at the end.
const TABLE: &str = "bench_floor";

/// Times `rounds` single-row `INSERT`s into [`TABLE`], each in its own
/// transaction (autocommit), on the database of `url`, in a session
/// configured as a trader's store session is.
///
/// # Errors
/// The client's error, if the server cannot be reached or a statement
/// fails.
pub fn measure(url: &str, rounds: u32) -> Result<Summary, postgres::Error> {
    let mut client = session(url)?;
    client.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (id bigint PRIMARY KEY, at bigint); \
         TRUNCATE {TABLE}"
    ))?;
    let insert = client.prepare(&format!("INSERT INTO {TABLE} (id, at) VALUES ($1, $2)"))?;
    let mut latencies = Latencies::default();
    let started = Instant::now();
    for id in 1..=i64::from(rounds) {
        let at = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
        let sent = Instant::now();
        client.execute(&insert, &[&id, &at])?;
        latencies.record(sent.elapsed());
    }
    client.batch_execute(&format!("DROP TABLE {TABLE}"))?;
    Ok(Summary::from(&latencies))
}

/// A session as [`PgStore`](bazaar_node::store::PgStore) opens one for a
/// trader: the same client options and the same `SET`s, for this server's
/// version.
fn session(url: &str) -> Result<Client, postgres::Error> {
    let timeouts = PgTimeouts::TRADER;
    let mut config: postgres::Config = url.parse()?;
    timeouts.configure(&mut config);
    let mut client = config.connect(NoTls)?;
    let version: i64 = client
        .query_one("SELECT current_setting('server_version_num')::bigint", &[])?
        .try_get(0)?;
    client.batch_execute(&timeouts.session_sql(version))?;
    Ok(client)
}
