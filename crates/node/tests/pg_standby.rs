//! The PostgreSQL store on a primary with a synchronous standby (real
//! servers, started here and stopped by PID, see `support/pg.rs`): the
//! standby killed (a commit waits, and is never acknowledged while only
//! the primary holds it), the primary killed and the standby promoted (the
//! trader finds it through a multi-host URL and carries on from every
//! acknowledged batch), the lease and the fence across a promotion, and a
//! split brain (a standby promoted while the old primary runs) in which
//! only one server can ever acknowledge a sale.

mod support {
    pub mod pg;
}

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use bazaar_market::{Batch, Pricing, Trader, TraderInput};
use bazaar_node::store::{CheckpointPolicy, Claim, PgStore, PgTimeouts, Store, StoreError};
use bazaar_protocol::{Buy, Epoch, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use support::pg::PgServer;

/// A bound against hangs; never a performance claim.
const PATIENCE: Duration = Duration::from_secs(30);

/// A primary whose commits wait for its synchronous standby, and the
/// standby; `None` where PostgreSQL is missing (and `CI` is not set).
fn pair(name: &str) -> Option<(PgServer, PgServer)> {
    let primary = PgServer::start(name)?;
    primary.database("books");
    let standby = PgServer::standby_of(&primary, &format!("{name}-standby"), None);
    // Asked for after the copy: the standby, once promoted, runs alone.
    primary.require_sync_standby();
    primary.wait_for_standby();
    Some((primary, standby))
}

macro_rules! pair {
    ($name:expr) => {
        match pair($name) {
            Some(pair) => pair,
            None => return,
        }
    };
}

/// A trader's limits, with a statement timeout of `statement`: how long a
/// commit waits for a standby before the server gives up waiting.
fn timeouts(statement: Duration) -> PgTimeouts {
    PgTimeouts {
        statement,
        ..PgTimeouts::TRADER
    }
}

fn connect(url: &str, statement: Duration) -> PgStore {
    PgStore::connect_with(url, CheckpointPolicy::default(), timeouts(statement)).unwrap()
}

fn claim(epoch: u64, trader: u32, lease: Duration) -> Claim {
    Claim {
        epoch: Epoch(epoch),
        trader: PeerId(trader),
        lease,
    }
}

/// A market's trader over `store`: opened with a stock of fish (its
/// own first batch, committed), then `sell()` makes a batch that sells
/// one, to commit.
struct Shop {
    trader: Trader,
    /// The one buyer, a peer of its own for each shop.
    buyer: PeerId,
    n: u64,
}

impl Shop {
    fn open(store: &dyn Store, claim: Claim) -> Self {
        let book = store.open(claim, &Pricing::default()).unwrap();
        let mut shop = Self::from(book, PeerId(100 + claim.trader.0));
        shop.n += 1;
        shop.trader.handle(TraderInput::Offer {
            at: Timestamp::new(shop.n, PeerId(1)),
            offer: Offer {
                id: OfferId {
                    seller: PeerId(1),
                    seq: u64::from(claim.trader.0),
                },
                product: Product::Fish,
                quantity: 1_000,
            },
        });
        let stock = shop.trader.flush().expect("the offer waits").batch;
        store.commit(claim.epoch, &stock).unwrap();
        shop
    }

    fn from(book: bazaar_market::Book, buyer: PeerId) -> Self {
        Self {
            trader: Trader::new(book),
            buyer,
            n: 0,
        }
    }

    fn sell(&mut self) -> Batch {
        self.n += 1;
        self.trader.handle(TraderInput::Buy {
            at: Timestamp::new(self.n, self.buyer),
            buy: Buy {
                id: RequestId {
                    buyer: self.buyer,
                    seq: self.n,
                },
                product: Product::Fish,
                quantity: 1,
            },
        });
        let batch = self.trader.flush().expect("a buy waits").batch;
        assert_eq!(batch.sales.len(), 1, "{batch:?}");
        batch
    }
}

/// The sales in the books of `url`, read on a fresh session.
fn sales_at(url: &str) -> u64 {
    PgStore::open_existing(url)
        .unwrap()
        .books()
        .unwrap()
        .expect("books")
        .totals()
        .sales
}

/// `call`'s answer once it is not an I/O error: what a call gets once
/// its lost session is made again.
fn past_io<T>(mut call: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match call() {
            Err(StoreError::Io { .. }) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(20));
            }
            answer => return answer,
        }
    }
}

/// Asserts that a call of epoch `epoch` was fenced by epoch `newest`.
fn fenced_at(answer: Result<(), StoreError>, epoch: u64, newest: u64) {
    assert!(
        matches!(
            answer,
            Err(StoreError::Fenced { epoch: e, newest: n }) if e == Epoch(epoch) && n == Epoch(newest)
        ),
        "{answer:?}"
    );
}

