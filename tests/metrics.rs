//! A live node's `/metrics`: scraped over HTTP while the market trades, its
//! counters move. No timing is asserted; waits are bounds on hangs.

mod support;

use std::{collections::BTreeMap, thread, time::Instant};

use bazaar::metrics::scrape::{fetch, label, samples};
use bazaar_protocol::PeerId;
use support::processes::{PATIENCE, Processes};

fn value(s: &BTreeMap<String, f64>, name: &str) -> f64 {
    *s.get(name)
        .unwrap_or_else(|| panic!("no {name} in the metrics: {s:?}"))
}

/// Scrapes until `ok` holds, or panics with the last scrape.
fn scrape_until(
    addr: std::net::SocketAddr,
    what: &str,
    ok: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        // Refused until the node listens.
        let s = fetch(addr, PATIENCE)
            .map(|text| samples(&text))
            .unwrap_or_default();
        if !s.is_empty() && ok(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what} never held: {s:?}");
        thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_live_node_serves_metrics_whose_counters_move() {
    let mut procs = Processes::start_with_metrics("metrics", 3, 20);
    let cluster = procs.cluster();
    let buyer = cluster.peer(PeerId(1)).unwrap().metrics.unwrap();
    let trader = cluster.peer(PeerId(3)).unwrap().metrics.unwrap();

    let first = scrape_until(buyer, "a first answered buy", |s| {
        s.get("bazaar_buys_answered_total")
            .is_some_and(|&n| n >= 1.0)
    });
    assert_eq!(
        label(&first, "bazaar_peer_info", "role").as_deref(),
        Some("both")
    );
    assert_eq!(value(&first, "bazaar_trader"), 3.0);
    assert_eq!(value(&first, "bazaar_trading"), 0.0);
    assert!(value(&first, "bazaar_elections_started_total") >= 1.0);
    assert!(value(&first, "bazaar_buy_response_seconds_count") >= 1.0);

    let later = scrape_until(buyer, "the counters to move", |s| {
        value(s, "bazaar_buys_sent_total") > value(&first, "bazaar_buys_sent_total")
            && value(s, "bazaar_frames_sent_total") > value(&first, "bazaar_frames_sent_total")
            && value(s, "bazaar_frames_received_total")
                > value(&first, "bazaar_frames_received_total")
    });
    assert!(value(&later, "bazaar_buy_response_p50_seconds") > 0.0);

    let desk = scrape_until(trader, "the trader to commit and sell", |s| {
        s.get("bazaar_sales_total").is_some_and(|&n| n >= 1.0)
            && s.get("bazaar_commit_seconds_count")
                .is_some_and(|&n| n >= 1.0)
    });
    assert_eq!(value(&desk, "bazaar_trading"), 1.0);
    assert_eq!(value(&desk, "bazaar_elections_won_total"), 1.0);
    assert!(value(&desk, "bazaar_epoch") >= 1.0);

    let unknown = std::net::TcpStream::connect(trader).map(|mut s| {
        use std::io::{Read, Write};
        s.write_all(b"GET /nothing HTTP/1.1\r\n\r\n").unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    });
    assert!(unknown.unwrap().starts_with("HTTP/1.1 404"));
    procs.terminate_all();
}
