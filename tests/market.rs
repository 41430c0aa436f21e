//! Whole markets in one process, over each transport: they trade, fail
//! over, and pass the audit.

mod support;

use bazaar_node::{Event, ResignPolicy, net::TransportKind};
use bazaar_protocol::PeerId;
use support::{Harness, configs};

async fn six_peers_trade_and_pass_the_audit(kind: TransportKind) {
    let mut h = Harness::start(kind, configs(6)).await;
    h.wait_for_trader(6).await;
    h.wait_for_sales(30).await;
    let (outcome, audit) = h.stop_and_audit().await;
    let summary = audit.summary.expect("books balance");
    assert!(summary.sales >= 30, "{summary:?}");
    assert_eq!(outcome.peers.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_peers_trade_and_pass_the_audit_over_mem() {
    six_peers_trade_and_pass_the_audit(TransportKind::Mem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_peers_trade_and_pass_the_audit_over_tcp() {
    six_peers_trade_and_pass_the_audit(TransportKind::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_peers_trade_and_pass_the_audit_over_quic() {
    six_peers_trade_and_pass_the_audit(TransportKind::Quic).await;
}

async fn killing_the_trader_hands_over_to_the_next_highest(kind: TransportKind) {
    let mut h = Harness::start(kind, configs(6)).await;
    let first = h.wait_for_trader(6).await;
    h.wait_for_sales(10).await;
    h.market.crash(PeerId(6)).await;
    let second = h.wait_for_trader(5).await;
    assert!(second > first, "epoch {second} after {first}");
    h.wait_for_sales(10).await;
    let (outcome, _) = h.stop_and_audit().await;
    assert!(outcome.crashed.contains(&PeerId(6)));
    assert_eq!(
        outcome.peers[&PeerId(1)].trader().map(|(id, _)| id),
        Some(PeerId(5))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_trader_hands_over_to_the_next_highest_over_mem() {
    killing_the_trader_hands_over_to_the_next_highest(TransportKind::Mem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_trader_hands_over_to_the_next_highest_over_tcp() {
    killing_the_trader_hands_over_to_the_next_highest(TransportKind::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_trader_hands_over_to_the_next_highest_over_quic() {
    killing_the_trader_hands_over_to_the_next_highest(TransportKind::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resigning_trader_hands_over_and_trading_goes_on_over_mem() {
    let resign = ResignPolicy {
        after: None,
        after_sales: Some(15),
    };
    let configs = configs(6)
        .into_iter()
        .map(|c| bazaar_node::PeerConfig { resign, ..c })
        .collect();
    let mut h = Harness::start(TransportKind::Mem, configs).await;
    let elected = h.wait_for_trader(6).await;
    let resigned = h
        .wait_for("peer 6 to resign", |r| match r.event {
            Event::SteppedDown {
                epoch,
                resigned: true,
            } if r.peer == PeerId(6) => Some(epoch),
            _ => None,
        })
        .await;
    assert_eq!(
        resigned, elected,
        "peer 6 resigns the term it was elected to"
    );
    let next = h.wait_for_trader(5).await;
    assert!(next > resigned, "peer 5's term {next} follows {resigned}");
    h.wait_for_sales(10).await;
    h.stop_and_audit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_higher_peer_takes_over_again_over_tcp() {
    let mut h = Harness::start(TransportKind::Tcp, configs(6)).await;
    h.wait_for_trader(6).await;
    h.market.crash(PeerId(6)).await;
    let interim = h.wait_for_trader(5).await;
    h.wait_for_sales(5).await;
    h.market
        .restart(PeerId(6))
        .await
        .expect("peer 6 rebinds its port");
    // The returning peer remembers no epoch: a claim below the store's is
    // fenced, and the bully rule must still hand it the market with a
    // newer epoch than the interim trader's.
    let back = h
        .wait_for("peer 6 to take over with a newer epoch", |r| {
            match r.event {
                Event::Coordinator { id, epoch } if id == PeerId(6) && epoch > interim => {
                    Some(epoch)
                }
                _ => None,
            }
        })
        .await;
    h.wait_for_sales(10).await;
    let (outcome, _) = h.stop_and_audit().await;
    for peer in outcome.peers.values() {
        assert_eq!(
            peer.trader(),
            Some((PeerId(6), back)),
            "peer {} disagrees",
            peer.id()
        );
    }
}

/// A partition leaves the trader with one buyer, and the other four peers
/// elect peer 5. The trader still hears from a peer, so it keeps its lease
/// on the books and trades on; peer 5's claim waits for the lease (the
/// store refuses it) instead of deposing the trader through the store.
/// Once the partition heals, the bully rule settles on the highest peer and
/// every account still balances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_side_holding_the_books_keeps_trading_through_a_partition_over_mem() {
    let mut h = Harness::start(TransportKind::Mem, configs(6)).await;
    h.wait_for_trader(6).await;
    h.wait_for_sales(10).await;
    let hub = h.market.hub().expect("mem has a hub").clone();
    hub.partition([
        vec![PeerId(6), PeerId(1)],
        vec![PeerId(2), PeerId(3), PeerId(4), PeerId(5)],
    ]);
    h.wait_for("peer 5's claim to wait for the lease", |r| {
        (r.peer == PeerId(5) && matches!(r.event, Event::BooksLeased { .. })).then_some(())
    })
    .await;
    h.wait_for("the trader to answer buyer 1 during the partition", |r| {
        (r.peer == PeerId(1) && matches!(r.event, Event::Answered { .. })).then_some(())
    })
    .await;
    hub.heal();
    h.wait_for("buyer 3 to be served again after the heal", |r| {
        (r.peer == PeerId(3) && matches!(r.event, Event::Answered { .. })).then_some(())
    })
    .await;
    h.stop_and_audit().await;
}

/// A trader cut off from every other peer gives up its term; once its
/// lease runs out the others elect peer 5, which opens the books and
/// sells. After the heal peer 6 bullies its way back with a newer epoch,
/// and every account still balances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_cut_off_from_every_peer_gives_way_over_mem() {
    let mut h = Harness::start(TransportKind::Mem, configs(6)).await;
    let first = h.wait_for_trader(6).await;
    h.wait_for_sales(10).await;
    let hub = h.market.hub().expect("mem has a hub").clone();
    hub.partition([
        vec![PeerId(6)],
        vec![PeerId(1), PeerId(2), PeerId(3), PeerId(4), PeerId(5)],
    ]);
    h.wait_for("the cut-off trader to give up its term", |r| {
        (r.peer == PeerId(6) && matches!(r.event, Event::CutOff { .. })).then_some(())
    })
    .await;
    let interim = h.wait_for_trader(5).await;
    assert!(interim > first);
    h.wait_for("peer 5 to sell", |r| {
        (r.peer == PeerId(5) && matches!(r.event, Event::Sold(_))).then_some(())
    })
    .await;
    hub.heal();
    h.wait_for("peer 6 to lead again after the heal", |r| match r.event {
        Event::Coordinator { id, epoch } if id == PeerId(6) && epoch > interim => Some(()),
        _ => None,
    })
    .await;
    h.stop_and_audit().await;
}
