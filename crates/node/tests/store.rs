//! The SQLite store: round trips through new instances (as a new process
//! would open it), fencing across instances, damaged files, the reports,
//! and a property test against the in-memory store.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use bazaar_market::{Batch, Book, LedgerEntry, Pricing, Trader, TraderInput};
use bazaar_node::store::{CheckpointPolicy, Claim, MemStore, SqliteStore, Store, StoreError};
use bazaar_protocol::{Buy, Epoch, Money, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use proptest::prelude::*;

/// The audit of the store in `dir`, as `bazaar audit` runs it.
fn audit_report(dir: &Path) -> Result<(String, bool), StoreError> {
    SqliteStore::open_existing(dir)?.audit_report()
}

/// The ledger of the store in `dir`, as `bazaar ledger` prints it.
fn ledger_lines(dir: &Path) -> Result<Vec<String>, StoreError> {
    SqliteStore::open_existing(dir)?.ledger_lines()
}

/// A fresh folder under the system's temp folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "bazaar-store-test-{}-{name}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        Self(path)
    }

    fn db(&self) -> PathBuf {
        self.0.join("bazaar.db")
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
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

/// A checkpoint every third batch, and never by time.
const EVERY_THIRD_BATCH: CheckpointPolicy = CheckpointPolicy {
    every_batches: 3,
    every_sales: u64::MAX,
    every: std::time::Duration::from_secs(3_600),
};

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

/// Drives a trader through a few busy batches, committing each to `store`
/// before anything else, as the node does; returns the trader and the sales
/// it made, in order.
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
                // A retry of the previous round's request: answered from the
                // book, never filled twice.
                let retry = self::buy(buyer, round, product, buyer - 2);
                trader.handle(TraderInput::Buy {
                    at: tick(buyer),
                    buy: retry,
                });
            }
        }
        let persist = trader.flush().expect("a round of offers and buys waits");
        assert!(!persist.batch.is_empty());
        store.commit(epoch, &persist.batch).unwrap();
        sales.extend_from_slice(&persist.batch.sales);
    }
    assert!(sales.len() > 10, "the trade sold goods");
    (trader, sales)
}

#[test]
fn a_new_instance_loads_the_books_committed_by_another() {
    let dir = TempDir::new("round-trip");
    let trader = {
        let store = SqliteStore::open(&dir).unwrap();
        trade(&store, Epoch(1)).0
    };
    // A new process: a new instance on the same folder, a new epoch.
    let store = SqliteStore::open(&dir).unwrap();
    assert_eq!(store.epoch().unwrap(), Epoch(1));
    let loaded = store
        .open(Claim::unleased(Epoch(2)), &Pricing::default())
        .unwrap();
    assert_eq!(&loaded, trader.book());
    assert_eq!(store.books().unwrap().as_ref(), Some(trader.book()));
    assert_eq!(store.epoch().unwrap(), Epoch(2));
    loaded.audit().unwrap();
}

#[test]
fn the_sqlite_store_commits_what_the_memory_store_commits() {
    let dir = TempDir::new("same-as-mem");
    let mem = MemStore::new();
    let sqlite = SqliteStore::open(&dir).unwrap();
    let (by_mem, _) = trade(&mem, Epoch(4));
    let (by_sqlite, _) = trade(&sqlite, Epoch(4));
    assert_eq!(by_mem.book(), by_sqlite.book());
    assert_eq!(mem.books().unwrap(), sqlite.books().unwrap());
}

#[test]
fn a_never_opened_store_is_empty_and_keeps_its_first_pricing() {
    let dir = TempDir::new("fresh");
    let store = SqliteStore::open(&dir).unwrap();
    assert!(dir.db().is_file());
    assert_eq!(store.epoch().unwrap(), Epoch(0));
    assert_eq!(store.books().unwrap(), None);
    let pricing = Pricing {
        fish: Money(123),
        commission_bps: 250,
        ..Pricing::default()
    };
    let book = store.open(Claim::unleased(Epoch(1)), &pricing).unwrap();
    assert_eq!(book, Book::new(pricing).unwrap());
    drop(store);
    // The next trader gets the stored prices, as from the memory store.
    let store = SqliteStore::open(&dir).unwrap();
    let book = store
        .open(Claim::unleased(Epoch(2)), &Pricing::default())
        .unwrap();
    assert_eq!(book.pricing(), &pricing);
}

