//! The markets of the in-process experiments as values: sequential
//! buyers for response times, closed-loop buyers for the load curve.

use std::time::Duration;

use bazaar_protocol::PeerId;
use serde::Serialize;

use bazaar_node::net::TransportKind;

use super::serialize::{micros, transport_name};
use crate::books::BooksKind;

/// What happens to the trader while buyers buy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disruption {
    /// Nothing: one trader throughout.
    None,
    /// The trader is crashed after every `every` answered requests, and
    /// brought back once its successor has answered a request.
    Kill {
        /// Answered requests (all buyers) between kills.
        every: u64,
    },
    /// The trader resigns after every `every` sales.
    Resign {
        /// Sales between resignations.
        every: u64,
    },
}

/// Which question an experiment answers, for grouping in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Six peers over each transport, store off.
    Transports,
    /// Six peers over each transport, store on.
    Durable,
    /// More and more peers.
    Peers,
    /// Buyers against sellers, unstocked.
    Ratios,
    /// The trader crashed or resigning every K requests.
    Elections,
}

/// A market of sequential buyers, each making `requests` requests.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyScenario {
    /// A short unique name.
    pub name: String,
    /// Which question it answers.
    pub group: Group,
    /// How peers reach each other.
    #[serde(serialize_with = "transport_name")]
    pub transport: TransportKind,
    /// Where the books live: in memory (store off), SQLite (store on) or
    /// PostgreSQL (`bazaar bench --postgres URL`).
    pub store: BooksKind,
    /// Peers in all; the highest id is the first trader.
    pub peers: u32,
    /// Peers 1..=buyers buy; the rest sell.
    pub buyers: u32,
    /// Whether the store starts with a big deposit of every product.
    pub stocked: bool,
    /// A buyer's pause between a reply and its next request.
    #[serde(serialize_with = "micros")]
    pub think: Duration,
    /// Requests per buyer.
    pub requests: u64,
    /// What happens to the trader meanwhile.
    pub disruption: Disruption,
}

/// Many buyers with no think time against one trader, for buys per second:
/// one point of the load curve.
#[derive(Debug, Clone, Serialize)]
pub struct LoadScenario {
    /// A short unique name.
    pub name: String,
    /// How peers reach each other.
    #[serde(serialize_with = "transport_name")]
    pub transport: TransportKind,
    /// Where the books live: in memory (store off), SQLite (store on) or
    /// PostgreSQL (`bazaar bench --postgres URL`).
    pub store: BooksKind,
    /// Concurrent buyers.
    pub buyers: u32,
    /// Sellers (the highest of them is the trader).
    pub sellers: u32,
    /// Time given after every buyer's first answer (the election over,
    /// connections up) before counting.
    #[serde(serialize_with = "micros")]
    pub warmup: Duration,
    /// How long buys are counted.
    #[serde(serialize_with = "micros")]
    pub window: Duration,
}

impl LatencyScenario {
    /// The buyers' ids.
    pub fn buyer_ids(&self) -> Vec<PeerId> {
        (1..=self.buyers).map(PeerId).collect()
    }

    /// The sellers' ids.
    pub fn seller_ids(&self) -> Vec<PeerId> {
        (self.buyers + 1..=self.peers).map(PeerId).collect()
    }
}

impl LoadScenario {
    /// Peers in all.
    pub const fn peers(&self) -> u32 {
        self.buyers + self.sellers
    }

    /// The sellers' ids.
    pub fn seller_ids(&self) -> Vec<PeerId> {
        (self.buyers + 1..=self.peers()).map(PeerId).collect()
    }
}
