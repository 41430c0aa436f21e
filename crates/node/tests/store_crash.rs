//! The durable store SIGKILLed at random points of its commit path: a
//! child process (this test binary, run again) commits batches as fast as
//! it can, with a book checkpoint every third batch and the WAL
//! checkpoints running, and says so after each commit returns; the test
//! kills it at a random moment, over and over. After each kill the books
//! open, hold every batch the child had seen committed (and at most the
//! one in flight besides), and the audit passes: the batch rows, their
//! facts, the checkpoints and the WAL agree whatever the kill interrupted.

use std::{
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use bazaar_market::{Book, Pricing};
use bazaar_node::store::{CheckpointPolicy, Claim, SqliteStore, Store};
use bazaar_protocol::{Buy, Offer, OfferId, PeerId, Product, RequestId, Timestamp};

/// Where the child finds its store, and what tells it that it is one.
const CHILD: &str = "BAZAAR_STORE_CRASH_CHILD";

/// A book checkpoint every third batch: kills land between, during and
/// right after them.
const POLICY: CheckpointPolicy = CheckpointPolicy {
    every_batches: 3,
    every_sales: 1 << 20,
    every: Duration::from_secs(3600),
};

/// The next batch after `book`: a deposit of `n` fish and `n` one-fish
/// buys from distinct buyers, all numbered by the books' sales so far so
/// that a new incarnation carries on where the books are.
fn next_batch(book: &mut Book, n: u32) -> bazaar_market::Batch {
    let seq = book.totals().sales + 1;
    let seller = PeerId(1);
    let mut offers = [(
        Timestamp::new(seq, seller),
        Offer {
            id: OfferId { seller, seq },
            product: Product::Fish,
            quantity: n,
        },
    )];
    let mut buys: Vec<_> = (0..n)
        .map(|i| {
            let buyer = PeerId(2 + i);
            (
                Timestamp::new(seq, buyer),
                Buy {
                    id: RequestId { buyer, seq },
                    product: Product::Fish,
                    quantity: 1,
                },
            )
        })
        .collect();
    book.serve(&mut offers, &mut buys)
}

/// The child: opens the books in a new epoch and commits until killed,
/// printing the sales in its books after each commit returns.
#[test]
fn child_commits_until_killed() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return; // Run by the parent only.
    };
    let store = SqliteStore::open_with(&PathBuf::from(dir), POLICY).expect("the store opens");
    let epoch = store.epoch().expect("an epoch").next();
    let mut book = store
        .open(Claim::unleased(epoch), &Pricing::default())
        .expect("the books open");
    let mut out = std::io::stdout().lock();
    for round in 0_u32.. {
        let batch = next_batch(&mut book, 1 + round % 5);
        store.commit(epoch, &batch).expect("the commit");
        writeln!(out, "committed {}", book.totals().sales).expect("the parent reads");
        out.flush().expect("the parent reads");
    }
}

#[test]
fn a_store_sigkilled_anywhere_in_its_commit_path_keeps_every_acknowledged_batch() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("bazaar-store-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut moments = 0x5eed_u64;
    let mut acknowledged = 0;
    for kill in 0..20 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_commits_until_killed",
                "--nocapture",
                "--quiet",
            ])
            .env(CHILD, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (lines, heard) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(sales) = line.strip_prefix("committed ") {
                    let _ = lines.send(sales.parse::<u64>().unwrap());
                }
            }
        });
        // Trading first, then a kill at a pseudo-random moment.
        heard
            .recv_timeout(Duration::from_secs(30))
            .expect("the child commits");
        moments ^= moments << 13;
        moments ^= moments >> 7;
        moments ^= moments << 17;
        thread::sleep(Duration::from_millis(moments % 150));
        // SIGKILL, by the PID of the child this test started.
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        acknowledged = heard
            .try_iter()
            .last()
            .unwrap_or(acknowledged)
            .max(acknowledged);

        let store = SqliteStore::open(&dir).unwrap();
        let sales = store.books().unwrap().expect("books").totals().sales;
        assert!(
            (acknowledged..=acknowledged + 5).contains(&sales),
            "kill {kill}: the child saw {acknowledged} sales committed, the books hold {sales}"
        );
        acknowledged = sales;
        let (report, passed) = store.audit_report().unwrap();
        assert!(passed, "kill {kill}: {report}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
