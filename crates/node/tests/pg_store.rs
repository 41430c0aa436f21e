//! The PostgreSQL store against a real server (a throwaway cluster per
//! test, see `support/pg.rs`): round trips through new instances, fencing
//! and leases across instances, checkpoints, a connection killed in the
//! middle of COMMIT (the batch landed, or not: the reload tells, and a
//! retry is answered once), the same books as SQLite, and the errors of a
//! bad URL, a refused connection, a wrong password and a foreign schema.

mod support {
    pub mod pg;
}

use std::{
    fs,
    path::PathBuf,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use bazaar_market::{Batch, Book, LedgerEntry, Pricing, Trader, TraderAction, TraderInput};
use bazaar_node::store::{
    CheckpointPolicy, Claim, PgStore, PgTimeouts, SqliteStore, Store, StoreError,
};
use bazaar_protocol::{Buy, Epoch, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use support::pg::PgServer;

/// Starts a server, or skips the test (returns) where there is none.
macro_rules! server {
    ($name:expr) => {
        match PgServer::start($name) {
            Some(server) => server,
            None => return,
        }
    };
}

fn offer(seller: u32, seq: u64, product: Product, quantity: u32) -> Offer {
    Offer {
        id: OfferId {
            seller: PeerId(seller),
            seq,
        },
        product,
        quantity,
    }
}

fn buy(buyer: u32, seq: u64, product: Product, quantity: u32) -> Buy {
    Buy {
        id: RequestId {
            buyer: PeerId(buyer),
            seq,
        },
        product,
        quantity,
    }
}

/// A checkpoint every third batch, and never by time.
const EVERY_THIRD_BATCH: CheckpointPolicy = CheckpointPolicy {
    every_batches: 3,
    every_sales: u64::MAX,
    every: Duration::from_secs(3_600),
};

/// Drives a trader through six busy batches (offers, buys, retries of the
/// previous round's buys), committing each before anything else, as the
/// node does; returns the trader and the sales, in order.
fn trade(store: &dyn Store, epoch: Epoch) -> (Trader, Vec<LedgerEntry>) {
    let mut sales = Vec::new();
    let mut trader = Trader::new(
        store
            .open(Claim::unleased(epoch), &Pricing::default())
            .unwrap(),
    );
    let mut clock = 0;
    let mut tick = |peer: u32| {
        clock += 1;
        Timestamp::new(clock, PeerId(peer))
    };
    for round in 0..6u64 {
        for (seller, product) in [(1, Product::Fish), (2, Product::Salt), (3, Product::Boar)] {
            let offer = offer(seller, round + 1, product, 3 + seller);
            trader.handle(TraderInput::Offer {
                at: tick(seller),
                offer,
            });
        }
        for buyer in 4..8u32 {
            let product = Product::ALL[(buyer as usize + round as usize) % 3];
            let buy = buy(buyer, round + 1, product, buyer - 2);
            trader.handle(TraderInput::Buy {
                at: tick(buyer),
                buy,
            });
            if round > 0 {
                let retry = self::buy(buyer, round, product, buyer - 2);
                trader.handle(TraderInput::Buy {
                    at: tick(buyer),
                    buy: retry,
                });
            }
        }
        let persist = trader.flush().expect("a round of offers and buys waits");
        store.commit(epoch, &persist.batch).unwrap();
        sales.extend_from_slice(&persist.batch.sales);
    }
    assert!(sales.len() > 10, "the trade sold goods");
    (trader, sales)
}

/// A fresh folder for a SQLite store, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("bazaar-pg-test-{}-{name}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_new_instance_loads_the_books_committed_by_another() {
    let server = server!("round_trip");
    let url = server.database("books");
    let trader = {
        let store = PgStore::connect(&url).unwrap();
        assert_eq!(store.epoch().unwrap(), Epoch(0));
        assert_eq!(store.books().unwrap(), None);
        trade(&store, Epoch(1)).0
    };
    let store = PgStore::connect(&url).unwrap();
    assert_eq!(store.epoch().unwrap(), Epoch(1));
    let loaded = store
        .open(Claim::unleased(Epoch(2)), &Pricing::default())
        .unwrap();
    assert_eq!(&loaded, trader.book());
    assert_eq!(store.books().unwrap().as_ref(), Some(trader.book()));
    assert_eq!(store.epoch().unwrap(), Epoch(2));
    let (report, passed) = store.audit_report().unwrap();
    assert!(passed, "{report}");
    assert!(
        report.starts_with(&format!(
            "store postgres://bazaar@127.0.0.1:{}/books: epoch 2, 6 batches\n",
            server.port()
        )),
        "{report}"
    );
}

/// The same batches, fed to both durable stores, with failovers to new
/// instances: identical books, ledgers and audits (but for the name).
#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn postgres_and_sqlite_load_identical_books_ledgers_and_audits() {
    let server = server!("same_as_sqlite");
    let url = server.database("same");
    let dir = TempDir::new("same-as-sqlite");
    let pg = PgStore::connect_with(&url, EVERY_THIRD_BATCH, PgTimeouts::TRADER).unwrap();
    let sqlite = SqliteStore::open_with(&dir.0, EVERY_THIRD_BATCH).unwrap();
    let (by_pg, _) = trade(&pg, Epoch(4));
    let (by_sqlite, _) = trade(&sqlite, Epoch(4));
    assert_eq!(by_pg.book(), by_sqlite.book());
    drop((pg, sqlite));
    // New instances, a new epoch each: as new processes.
    let pg = PgStore::connect_with(&url, EVERY_THIRD_BATCH, PgTimeouts::TRADER).unwrap();
    let sqlite = SqliteStore::open_with(&dir.0, EVERY_THIRD_BATCH).unwrap();
    let a = pg
        .open(Claim::unleased(Epoch(5)), &Pricing::default())
        .unwrap();
    let b = sqlite
        .open(Claim::unleased(Epoch(5)), &Pricing::default())
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(&a, by_pg.book());
    let sqlite = SqliteStore::open_existing(&dir.0).unwrap();
    assert_eq!(pg.ledger_lines().unwrap(), sqlite.ledger_lines().unwrap());
    let (pg_report, pg_passed) = pg.audit_report().unwrap();
    let (sqlite_report, sqlite_passed) = SqliteStore::open_existing(&dir.0)
        .and_then(|store| store.audit_report())
        .unwrap();
    assert!(pg_passed && sqlite_passed, "{pg_report}\n{sqlite_report}");
    let body = |report: &str| report.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&pg_report), body(&sqlite_report));
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_deposed_trader_on_another_connection_cannot_sell() {
    let server = server!("fence_two");
    let url = server.database("fence");
    let old = PgStore::connect(&url).unwrap();
    let new = PgStore::connect(&url).unwrap();
    let mut old_book = old
        .open(Claim::unleased(Epoch(1)), &Pricing::default())
        .unwrap();
    let stock = old_book.serve(
        &mut [(Timestamp::new(1, PeerId(2)), offer(2, 1, Product::Fish, 5))],
        &mut [],
    );
    old.commit(Epoch(1), &stock).unwrap();

    let mut new_book = new
        .open(Claim::unleased(Epoch(2)), &Pricing::default())
        .unwrap();
    assert_eq!(new_book, old_book);
    let sold = new_book.serve(
        &mut [],
        &mut [(Timestamp::new(3, PeerId(4)), buy(4, 1, Product::Fish, 2))],
    );
    new.commit(Epoch(2), &sold).unwrap();

    // The old trader, not yet told, tries to sell the same fish.
    let stale = old_book.serve(
        &mut [],
        &mut [(Timestamp::new(3, PeerId(3)), buy(3, 1, Product::Fish, 5))],
    );
    match old.commit(Epoch(1), &stale) {
        Err(StoreError::Fenced { epoch, newest }) => {
            assert_eq!((epoch, newest), (Epoch(1), Epoch(2)));
        }
        other => panic!("a deposed trader committed: {other:?}"),
    }
    assert!(matches!(
        old.open(Claim::unleased(Epoch(2)), &Pricing::default()),
        Err(StoreError::Fenced {
            epoch: Epoch(2),
            newest: Epoch(2)
        })
    ));
    assert!(matches!(
        old.reload(Epoch(1)),
        Err(StoreError::Fenced { .. })
    ));
    assert_eq!(old.books().unwrap(), Some(new_book.clone()));
    let reloaded = old
        .open(Claim::unleased(Epoch(3)), &Pricing::default())
        .unwrap();
    assert_eq!(reloaded, new_book);
    let (report, passed) = old.audit_report().unwrap();
    assert!(passed, "{report}");
}

