//! Commits per second of typical batches (1, 16 and 64 buys each) with the
//! SQLite store (durable: one fsync per batch) beside the in-memory store,
//! and the time a new trader takes to load the books.
//!
//! `cargo bench -p bazaar-node --bench store`. The SQLite files go in a
//! `bench-store` folder beside the bench binary (on the build's disk, not a
//! tmpfs, so fsync costs what it costs), or in `$BAZAAR_BENCH_DIR`.
#![allow(missing_docs)] // criterion_group! makes an undocumented pub fn.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use bazaar_market::{Batch, Book, Pricing};
use bazaar_node::store::{Claim, MemStore, SqliteStore, Store};
use bazaar_protocol::{Buy, Epoch, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

/// Where the SQLite stores go.
fn bench_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("BAZAAR_BENCH_DIR").map_or_else(
        || {
            let exe = std::env::current_exe().expect("the bench binary's path");
            exe.parent().expect("a folder").join("bench-store")
        },
        PathBuf::from,
    );
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Makes batches of `buys` one-unit buys from distinct buyers, each batch
/// restocked by one deposit, as a busy trader serves them.
struct Market {
    book: Book,
    clock: u64,
    buys: u64,
}

impl Market {
    fn new(book: Book, buys: u64) -> Self {
        Self {
            book,
            clock: 0,
            buys,
        }
    }

    fn next(&mut self) -> Batch {
        self.clock += 1;
        let seq = self.clock;
        let quantity = u32::try_from(self.buys).expect("a small batch");
        let mut offers = [(
            Timestamp::new(seq, PeerId(1)),
            Offer {
                id: OfferId {
                    seller: PeerId(1),
                    seq,
                },
                product: Product::Fish,
                quantity,
            },
        )];
        let mut buys: Vec<(Timestamp, Buy)> = (0..self.buys)
            .map(|i| {
                let buyer = PeerId(2 + u32::try_from(i).expect("a small batch"));
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
        let batch = self.book.serve(&mut offers, &mut buys);
        debug_assert_eq!(batch.sales.len() as u64, self.buys);
        batch
    }
}

/// Times `iters` commits of fresh batches; only the commits are timed.
fn commits(store: &dyn Store, market: &mut Market, iters: u64) -> Duration {
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        let batch = market.next();
        let start = Instant::now();
        store.commit(Epoch(1), &batch).expect("the commit");
        spent += start.elapsed();
    }
    spent
}

fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("commit");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for buys in [1u64, 16, 64] {
        group.throughput(Throughput::Elements(buys));
        let sqlite = SqliteStore::open(&bench_dir(&format!("commit-{buys}"))).expect("a store");
        let book = sqlite
            .open(Claim::unleased(Epoch(1)), &Pricing::default())
            .expect("opened");
        let mut market = Market::new(book, buys);
        group.bench_with_input(BenchmarkId::new("sqlite", buys), &buys, |b, _| {
            b.iter_custom(|iters| commits(&sqlite, &mut market, iters));
        });
        let mem = MemStore::new();
        let book = mem
            .open(Claim::unleased(Epoch(1)), &Pricing::default())
            .expect("opened");
        let mut market = Market::new(book, buys);
        group.bench_with_input(BenchmarkId::new("memory", buys), &buys, |b, _| {
            b.iter_custom(|iters| commits(&mem, &mut market, iters));
        });
    }
    group.finish();
}

/// A new trader's `open` on a store of 1,000 batches of 64 buys (64,000
/// sales), in a new instance each time as a new process would.
fn load(c: &mut Criterion) {
    let dir = bench_dir("load");
    {
        let store = SqliteStore::open(&dir).expect("a store");
        let book = store
            .open(Claim::unleased(Epoch(1)), &Pricing::default())
            .expect("opened");
        let mut market = Market::new(book, 64);
        commits(&store, &mut market, 1_000);
    }
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    let mut epoch = Epoch(1);
    group.bench_function("sqlite/64000-sales", |b| {
        b.iter(|| {
            epoch = epoch.next();
            let store = SqliteStore::open(&dir).expect("a store");
            let book = store
                .open(Claim::unleased(epoch), &Pricing::default())
                .expect("opened");
            assert_eq!(book.totals().sales, 64_000);
        });
    });
    group.finish();
}

/// Commit latency percentiles with the SQLite store, which criterion's
/// means hide: 2,000 commits per batch size, each timed alone.
fn latency() {
    for buys in [1u64, 16, 64] {
        let store = SqliteStore::open(&bench_dir(&format!("latency-{buys}"))).expect("a store");
        let book = store
            .open(Claim::unleased(Epoch(1)), &Pricing::default())
            .expect("opened");
        let mut market = Market::new(book, buys);
        let mut times: Vec<Duration> = (0..2_000)
            .map(|_| commits(&store, &mut market, 1))
            .collect();
        times.sort_unstable();
        let at = |q: usize| times[(times.len() - 1) * q / 100];
        let mean = times.iter().sum::<Duration>() / 2_000;
        println!(
            "latency/sqlite/{buys}: mean {mean:.2?}, p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
            at(50),
            at(90),
            at(99),
            at(100)
        );
    }
}

criterion_group!(benches, commit, load);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--test" || a == "--list");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !quick && (filters.is_empty() || filters.iter().any(|f| "latency".contains(f.as_str()))) {
        latency();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