#[test]
fn an_older_epoch_cannot_commit_after_a_newer_one_opened() {
    let dir = TempDir::new("fence-one");
    let store = SqliteStore::open(&dir).unwrap();
    store
        .open(Claim::unleased(Epoch(1)), &Pricing::default())
        .unwrap();
    store.commit(Epoch(1), &Batch::default()).unwrap();
    store
        .open(Claim::unleased(Epoch(2)), &Pricing::default())
        .unwrap();
    let refused = store.commit(Epoch(1), &Batch::default()).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "epoch 1 is fenced: the store has seen epoch 2"
    );
    assert!(matches!(
        store.open(Claim::unleased(Epoch(2)), &Pricing::default()),
        Err(StoreError::Fenced {
            epoch: Epoch(2),
            newest: Epoch(2)
        })
    ));
}

/// The election never claims past `Epoch::MAX` (`i64::MAX`), and every
/// store must hold that epoch: trade at it, reopen at it, and be fenced by it.
#[test]
fn the_largest_epoch_the_election_claims_is_stored_and_fences() {
    let dir = TempDir::new("epoch-max");
    let top = Epoch::MAX;
    let below = Epoch(Epoch::MAX.0 - 1);
    for store in [
        Box::new(SqliteStore::open(&dir).unwrap()) as Box<dyn Store>,
        Box::new(MemStore::new()),
    ] {
        store
            .open(Claim::unleased(below), &Pricing::default())
            .unwrap();
        store.commit(below, &Batch::default()).unwrap();
        let (_, sales) = trade(store.as_ref(), top);
        assert!(!sales.is_empty());
        assert!(matches!(
            store.commit(below, &Batch::default()),
            Err(StoreError::Fenced { epoch, newest }) if epoch == below && newest == top
        ));
    }
    // A new instance, as a new process would open it, reads the epoch back.
    let again = SqliteStore::open(&dir).unwrap();
    assert!(matches!(
        again.open(Claim::unleased(below), &Pricing::default()),
        Err(StoreError::Fenced { newest, .. }) if newest == top
    ));
}

#[test]
fn a_commit_before_any_open_is_fenced() {
    let dir = TempDir::new("fence-unopened");
    let store = SqliteStore::open(&dir).unwrap();
    let mut book = Book::new(Pricing::default()).unwrap();
    let batch = book.serve(
        &mut [(Timestamp::new(1, PeerId(1)), offer(1, 1, Product::Fish, 2))],
        &mut [],
    );
    assert!(matches!(
        store.commit(Epoch(0), &batch),
        Err(StoreError::Fenced { .. })
    ));
    assert_eq!(store.books().unwrap(), None);
}

#[test]
fn a_deposed_trader_in_another_process_cannot_sell() {
    let dir = TempDir::new("fence-two");
    let old = SqliteStore::open(&dir).unwrap();
    let new = SqliteStore::open(&dir).unwrap();
    let mut old_book = old
        .open(Claim::unleased(Epoch(1)), &Pricing::default())
        .unwrap();
    let stock = old_book.serve(
        &mut [(Timestamp::new(1, PeerId(2)), offer(2, 1, Product::Fish, 5))],
        &mut [],
    );
    old.commit(Epoch(1), &stock).unwrap();

    // The new trader opens the same folder and sells.
    let mut new_book = new
        .open(Claim::unleased(Epoch(2)), &Pricing::default())
        .unwrap();
    assert_eq!(new_book, old_book);
    let sold = new_book.serve(
        &mut [],
        &mut [(Timestamp::new(3, PeerId(4)), buy(4, 1, Product::Fish, 2))],
    );
    assert_eq!(sold.sales.len(), 1);
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
    // Nor can it come back with the epoch it did not win.
    assert!(matches!(
        old.open(Claim::unleased(Epoch(2)), &Pricing::default()),
        Err(StoreError::Fenced { .. })
    ));
    assert_eq!(old.epoch().unwrap(), Epoch(2));
    assert_eq!(old.books().unwrap(), Some(new_book.clone()));

    // When it wins a later election it sees the other's sale.
    let reloaded = old
        .open(Claim::unleased(Epoch(3)), &Pricing::default())
        .unwrap();
    assert_eq!(reloaded, new_book);
    assert!(matches!(
        new.commit(Epoch(2), &Batch::default()),
        Err(StoreError::Fenced { .. })
    ));
    let (report, passed) = audit_report(&dir).unwrap();
    assert!(passed, "{report}");
}