/// Runs `call` on a thread; returns its answer's channel.
fn in_background<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(call());
    });
    rx
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_commit_waits_for_a_killed_standby_and_lands_once_it_is_back() {
    let (primary, mut standby) = pair!("standby-back");
    let url = primary.url_of("books");
    let store = std::sync::Arc::new(connect(&url, PATIENCE));
    let mut shop = Shop::open(&*store, claim(1, 1, Duration::ZERO));
    store.commit(Epoch(1), &shop.sell()).unwrap();
    assert_eq!(sales_at(&standby.url_of("books")), 1, "the standby has it");

    standby.kill();
    let batch = shop.sell();
    let committing = store.clone();
    let answer = in_background(move || committing.commit(Epoch(1), &batch));
    // However long it is given, the commit does not return while only
    // the primary holds it.
    assert!(
        answer.recv_timeout(Duration::from_millis(1_500)).is_err(),
        "a commit returned with its standby dead"
    );
    standby.restart();
    let landed = answer.recv_timeout(PATIENCE).expect("the commit returns");
    landed.expect("the commit lands once the standby is back");
    assert_eq!(sales_at(&standby.url_of("books")), 2);
    store.commit(Epoch(1), &shop.sell()).unwrap();
}

/// Cancels (`pg_cancel_backend`, as an administrator would) every
/// statement of `server` waiting for a synchronous standby; returns how
/// many there were, once there is at least one.
fn cancel_waits_for_the_standby(server: &PgServer) -> i64 {
    let mut admin = server.admin();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let cancelled: i64 = admin
            .query_one(
                "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity \
                 WHERE wait_event = 'SyncRep'",
                &[],
            )
            .expect("pg_stat_activity")
            .get(0);
        if cancelled > 0 {
            return cancelled;
        }
        assert!(Instant::now() < deadline, "nothing waits for the standby");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_commit_whose_wait_for_the_standby_is_cancelled_is_not_acknowledged() {
    let (primary, mut standby) = pair!("standby-gone");
    let url = primary.url_of("books");
    let store = std::sync::Arc::new(connect(&url, PATIENCE));
    let mut shop = Shop::open(&*store, claim(1, 1, Duration::ZERO));
    store.commit(Epoch(1), &shop.sell()).unwrap();
    standby.kill();
    // Cancelled, the wait ends with "committed locally" and a warning:
    // the outcome is unknown, and nothing is acknowledged.
    let batch = shop.sell();
    let committing = store.clone();
    let answer = in_background(move || committing.commit(Epoch(1), &batch));
    cancel_waits_for_the_standby(&primary);
    match answer.recv_timeout(PATIENCE).expect("the commit returns") {
        Err(StoreError::Io { detail, .. }) => {
            assert!(detail.contains("outcome is unknown"), "{detail}");
        }
        other => panic!("a commit only the primary holds was answered {other:?}"),
    }
    // The books a trader reloads (and answers retries from) are those the
    // standby holds too: a reload waits for it as a commit does.
    let reloading = store.clone();
    let reload = in_background(move || reloading.reload(Epoch(1)));
    cancel_waits_for_the_standby(&primary);
    let reloaded = reload.recv_timeout(PATIENCE).expect("the reload returns");
    assert!(
        matches!(reloaded, Err(StoreError::Io { .. })),
        "books read from the primary alone: {reloaded:?}"
    );
    standby.restart();
    let book = store.reload(Epoch(1)).expect("the standby is back");
    // The batch of unknown outcome had landed on the primary, and the
    // standby has it now: a retry is answered from it.
    assert_eq!(book.totals().sales, 2);
    assert_eq!(sales_at(&standby.url_of("books")), 2);
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn after_a_promotion_the_trader_finds_the_new_primary_and_loses_nothing_acknowledged() {
    let (mut primary, standby) = pair!("promotion");
    let url = PgServer::url_of_all(&[&primary, &standby], "books");
    let store = connect(&url, Duration::from_secs(5));
    let mut shop = Shop::open(&store, claim(1, 1, Duration::from_secs(60)));
    let mut acknowledged = 0;
    for _ in 0..20 {
        store.commit(Epoch(1), &shop.sell()).unwrap();
        acknowledged += 1;
    }
    primary.kill();
    // The standby is read-only until promoted: the URL asks for a
    // writable server, and there is none.
    let lost = store.commit(Epoch(1), &shop.sell());
    assert!(matches!(lost, Err(StoreError::Io { .. })), "{lost:?}");
    assert!(matches!(store.reload(Epoch(1)), Err(StoreError::Io { .. })));
    standby.promote();
    let book = store
        .reload(Epoch(1))
        .expect("the promoted server is found");
    assert_eq!(book.totals().sales, acknowledged);
    // Its lease held on the old primary: another peer's claim is void
    // only while the trader has not renewed on the new one.
    store.renew(Epoch(1), Duration::from_secs(60)).unwrap();
    let other = connect(&url, Duration::from_secs(5));
    assert!(
        matches!(
            other.open(claim(2, 2, Duration::ZERO), &Pricing::default()),
            Err(StoreError::Leased {
                holder: PeerId(1),
                ..
            })
        ),
        "a renewed lease holds on the promoted server"
    );
    // The trader carries on in its term, from the books it reloaded.
    let mut shop = Shop::from(book, PeerId(100));
    shop.n = 1_000;
    store.commit(Epoch(1), &shop.sell()).unwrap();
    assert_eq!(sales_at(&standby.url_of("books")), acknowledged + 1);
    let (report, passed) = PgStore::open_existing(&url)
        .unwrap()
        .audit_report()
        .unwrap();
    assert!(passed, "{report}");
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn the_fence_and_a_lease_not_renewed_carry_over_a_promotion() {
    let (mut primary, standby) = pair!("fence-carried");
    let url = PgServer::url_of_all(&[&primary, &standby], "books");
    let old = connect(&url, Duration::from_secs(5));
    let mut deposed = Shop::open(&old, claim(1, 1, Duration::ZERO));
    let new = connect(&url, Duration::from_secs(5));
    let mut shop = Shop::open(&new, claim(2, 2, Duration::from_secs(60)));
    new.commit(Epoch(2), &shop.sell()).unwrap();
    primary.kill();
    standby.promote();
    // Epoch 1 was fenced on the old primary, and is on the promoted one.
    let batch = deposed.sell();
    fenced_at(past_io(|| old.commit(Epoch(1), &batch)), 1, 2);
    // Epoch 2's holder held its lease on the old primary; on the promoted
    // one no session vouches for it until it renews: the lease is void,
    // and a newer claim takes the books.
    let third = connect(&url, Duration::from_secs(5));
    Shop::open(&third, claim(3, 3, Duration::from_secs(60)));
    let late = past_io(|| new.renew(Epoch(2), Duration::from_secs(60)));
    assert!(
        matches!(
            late,
            Err(StoreError::Fenced {
                epoch: Epoch(2),
                newest: Epoch(3)
            })
        ),
        "{late:?}"
    );
    assert_eq!(sales_at(&standby.url_of("books")), 1);
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn in_a_split_brain_only_the_promoted_server_acknowledges_a_sale() {
    let (mut primary, standby) = pair!("split-brain");
    // Both servers, the old primary first: while it runs, it is the
    // writable server this URL finds.
    let url = PgServer::url_of_all(&[&primary, &standby], "books");
    let old = std::sync::Arc::new(connect(&url, PATIENCE));
    let mut shop_old = Shop::open(&*old, claim(1, 1, Duration::ZERO));
    old.commit(Epoch(1), &shop_old.sell()).unwrap();

    // The standby is promoted while the old primary still runs, and a
    // second trader opens the books there.
    standby.promote();
    assert!(
        !standby.is_standby() && !primary.is_standby(),
        "two primaries"
    );
    let on_new = standby.url_of("books");
    let new = connect(&on_new, PATIENCE);
    let mut shop_new = Shop::open(&new, claim(2, 2, Duration::ZERO));
    for _ in 0..3 {
        new.commit(Epoch(2), &shop_new.sell()).unwrap();
    }

    // The old primary's commits wait for a standby that no longer follows
    // it: none is acknowledged, nor is another trader's claim there (it
    // waits for the fence's row, which the waiting commit holds, and gives
    // up).
    let batch = shop_old.sell();
    let committing = old.clone();
    let commit = in_background(move || committing.commit(Epoch(1), &batch));
    let claiming = in_background({
        let url = url.clone();
        move || {
            connect(&url, PATIENCE)
                .open(claim(3, 3, Duration::ZERO), &Pricing::default())
                .map(drop)
        }
    });
    assert!(
        commit.recv_timeout(Duration::from_millis(1_500)).is_err(),
        "the old primary acknowledged a commit"
    );
    // Its host is fenced off (killed): what waited there fails, outcome
    // unknown, and the old trader, finding the promoted server, is fenced.
    primary.kill();
    let unknown = commit.recv_timeout(PATIENCE).expect("the commit returns");
    assert!(matches!(unknown, Err(StoreError::Io { .. })), "{unknown:?}");
    let claimed = claiming.recv_timeout(PATIENCE).expect("the claim returns");
    assert!(matches!(claimed, Err(StoreError::Io { .. })), "{claimed:?}");
    let batch = shop_old.sell();
    fenced_at(past_io(|| old.commit(Epoch(1), &batch)), 1, 2);

    // The promoted server holds one timeline: the first sale and the
    // second trader's three.
    assert_eq!(sales_at(&on_new), 4);
    let (report, passed) = PgStore::open_existing(&on_new)
        .unwrap()
        .audit_report()
        .unwrap();
    assert!(passed, "{report}");
}
