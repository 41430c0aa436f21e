//! Failover between processes: SIGKILL the trader's process, then time,
//! by the peers' own log lines, the next trader's announcement and the
//! first reply a buyer gets from it; bring the killed peer back, let it
//! take over again, and repeat.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::{
    ProcessesError,
    market::{BUYERS, FIRST_TRADER, Market},
};
use crate::up::{ANNOUNCEMENT, Line};

/// How long the market trades before the first kill, and between the
/// killed trader's return and the next kill.
const SETTLE: Duration = Duration::from_millis(300);

/// One kill of the trader, timed from the SIGKILL.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Failover {
    /// The peer that took over.
    pub trader: u32,
    /// Until it announced itself, in milliseconds: a new trader announces
    /// itself once it holds the books.
    pub elected_ms: f64,
    /// Until a buyer logged its first reply from it, in milliseconds: the
    /// failover time.
    pub first_reply_ms: f64,
}

/// Kills the trader `kills` times, bringing it back after each failover
/// but the last. Returns the failovers timed, and why the rounds stopped
/// early if they did.
pub async fn repeat(market: &mut Market, kills: u32) -> (Vec<Failover>, Option<String>) {
    let mut failovers = Vec::new();
    // A trader in office, as after each return: killed within milliseconds
    // of the cluster's start, while the peers' own start-up elections are
    // still settling, its successor waited for the heartbeat timeout
    // (about 250 ms) in one run of five.
    tokio::time::sleep(SETTLE).await;
    for round in 0..kills {
        let last = round + 1 == kills;
        match once(market, !last).await {
            Ok(failover) => failovers.push(failover),
            Err(e) => return (failovers, Some(e.to_string())),
        }
    }
    (failovers, None)
}

/// One kill of the trader; then, if `bring_back`, its return.
async fn once(market: &mut Market, bring_back: bool) -> Result<Failover, ProcessesError> {
    let killed = chrono::Local::now().naive_local();
    market.fleet.kill(FIRST_TRADER);
    // Lines from different processes may arrive out of order: keep every
    // buyer's reply logged after the kill until the announcement says
    // which of them the new trader can have sent (those logged after it).
    let mut elected: Option<(u32, NaiveDateTime)> = None;
    let mut replies: Vec<NaiveDateTime> = Vec::new();
    market
        .fleet
        .watch("a buyer's first reply from the next trader", |line| {
            let Some(at) = logged_at(&line.text).filter(|&at| at >= killed) else {
                return false;
            };
            if line.text.contains(ANNOUNCEMENT) && elected.is_none() {
                elected = Some((line.peer, at));
            }
            if is_buyer_reply(line) {
                replies.push(at);
            }
            elected.is_some_and(|(_, e)| replies.iter().any(|&r| r >= e))
        })
        .await?;
    let (trader, elected_at) = elected.expect("the wait ended on the announcement");
    let first_reply = replies
        .into_iter()
        .filter(|&r| r >= elected_at)
        .min()
        .expect("the wait ended on a reply");
    let ms = |at: NaiveDateTime| (at - killed).num_microseconds().unwrap_or(0) as f64 / 1e3;
    if bring_back {
        market.fleet.spawn(FIRST_TRADER)?;
        market.trading(FIRST_TRADER).await?;
        tokio::time::sleep(SETTLE).await;
    }
    Ok(Failover {
        trader,
        elected_ms: ms(elected_at),
        first_reply_ms: ms(first_reply),
    })
}

/// When a node logged `text`: its lines begin with the local time to the
/// millisecond (`2026-11-23 21:50:36.123 …`).
fn logged_at(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.get(..23)?, "%Y-%m-%d %H:%M:%S%.3f").ok()
}

/// A buyer's line about a reply to its request: goods, or out of stock.
fn is_buyer_reply(line: &Line) -> bool {
    let me = line.peer;
    BUYERS.contains(&me)
        && [" got ", " was told "]
            .iter()
            .any(|verb| line.text.contains(&format!("peer {me}{verb}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_line_tells_when_it_was_logged() {
        let at = logged_at("2026-11-23 21:50:36.123 peer 3 bought 4 fish from peer 2").unwrap();
        assert_eq!(at.to_string(), "2026-11-23 21:50:36.123");
        assert!(logged_at("peer 3 bought").is_none());
    }

    #[test]
    fn only_a_buyers_own_reply_counts() {
        let line = |peer, text: &str| Line {
            peer,
            text: text.to_owned(),
        };
        assert!(is_buyer_reply(&line(2, "t peer 2 got 3 fish from peer 4")));
        assert!(is_buyer_reply(&line(
            1,
            "t peer 1 was told fish is out of stock"
        )));
        assert!(!is_buyer_reply(&line(6, "t peer 6 got 3 fish from peer 4")));
        assert!(!is_buyer_reply(&line(
            1,
            "t peer 1 asks trader 6 for 3 fish"
        )));
    }
}