#[test]
fn racing_traders_in_threads_never_interleave_their_batches() {
    let dir = TempDir::new("fence-race");
    SqliteStore::open(&dir).unwrap();
    let accepted: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|me| {
                let dir = &dir;
                scope.spawn(move || {
                    let store = SqliteStore::open(dir).unwrap();
                    let mut sold = 0;
                    let mut round = 0u64;
                    while round < 40 {
                        // Each opens with epochs of its own parity, so the
                        // two keep deposing each other.
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
    let store = SqliteStore::open(&dir).unwrap();
    let book = store.books().unwrap().unwrap();
    assert_eq!(book.totals().sales, accepted.iter().sum::<usize>() as u64);
    let (report, passed) = audit_report(&dir).unwrap();
    assert!(passed, "{report}");
}

#[test]
fn a_batch_that_does_not_fit_is_rejected_and_nothing_is_written() {
    let dir = TempDir::new("rejected");
    let store = SqliteStore::open(&dir).unwrap();
    let mut book = store
        .open(Claim::unleased(Epoch(1)), &Pricing::default())
        .unwrap();
    let first = book.serve(
        &mut [(Timestamp::new(1, PeerId(1)), offer(1, 1, Product::Boar, 2))],
        &mut [],
    );
    store.commit(Epoch(1), &first).unwrap();
    // The same deposit twice: a bug in the trader, never a network fault.
    assert!(matches!(
        store.commit(Epoch(1), &first),
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(store.books().unwrap(), Some(book.clone()));
    let next = book.serve(
        &mut [],
        &mut [(Timestamp::new(2, PeerId(5)), buy(5, 1, Product::Boar, 1))],
    );
    store.commit(Epoch(1), &next).unwrap();
    let reopened = SqliteStore::open(&dir).unwrap();
    assert_eq!(reopened.books().unwrap(), Some(book));
}

/// Expects an error of the given kind naming `path`, in its fields and its
/// message.
fn assert_names(error: &StoreError, corrupt: bool, path: &Path) {
    let named = match error {
        StoreError::Corrupt { path, .. } if corrupt => path,
        StoreError::Io { path, .. } if !corrupt => path,
        other => panic!(
            "expected a {} error, got {other:?}",
            if corrupt { "Corrupt" } else { "Io" }
        ),
    };
    assert_eq!(named, path);
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_file_of_garbage_is_corrupt_not_an_empty_market() {
    let dir = TempDir::new("garbage");
    fs::create_dir_all(&dir).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    fs::write(dir.db(), garbage).unwrap();
    let error = SqliteStore::open(&dir).unwrap_err();
    assert_names(&error, true, &dir.db());
    assert_names(&audit_report(&dir).unwrap_err(), true, &dir.db());
}

/// A folder holding a store with some history, closed.
fn stored(name: &str) -> (TempDir, Book) {
    let dir = TempDir::new(name);
    let store = SqliteStore::open(&dir).unwrap();
    // Enough history to span many pages.
    let mut book = trade(&store, Epoch(1)).0.into_book();
    for i in 0..200u64 {
        let batch = book.serve(
            &mut [(
                Timestamp::new(100 + i, PeerId(1)),
                offer(1, 100 + i, Product::Fish, 4),
            )],
            &mut [(
                Timestamp::new(100 + i, PeerId(9)),
                buy(9, 100 + i, Product::Fish, 3),
            )],
        );
        store.commit(Epoch(1), &batch).unwrap();
    }
    drop(store);
    (dir, book)
}

#[test]
fn a_truncated_database_is_corrupt_not_an_empty_market() {
    let (dir, _) = stored("truncated");
    let len = fs::metadata(dir.db()).unwrap().len();
    assert!(len > 10 * 4096, "the store spans many pages: {len} bytes");
    for keep in [len / 2, 4096 * 3 + 100, 60, 0] {
        let file = fs::OpenOptions::new().write(true).open(dir.db()).unwrap();
        file.set_len(keep).unwrap();
        drop(file);
        let error = SqliteStore::open(&dir)
            .err()
            .unwrap_or_else(|| panic!("a database cut to {keep} bytes opened"));
        assert_names(&error, true, &dir.db());
    }
}

#[test]
fn an_unreadable_path_is_an_io_error_naming_it() {
    let dir = TempDir::new("unreadable");
    // The data folder is a file.
    fs::write(&*dir, b"not a folder").unwrap();
    assert_names(&SqliteStore::open(&dir).unwrap_err(), false, &dir);
    fs::remove_file(&*dir).unwrap();
    // The database is a folder.
    fs::create_dir_all(dir.db()).unwrap();
    assert_names(&SqliteStore::open(&dir).unwrap_err(), false, &dir.db());
    // Reports never create a store where there is none.
    let missing = TempDir::new("missing");
    assert_names(&audit_report(&missing).unwrap_err(), false, &missing.db());
    assert_names(&ledger_lines(&missing).unwrap_err(), false, &missing.db());
    assert!(!missing.exists());
}

#[test]
fn the_ledger_prints_in_the_labs_format_in_ledger_order() {
    let dir = TempDir::new("ledger");
    let store = SqliteStore::open(&dir).unwrap();
    let (_, entries) = trade(&store, Epoch(3));
    let lines = ledger_lines(&dir).unwrap();
    assert_eq!(lines.len(), entries.len());
    for (line, entry) in lines.iter().zip(entries) {
        assert!(line.starts_with("epoch 3 batch "), "{line}");
        assert!(line.ends_with(&format!(": {entry}")), "{line}");
    }
    assert_eq!(
        lines[0],
        "epoch 3 batch 1: peer 4 bought 2 salt from peer 2"
    );
}

#[test]
fn the_audit_summarises_a_sound_store() {
    let (dir, book) = stored("audit");
    let (report, passed) = audit_report(&dir).unwrap();
    assert!(passed, "{report}");
    let summary = book.audit().unwrap();
    let fish = summary.goods[&Product::Fish];
    assert!(report.contains(&format!(
        "trades: {} sales filling {} requests",
        summary.sales, summary.requests
    )));
    assert!(report.contains(&format!(
        "fish: offered {}, sold {}, on offer {}",
        fish.offered, fish.sold, fish.on_offer
    )));
    assert!(report.contains(&format!(
        "money: buyers paid {} = sellers' credits {} + commission {}",
        summary.paid, summary.credits, summary.commission
    )));
    assert!(report.ends_with("audit passed\n"), "{report}");
}

#[test]
fn the_audit_names_rows_that_disagree_with_the_batches() {
    let (dir, _) = stored("tampered");
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    // The sales rows are JSON in their batch's row: sale 7's quantity is
    // element 5 of its row.
    conn.execute(
        "UPDATE batches SET sale_rows = json_replace(sale_rows, '$[' || (7 - first_sale) || '][5]', \
         (sale_rows -> (7 - first_sale) ->> 5) + 1) \
         WHERE first_sale <= 7 AND 7 < first_sale + sales",
        [],
    )
    .unwrap();
    drop(conn);
    let (report, passed) = audit_report(&dir).unwrap();
    assert!(!passed, "{report}");
    assert!(
        report.contains("VIOLATION: the sales table disagrees with batch 2: row (7, "),
        "{report}"
    );
    assert!(
        report.contains("VIOLATION: 1 requests whose sales are not theirs, or fill beyond"),
        "{report}"
    );
}

#[test]
fn the_audit_names_a_missing_batch() {
    let (dir, _) = stored("gap");
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let last: i64 = conn
        .query_row("SELECT MAX(seq) FROM batches", [], |row| row.get(0))
        .unwrap();
    // Sequence numbers run 1..=last: lose the one before the last.
    conn.execute("DELETE FROM batches WHERE seq = ?1", [last - 1])
        .unwrap();
    drop(conn);
    let (report, passed) = audit_report(&dir).unwrap();
    assert!(!passed, "{report}");
    assert!(
        report.contains(&format!(
            "batches missing: batch {last} follows batch {}",
            last - 2
        )),
        "{report}"
    );
}

/// One step of a random market history.
#[derive(Debug, Clone)]
enum Step {
    Offer {
        seller: u32,
        seq: u64,
        product: usize,
        quantity: u32,
    },
    Buy {
        buyer: u32,
        seq: u64,
        product: usize,
        quantity: u32,
    },
    Flush,
    Failover,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1..4u32, 1..6u64, 0..3usize, 0..6u32).prop_map(|(seller, seq, product, quantity)| {
            Step::Offer { seller, seq, product, quantity }
        }),
        4 => (4..7u32, 1..8u64, 0..3usize, 1..6u32).prop_map(|(buyer, seq, product, quantity)| {
            Step::Buy { buyer, seq, product, quantity }
        }),
        2 => Just(Step::Flush),
        1 => Just(Step::Failover),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Offers, buys and retries (small id ranges repeat ids), served in
    /// batches, with failovers to a new instance and epoch: the SQLite
    /// store loads what the memory store loads, and both match the trader.
    #[test]
    fn sqlite_and_memory_stores_load_identical_books(steps in prop::collection::vec(step(), 1..60)) {
        let dir = TempDir::new("prop");
        // Checkpoints every few batches, so that failovers open from them.
        let mem = MemStore::checkpointing_every(3);
        let mut sqlite = SqliteStore::open_with(&dir, EVERY_THIRD_BATCH).unwrap();
        let mut epoch = Epoch(1);
        let mut book = mem.open(Claim::unleased(epoch), &Pricing::default()).unwrap();
        prop_assert_eq!(&sqlite.open(Claim::unleased(epoch), &Pricing::default()).unwrap(), &book);
        let mut offers = Vec::new();
        let mut buys = Vec::new();
        let mut clock = 0;
        for step in steps.into_iter().chain([Step::Flush, Step::Failover]) {
            clock += 1;
            match step {
                Step::Offer { seller, seq, product, quantity } => offers.push((
                    Timestamp::new(clock, PeerId(seller)),
                    offer(seller, seq, Product::ALL[product], quantity),
                )),
                Step::Buy { buyer, seq, product, quantity } => buys.push((
                    Timestamp::new(clock, PeerId(buyer)),
                    buy(buyer, seq, Product::ALL[product], quantity),
                )),
                Step::Flush => {
                    let batch = book.serve(&mut offers, &mut buys);
                    offers.clear();
                    buys.clear();
                    mem.commit(epoch, &batch).unwrap();
                    sqlite.commit(epoch, &batch).unwrap();
                }
                Step::Failover => {
                    // Unflushed inputs are lost with the trader; a new
                    // process opens the folder with the next epoch.
                    offers.clear();
                    buys.clear();
                    epoch = epoch.next();
                    drop(sqlite);
                    sqlite = SqliteStore::open_with(&dir, EVERY_THIRD_BATCH).unwrap();
                    let by_mem = mem.open(Claim::unleased(epoch), &Pricing::default()).unwrap();
                    let by_sqlite = sqlite.open(Claim::unleased(epoch), &Pricing::default()).unwrap();
                    prop_assert_eq!(&by_mem, &book);
                    prop_assert_eq!(&by_sqlite, &book);
                }
            }
        }
        prop_assert_eq!(sqlite.books().unwrap(), mem.books().unwrap());
        let (report, passed) = audit_report(&dir).unwrap();
        prop_assert!(passed, "{}", report);
        let lines = ledger_lines(&dir).unwrap();
        prop_assert_eq!(lines.len() as u64, book.totals().sales);
    }
}

/// A store written by the code before checkpoints (schema version 1, see
/// `tests/fixtures/README.md`) opens, is upgraded in place (through
/// version 2's lease and checkpoints to version 3's JSON rows) with a
/// first checkpoint, keeps its books, trades on, and its audit still
/// passes.
#[test]
fn a_version_1_store_is_upgraded_and_its_audit_still_passes() {
    let dir = TempDir::new("v1");
    fs::create_dir_all(&dir).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1/bazaar.db");
    fs::copy(&fixture, dir.db()).unwrap();

    let store = SqliteStore::open(&dir).unwrap();
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let version: i64 = conn
        .query_row("SELECT schema_version FROM meta", [], |row| row.get(0))
        .unwrap();
    let checkpoints: Vec<i64> = conn
        .prepare("SELECT seq FROM checkpoints")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!((version, checkpoints), (3, vec![9]));

    let (report, passed) = audit_report(&dir).unwrap();
    assert!(passed, "{report}");
    for line in [
        "store ",
        "epoch 7, 9 batches",
        "trades: 45 sales filling 36 requests",
        "fish: offered 54, sold 54, on offer 0",
        "salt: offered 72, sold 30, on offer 42",
        "boar: offered 90, sold 30, on offer 60",
        "money: buyers paid 1290.00 = sellers' credits 1161.00 + commission 129.00",
    ] {
        assert!(report.contains(line), "{line:?} missing from:\n{report}");
    }
    assert_eq!(ledger_lines(&dir).unwrap().len(), 45);

    // The next trader opens the upgraded books and trades on.
    let book = store
        .open(Claim::unleased(Epoch(8)), &Pricing::default())
        .unwrap();
    assert_eq!(book.totals().sales, 45);
    let mut trader = Trader::new(book);
    trader.handle(TraderInput::Buy {
        at: Timestamp::new(1_000, PeerId(4)),
        buy: buy(4, 100, Product::Salt, 2),
    });
    let persist = trader.flush().unwrap();
    store.commit(Epoch(8), &persist.batch).unwrap();
    let (report, passed) = audit_report(&dir).unwrap();
    assert!(passed, "{report}");
    assert!(
        report.contains("trades: 46 sales filling 37 requests"),
        "{report}"
    );
}

/// Opening the books costs the newest checkpoint and the batches after it:
/// damage to a batch before the checkpoint does not stop a trader from
/// opening them (the audit, which reads the whole history, names it).
#[test]
fn the_books_open_from_the_newest_checkpoint_and_the_batches_after_it() {
    let dir = TempDir::new("checkpoint");
    let store = SqliteStore::open_with(&dir, EVERY_THIRD_BATCH).unwrap();
    let (trader, _) = trade(&store, Epoch(1));
    drop(store);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let checkpoints: Vec<i64> = conn
        .prepare("SELECT seq FROM checkpoints")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        checkpoints,
        [6],
        "six batches, a checkpoint every third, the newest kept"
    );
    conn.execute("UPDATE batches SET batch = x'ff' WHERE seq = 2", [])
        .unwrap();
    drop(conn);

    let store = SqliteStore::open_with(&dir, EVERY_THIRD_BATCH).unwrap();
    assert_eq!(
        &store
            .open(Claim::unleased(Epoch(2)), &Pricing::default())
            .unwrap(),
        trader.book()
    );
    let err = audit_report(&dir).unwrap_err().to_string();
    assert!(err.contains("batch 2 does not decode"), "{err}");
}

/// A claim of `epoch` by `trader` with a minute's lease.
fn leased(epoch: u64, trader: u32) -> Claim {
    Claim {
        epoch: Epoch(epoch),
        trader: PeerId(trader),
        lease: std::time::Duration::from_secs(60),
    }
}

#[test]
fn a_lease_is_void_once_its_holders_process_is_gone_and_only_then() {
    let dir = TempDir::new("lease-gone");
    let pricing = Pricing::default();
    // Two instances stand for two processes on one host.
    let holder = SqliteStore::open(&dir).unwrap();
    holder.open(leased(1, 6), &pricing).unwrap();
    let claimant = SqliteStore::open(&dir).unwrap();
    assert!(
        matches!(
            claimant.open(leased(2, 5), &pricing),
            Err(StoreError::Leased {
                holder: PeerId(6),
                ..
            })
        ),
        "a live holder keeps its lease"
    );
    // Peers of one process share a store: a crashed task's lease is
    // waited out, since the process that holds its lock lives on.
    assert!(matches!(
        holder.open(leased(2, 5), &pricing),
        Err(StoreError::Leased {
            holder: PeerId(6),
            ..
        })
    ));
    // The holder's process ends (however: its lock goes with it).
    drop(holder);
    claimant
        .open(leased(2, 5), &pricing)
        .expect("the holder's process is gone: no minute to wait");
    let third = SqliteStore::open(&dir).unwrap();
    assert!(
        matches!(
            third.open(leased(3, 4), &pricing),
            Err(StoreError::Leased {
                holder: PeerId(5),
                ..
            })
        ),
        "the new holder's lease holds in turn"
    );
    let lock_files = fs::read_dir(&*dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("lease-"))
        })
        .count();
    assert!(lock_files <= 2, "old lock files are swept: {lock_files}");
}
