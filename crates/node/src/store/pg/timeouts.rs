//! The limits of a PostgreSQL session: how long a frozen or cut-off
//! trader may hold the fence's row lock, and how soon a dead server is
//! noticed.

use std::time::Duration;

/// The limits every session of a [`PgStore`](crate::store::PgStore) sets, so that a frozen or
/// cut-off trader cannot hold the fence's row lock for long, and a trader
/// whose server is gone learns it in seconds rather than minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgTimeouts {
    /// How long connecting may take.
    pub connect: Duration,
    /// `statement_timeout`: any one statement (zero: none).
    pub statement: Duration,
    /// `lock_timeout`: how long a statement waits for a lock, such as the
    /// `meta` row another trader holds (zero: forever).
    pub lock: Duration,
    /// `idle_in_transaction_session_timeout`: a session that stays idle
    /// inside a transaction this long (a frozen trader between two
    /// statements of a commit) is ended by the server, and its locks go
    /// with it (zero: never).
    pub idle_in_transaction: Duration,
    /// TCP keepalive, both ends: idle time before the first probe.
    pub keepalive_idle: Duration,
    /// TCP keepalive, both ends: time between probes.
    pub keepalive_interval: Duration,
    /// TCP keepalive, both ends: probes unanswered before the connection
    /// is declared dead.
    pub keepalive_retries: u32,
    /// `tcp_user_timeout`, both ends: how long sent data may stay
    /// unacknowledged before the connection is declared dead.
    pub tcp_user: Duration,
}

impl PgTimeouts {
    /// A trader's session. A commit takes milliseconds, so each limit is
    /// generous for a working trader and short for a dead one: a session
    /// idle mid-transaction for 1 s is ended (freeing the `meta` row well
    /// before a waiting trader's 2 s lock timeout); no statement runs past
    /// 5 s; a peer on either end that stops answering is declared dead
    /// after about 1 + 3 × 1 s of silence, or 5 s of unacknowledged data.
    /// A server that does not answer a connection is given up after 2 s:
    /// with several hosts in the URL, the next is tried then.
    pub const TRADER: Self = Self {
        connect: Duration::from_secs(2),
        statement: Duration::from_secs(5),
        lock: Duration::from_secs(2),
        idle_in_transaction: Duration::from_secs(1),
        keepalive_idle: Duration::from_secs(1),
        keepalive_interval: Duration::from_secs(1),
        keepalive_retries: 3,
        tcp_user: Duration::from_secs(5),
    };

    /// A report's session (`bazaar audit`, `bazaar ledger`): it reads the
    /// whole history in one snapshot and takes no lock a trader waits
    /// for, so its statements and pauses (a reader paging the ledger) are
    /// not limited; dead connections are found as for a trader.
    pub const REPORTS: Self = Self {
        statement: Duration::ZERO,
        lock: Duration::from_secs(10),
        idle_in_transaction: Duration::ZERO,
        ..Self::TRADER
    };

    /// Sets the client's side of these limits on `config`: the connect
    /// timeout, TCP keepalives and user timeout, and the application name
    /// that every bazaar session carries.
    pub fn configure(&self, config: &mut postgres::Config) {
        config
            .connect_timeout(self.connect)
            .keepalives(true)
            .keepalives_idle(self.keepalive_idle)
            .keepalives_interval(self.keepalive_interval)
            .keepalives_retries(self.keepalive_retries)
            .tcp_user_timeout(self.tcp_user)
            .application_name("bazaar");
    }

    /// The `SET` statements of a session on a server of version `version`
    /// (`server_version_num`): what every session of a [`PgStore`](crate::store::PgStore) runs
    /// first, and what a benchmark's floor session runs to compare like
    /// with like.
    pub fn session_sql(&self, version: i64) -> String {
        let ms = |d: Duration| d.as_millis();
        let s = |d: Duration| d.as_secs().max(1);
        let mut sql = format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; \
             SET idle_in_transaction_session_timeout = {}; \
             SET tcp_keepalives_idle = {}; SET tcp_keepalives_interval = {}; \
             SET tcp_keepalives_count = {}; SET tcp_user_timeout = {}; \
             SET application_name = 'bazaar';",
            ms(self.statement),
            ms(self.lock),
            ms(self.idle_in_transaction),
            s(self.keepalive_idle),
            s(self.keepalive_interval),
            self.keepalive_retries,
            ms(self.tcp_user),
        );
        if version >= 140_000 {
            // The server checks that the client is still there while it
            // runs (or waits in) a statement, not only when it next reads.
            sql.push_str(" SET client_connection_check_interval = 1000;");
        }
        sql
    }
}