/// Two traders on two connections keep deposing each other while they
/// sell: every batch the store accepted is in the books, none twice.
#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn racing_traders_never_interleave_their_batches() {
    let server = server!("fence_race");
    let url = server.database("race");
    PgStore::connect(&url).unwrap();
    let accepted: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|me| {
                let url = &url;
                scope.spawn(move || {
                    let store = PgStore::connect(url).unwrap();
                    let mut sold = 0;
                    let mut round = 0u64;
                    while round < 30 {
                        let mut epoch = store.epoch().unwrap().0 + 1;
                        if epoch % 2 != u64::from(me - 1) {
                            epoch += 1;
                        }
                        let Ok(mut book) =
                            store.open(Claim::unleased(Epoch(epoch)), &Pricing::default())
                        else {
                            continue;
                        };
                        for _ in 0..3 {
                            round += 1;
                            let batch = book.serve(
                                &mut [(
                                    Timestamp::new(round, PeerId(me)),
                                    offer(me, epoch * 100 + round, Product::Salt, 1),
                                )],
                                &mut [(
                                    Timestamp::new(round, PeerId(me + 10)),
                                    buy(me + 10, epoch * 100 + round, Product::Salt, 1),
                                )],
                            );
                            match store.commit(Epoch(epoch), &batch) {
                                Ok(()) => sold += batch.sales.len(),
                                Err(StoreError::Fenced { .. }) => break,
                                Err(e) => panic!("trader {me}: {e}"),
                            }
                        }
                    }
                    sold
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let store = PgStore::connect(&url).unwrap();
    let book = store.books().unwrap().unwrap();
    assert_eq!(book.totals().sales, accepted.iter().sum::<usize>() as u64);
    let (report, passed) = store.audit_report().unwrap();
    assert!(passed, "{report}");
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_lease_is_void_once_its_holders_session_is_gone_and_only_then() {
    let server = server!("lease-gone");
    let url = server.database("lease_gone");
    let claim = |epoch, trader| Claim {
        epoch: Epoch(epoch),
        trader: PeerId(trader),
        lease: Duration::from_secs(60),
    };
    let pricing = Pricing::default();
    // Two stores stand for two processes, each with its own session.
    let holder = PgStore::connect(&url).unwrap();
    holder.open(claim(1, 6), &pricing).unwrap();
    let claimant = PgStore::connect(&url).unwrap();
    assert!(
        matches!(
            claimant.open(claim(2, 5), &pricing),
            Err(StoreError::Leased {
                holder: PeerId(6),
                ..
            })
        ),
        "a live holder keeps its lease"
    );
    // Peers of one process share a store, and so a session: a crashed
    // task's lease is waited out.
    assert!(matches!(
        holder.open(claim(2, 5), &pricing),
        Err(StoreError::Leased {
            holder: PeerId(6),
            ..
        })
    ));
    // The holder's process ends, and its session with it. The server ends
    // the session's backend a moment after the connection closes: a bound
    // against hangs, far below the minute the lease has left.
    drop(holder);
    let patience = Instant::now() + Duration::from_secs(10);
    loop {
        match claimant.open(claim(2, 5), &pricing) {
            Ok(_) => break,
            Err(StoreError::Leased { .. }) if Instant::now() < patience => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => panic!("the holder's session is gone, yet: {other:?}"),
        }
    }
    let third = PgStore::connect(&url).unwrap();
    assert!(
        matches!(
            third.open(claim(3, 4), &pricing),
            Err(StoreError::Leased {
                holder: PeerId(5),
                ..
            })
        ),
        "the new holder's lease holds in turn"
    );
    // Once 5's session ends too, the next claim goes through.
    drop(claimant);
    let patience = Instant::now() + Duration::from_secs(10);
    while third.open(claim(3, 4), &pricing).is_err() {
        assert!(Instant::now() < patience, "epoch 3's lock was left held");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn the_lease_keeps_other_peers_out_until_it_runs_out() {
    let server = server!("lease");
    let url = server.database("lease");
    let one = PgStore::connect(&url).unwrap();
    let two = PgStore::connect(&url).unwrap();
    let claim = |epoch, trader, lease| Claim {
        epoch: Epoch(epoch),
        trader: PeerId(trader),
        lease,
    };
    let pricing = Pricing::default();
    one.open(claim(1, 1, Duration::from_secs(60)), &pricing)
        .unwrap();
    match two.open(claim(2, 2, Duration::ZERO), &pricing) {
        Err(StoreError::Leased {
            holder,
            retry_after,
        }) => {
            assert_eq!(holder, PeerId(1));
            assert!(
                retry_after > Duration::from_secs(55) && retry_after <= Duration::from_secs(60),
                "{retry_after:?}"
            );
        }
        other => panic!("opened under another's lease: {other:?}"),
    }
    // A refused claim records nothing; the holder itself is admitted.
    assert_eq!(one.epoch().unwrap(), Epoch(1));
    one.open(claim(3, 1, Duration::from_millis(300)), &pricing)
        .unwrap();
    assert!(matches!(
        two.open(claim(4, 2, Duration::ZERO), &pricing),
        Err(StoreError::Leased { .. })
    ));
    std::thread::sleep(Duration::from_millis(400));
    two.open(claim(5, 2, Duration::from_millis(300)), &pricing)
        .unwrap();
    // Renewed, the lease runs a minute from now.
    two.renew(Epoch(5), Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    match one.open(claim(6, 1, Duration::ZERO), &pricing) {
        Err(StoreError::Leased {
            holder,
            retry_after,
        }) => {
            assert_eq!(holder, PeerId(2));
            assert!(retry_after > Duration::from_secs(55), "{retry_after:?}");
        }
        other => panic!("opened under a renewed lease: {other:?}"),
    }
    // A deposed epoch cannot renew.
    assert!(matches!(
        one.renew(Epoch(3), Duration::from_secs(60)),
        Err(StoreError::Fenced {
            epoch: Epoch(3),
            newest: Epoch(5)
        })
    ));
}

/// Opening the books costs the newest checkpoint and the batches after it:
/// damage to a batch before the checkpoint does not stop a trader (the
/// audit, which reads the whole history, names it).
#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn the_books_open_from_the_newest_checkpoint_and_the_batches_after_it() {
    let server = server!("checkpoint");
    let url = server.database("checkpoint");
    let store = PgStore::connect_with(&url, EVERY_THIRD_BATCH, PgTimeouts::TRADER).unwrap();
    let (trader, _) = trade(&store, Epoch(1));
    drop(store);
    let mut admin = server.admin_of("checkpoint");
    let checkpoints: Vec<i64> = admin
        .query("SELECT seq FROM checkpoints", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(checkpoints, [6], "six batches, a checkpoint every third");
    admin
        .batch_execute("UPDATE batches SET batch = '\\xff' WHERE seq = 2")
        .unwrap();
    let store = PgStore::connect_with(&url, EVERY_THIRD_BATCH, PgTimeouts::TRADER).unwrap();
    assert_eq!(
        &store
            .open(Claim::unleased(Epoch(2)), &Pricing::default())
            .unwrap(),
        trader.book()
    );
    let err = store.audit_report().unwrap_err().to_string();
    assert!(err.contains("batch 2 does not decode"), "{err}");
}

/// The trader's session, found by what it is doing.
fn backend_waiting(admin: &mut postgres::Client, wait_event: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = admin
            .query(
                // A commit is one statement in a transaction of its own:
                // the append, which commits as it ends.
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'bazaar' \
                 AND query LIKE 'WITH fence AS%' AND wait_event = $1",
                &[&wait_event],
            )
            .unwrap();
        if let Some(row) = rows.first() {
            return row.get(0);
        }
        assert!(
            Instant::now() < deadline,
            "no bazaar session waits on {wait_event} in its commit"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How a test stops the trader's COMMIT half-way, to kill its session
/// there.
#[derive(Debug, Clone, Copy)]
enum Trap {
    /// A deferred trigger sleeps inside COMMIT, before the commit record
    /// is written: the batch does not land.
    BeforeTheCommitRecord,
    /// The server waits for a synchronous standby that does not exist,
    /// after the commit record is written and flushed: the batch landed,
    /// but the trader never hears so.
    AfterTheCommitRecord,
}

impl Trap {
    fn arm(self, admin: &mut postgres::Client) {
        match self {
            Self::BeforeTheCommitRecord => admin
                .batch_execute(
                    "CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$; \
                     CREATE CONSTRAINT TRIGGER linger AFTER INSERT ON batches \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION linger();",
                )
                .unwrap(),
            Self::AfterTheCommitRecord => {
                admin
                    .batch_execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
                    .unwrap();
                admin.batch_execute("SELECT pg_reload_conf()").unwrap();
                wait_for_setting(admin, "nobody");
            }
        }
    }

    fn disarm(self, admin: &mut postgres::Client) {
        match self {
            Self::BeforeTheCommitRecord => admin
                .batch_execute("DROP TRIGGER linger ON batches; DROP FUNCTION linger()")
                .unwrap(),
            Self::AfterTheCommitRecord => {
                admin
                    .batch_execute("ALTER SYSTEM RESET synchronous_standby_names")
                    .unwrap();
                admin.batch_execute("SELECT pg_reload_conf()").unwrap();
                wait_for_setting(admin, "");
            }
        }
    }

    fn wait_event(self) -> &'static str {
        match self {
            Self::BeforeTheCommitRecord => "PgSleep",
            Self::AfterTheCommitRecord => "SyncRep",
        }
    }

    fn lands(self) -> bool {
        matches!(self, Self::AfterTheCommitRecord)
    }
}

/// Waits until the server has reloaded its configuration: the postmaster
/// rereads the file on `pg_reload_conf()` and signals every session, the
/// trader's among them, which applies it before its next command; the
/// admin session sees it when its own signal has arrived.
fn wait_for_setting(admin: &mut postgres::Client, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now: String = admin
            .query_one("SELECT current_setting('synchronous_standby_names')", &[])
            .unwrap()
            .get(0);
        if now == value {
            // The trader's session got the same signal; give it the
            // moment it takes to arrive.
            std::thread::sleep(Duration::from_millis(100));
            return;
        }
        assert!(Instant::now() < deadline, "the server did not reload");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The trader's connection is killed (`pg_terminate_backend`) while its
/// COMMIT runs. The trader cannot know whether the batch landed: the
/// commit fails with `Io` (the peer then drops the held replies and
/// reloads), the reload gives the database's truth, and the buyer's retry
/// of the same request is answered from the stored reply if it landed, or
/// served afresh if not: either way the buyer gets the reply, and the
/// ledger holds the sale exactly once.
fn a_connection_killed_mid_commit(trap: Trap) {
    let server = server!("mid_commit");
    let url = server.database("mid");
    let mut admin = server.admin_of("mid");
    let store = PgStore::connect(&url).unwrap();
    let epoch = Epoch(1);
    let mut trader = Trader::new(
        store
            .open(Claim::unleased(epoch), &Pricing::default())
            .unwrap(),
    );
    trader.handle(TraderInput::Offer {
        at: Timestamp::new(1, PeerId(2)),
        offer: offer(2, 1, Product::Boar, 10),
    });
    store.commit(epoch, &trader.flush().unwrap().batch).unwrap();
    let before = trader.book().clone();
    let request = buy(5, 1, Product::Boar, 4);
    trader.handle(TraderInput::Buy {
        at: Timestamp::new(2, PeerId(5)),
        buy: request,
    });
    let persist = trader.flush().unwrap();
    let held_reply = persist
        .then
        .iter()
        .find_map(|action| match action {
            TraderAction::Reply { reply, .. } => Some(reply.clone()),
            _ => None,
        })
        .expect("the batch holds the buyer's reply");
    let after = trader.book().clone();

    trap.arm(&mut admin);
    let outcome = std::thread::scope(|scope| {
        let committing = scope.spawn(|| store.commit(epoch, &persist.batch));
        let pid = backend_waiting(&mut admin, trap.wait_event());
        let killed: bool = admin
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap()
            .get(0);
        assert!(killed);
        committing.join().unwrap()
    });
    trap.disarm(&mut admin);
    assert!(
        matches!(outcome, Err(StoreError::Io { .. })),
        "a commit whose connection died must be Io (outcome unknown): {outcome:?}"
    );

    // The peer drops what the commit held (the held reply never leaves)
    // and reloads: the store answers from the database, on a new session.
    let truth = store.reload(epoch).unwrap();
    assert_eq!(truth, if trap.lands() { after } else { before });

    // The buyer retries the same request with the reloaded trader.
    let mut trader = Trader::new(truth);
    let at_once = trader.handle(TraderInput::Buy {
        at: Timestamp::new(3, PeerId(5)),
        buy: request,
    });
    let reply = if trap.lands() {
        assert_eq!(
            trader.pending(),
            0,
            "answered from the books, not served again"
        );
        match at_once.as_slice() {
            [TraderAction::Reply { reply, .. }] => reply.clone(),
            other => panic!("expected the stored reply, got {other:?}"),
        }
    } else {
        assert!(at_once.is_empty());
        let persist = trader.flush().unwrap();
        store.commit(epoch, &persist.batch).unwrap();
        persist
            .then
            .iter()
            .find_map(|action| match action {
                TraderAction::Reply { reply, .. } => Some(reply.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(
        reply, held_reply,
        "the buyer gets the reply it would have got"
    );
    let lines = store.ledger_lines().unwrap();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("peer 5 bought 4 boar from peer 2"))
            .count(),
        1,
        "{lines:?}"
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (report, passed) = store.audit_report().unwrap();
    assert!(passed, "{report}");
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_connection_killed_before_the_commit_record_loses_the_batch_and_the_retry_is_served_once() {
    a_connection_killed_mid_commit(Trap::BeforeTheCommitRecord);
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_connection_killed_after_the_commit_record_keeps_the_batch_and_the_retry_is_answered_from_it() {
    a_connection_killed_mid_commit(Trap::AfterTheCommitRecord);
}

/// A session ended between two calls (a restarted server, a dropped
/// link) is made again: at most the next call fails, with `Io`.
#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_lost_session_is_made_again() {
    let server = server!("reconnect");
    let url = server.database("again");
    let store = PgStore::connect(&url).unwrap();
    let mut book = store
        .open(Claim::unleased(Epoch(1)), &Pricing::default())
        .unwrap();
    let mut admin = server.admin();
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'bazaar'",
        )
        .unwrap();
    let batch = book.serve(
        &mut [(Timestamp::new(1, PeerId(1)), offer(1, 1, Product::Salt, 3))],
        &mut [],
    );
    match store.commit(Epoch(1), &batch) {
        Ok(()) => {}
        Err(StoreError::Io { .. }) => {
            let truth = store.reload(Epoch(1)).unwrap();
            if truth != book {
                store.commit(Epoch(1), &batch).unwrap();
            }
        }
        Err(other) => panic!("a lost session is not {other:?}"),
    }
    assert_eq!(store.books().unwrap(), Some(book));
}

/// Errors name the database (never its password) and say what is wrong.
#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_bad_url_a_refused_connection_and_a_wrong_password_are_io_errors_naming_the_database() {
    let message = |r: Result<PgStore, StoreError>| match r {
        Err(e @ StoreError::Io { .. }) => e.to_string(),
        other => panic!("expected an Io error, got {other:?}"),
    };
    let bad = message(PgStore::connect(
        "postgres://bazaar:secret@127.0.0.1:notaport/db",
    ));
    assert!(bad.contains("not a PostgreSQL URL"), "{bad}");
    assert!(!bad.contains("secret"), "{bad}");
    // A port nobody listens on: port 1 on loopback, privileged and
    // unused. (A free port found by binding and letting go was taken by
    // another test's server under CI once, which reset the connection.)
    let port = 1;
    let refused = message(PgStore::connect(&format!(
        "postgres://bazaar:secret@127.0.0.1:{port}/db"
    )));
    assert!(
        refused.starts_with(&format!("store postgres://bazaar@127.0.0.1:{port}/db: ")),
        "{refused}"
    );
    assert!(refused.contains("refused"), "{refused}");
    assert!(!refused.contains("secret"), "{refused}");

    let server = server!("errors");
    server
        .admin()
        .batch_execute("CREATE ROLE alice LOGIN PASSWORD 'right'")
        .unwrap();
    server.require_passwords();
    let wrong = message(PgStore::connect(&format!(
        "postgres://alice:wrong@127.0.0.1:{}/postgres",
        server.port()
    )));
    assert!(wrong.contains("password authentication failed"), "{wrong}");
    assert!(!wrong.contains(":wrong"), "{wrong}");
    // Reports never make a store where there is none.
    let empty = server.database("empty");
    let none = message(PgStore::open_existing(&empty));
    assert!(none.contains("no bazaar store in this database"), "{none}");
}

#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_database_of_another_schema_version_or_program_is_corrupt() {
    let server = server!("schema");
    let url = server.database("newer");
    PgStore::connect(&url).unwrap();
    server
        .admin_of("newer")
        .batch_execute("UPDATE meta SET schema_version = 99")
        .unwrap();
    match PgStore::connect(&url) {
        Err(e @ StoreError::Corrupt { .. }) => assert!(
            e.to_string()
                .ends_with("schema version 99; this bazaar reads versions 2 to 3"),
            "{e}"
        ),
        other => panic!("a newer schema opened: {other:?}"),
    }
    let foreign = server.database("foreign");
    server
        .admin_of("foreign")
        .batch_execute(
            "CREATE TABLE meta (key TEXT, value TEXT); CREATE TABLE batches (x INT); \
             CREATE TABLE offers (x INT); CREATE TABLE requests (x INT); \
             CREATE TABLE sales (x INT); CREATE TABLE checkpoints (x INT);",
        )
        .unwrap();
    match PgStore::connect(&foreign) {
        Err(e @ StoreError::Corrupt { .. }) => {
            assert!(e.to_string().contains("another program's"), "{e}");
        }
        other => panic!("a foreign database opened: {other:?}"),
    }
    let partial = server.database("partial");
    server
        .admin_of("partial")
        .batch_execute("CREATE TABLE sales (x INT)")
        .unwrap();
    match PgStore::connect(&partial) {
        Err(e @ StoreError::Corrupt { .. }) => {
            assert!(e.to_string().contains("not a whole bazaar store"), "{e}");
        }
        other => panic!("a partial store opened: {other:?}"),
    }
}

/// A batch that does not fit is rejected and nothing is written.
#[test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_ctl): cargo test -- --ignored"]
fn a_batch_that_does_not_fit_is_rejected_and_nothing_is_written() {
    let server = server!("rejected");
    let url = server.database("rejected");
    let store = PgStore::connect(&url).unwrap();
    let mut book = store
        .open(Claim::unleased(Epoch(1)), &Pricing::default())
        .unwrap();
    let first = book.serve(
        &mut [(Timestamp::new(1, PeerId(1)), offer(1, 1, Product::Boar, 2))],
        &mut [],
    );
    store.commit(Epoch(1), &first).unwrap();
    assert!(matches!(
        store.commit(Epoch(1), &first),
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        store.commit(Epoch(0), &Batch::default()),
        Err(StoreError::Fenced { .. })
    ));
    assert_eq!(store.books().unwrap(), Some(book.clone()));
    let reopened = PgStore::connect(&url).unwrap();
    assert_eq!(reopened.books().unwrap(), Some(book));
    let _: Book = reopened
        .open(Claim::unleased(Epoch(2)), &Pricing::default())
        .unwrap();
}
