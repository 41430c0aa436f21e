//! Buy requests served per second by the book, on one thread.
//!
//! Batches of 64 buys (1 to 10 units, shuffled timestamps, so the sort is
//! measured) against a well-stocked book that already answered 100,000
//! requests. Restocking and the periodic reset of the book to that size
//! happen outside the timed region.
#![allow(missing_docs)] // criterion_group! makes an undocumented pub fn.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use bazaar_market::{Batch, Book, Pricing, Trader, TraderInput};
use bazaar_protocol::{Buy, Offer, OfferId, PeerId, Product, RequestId, Timestamp};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 64;
const BUYERS: u32 = 16;
const SELLERS: u32 = 8;
/// Batches served before the book is reset, to bound its memory.
const RESET_EVERY: u64 = 4_096;

/// Feeds a book with deposits and buys and a deterministic request stream.
struct Market {
    offer_seq: u64,
    request_seq: u64,
    time: u64,
}

impl Market {
    fn new() -> Self {
        Self {
            offer_seq: 0,
            request_seq: 0,
            time: 0,
        }
    }

    /// Deposits so that every product has at least `units` on offer.
    fn restock(&mut self, book: &mut Book, units: u64) {
        let mut offers = Vec::new();
        for product in Product::ALL {
            let mut have = book.on_offer(product);
            while have < units {
                self.offer_seq += 1;
                let seller = PeerId(100 + (self.offer_seq % u64::from(SELLERS)) as u32);
                let offer = Offer {
                    id: OfferId {
                        seller,
                        seq: self.offer_seq,
                    },
                    product,
                    quantity: 10,
                };
                self.time += 1;
                offers.push((Timestamp::new(self.time, seller), offer));
                have += 10;
            }
        }
        book.serve(&mut offers, &mut []);
    }

    /// A batch of buys in shuffled timestamp order.
    fn buys(&mut self, out: &mut Vec<(Timestamp, Buy)>) {
        out.clear();
        let base = self.time;
        for i in 0..BATCH as u64 {
            self.request_seq += 1;
            let buyer = PeerId((self.request_seq % u64::from(BUYERS)) as u32 + 1);
            let product = Product::ALL[(self.request_seq % 3) as usize];
            let quantity = (self.request_seq % 10) as u32 + 1;
            // A fixed permutation of 0..64, so arrival order is not time order.
            let time = base + (i * 37) % BATCH as u64;
            let id = RequestId {
                buyer,
                seq: self.request_seq,
            };
            out.push((
                Timestamp::new(time, buyer),
                Buy {
                    id,
                    product,
                    quantity,
                },
            ));
        }
        self.time += BATCH as u64;
    }
}

/// A book that has already answered `requests` requests.
fn seasoned_book(market: &mut Market, requests: u64) -> Book {
    let mut book = Book::new(Pricing::default()).expect("default pricing is valid");
    let mut buys = Vec::new();
    let mut batch = Batch::default();
    for _ in 0..requests / BATCH as u64 {
        market.restock(&mut book, 1_000);
        market.buys(&mut buys);
        book.serve_into(&mut [], &mut buys, &mut batch);
    }
    book
}

/// The book alone, and the trader around it.
fn serve(c: &mut Criterion) {
    let mut market = Market::new();
    let base = seasoned_book(&mut market, 100_000);
    let mut group = c.benchmark_group("book");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("serve_64_buys", |b| {
        b.iter_custom(|iters| {
            let mut book = base.clone();
            let mut buys = Vec::with_capacity(BATCH);
            let mut batch = Batch::default();
            let mut timed = Duration::ZERO;
            for i in 0..iters {
                if i % RESET_EVERY == RESET_EVERY - 1 {
                    book = base.clone();
                }
                market.restock(&mut book, 700);
                market.buys(&mut buys);
                let start = Instant::now();
                book.serve_into(&mut [], &mut buys, &mut batch);
                timed += start.elapsed();
                black_box(&batch);
            }
            timed
        });
    });
    group.bench_function("trader_flush_64_buys", |b| {
        b.iter_custom(|iters| {
            let mut trader = Trader::new(base.clone());
            let mut buys = Vec::with_capacity(BATCH);
            let mut timed = Duration::ZERO;
            for i in 0..iters {
                if i % RESET_EVERY == RESET_EVERY - 1 {
                    trader = Trader::new(base.clone());
                }
                let mut book = trader.into_book();
                market.restock(&mut book, 700);
                trader = Trader::new(book);
                market.buys(&mut buys);
                let start = Instant::now();
                for &(at, buy) in &buys {
                    black_box(trader.handle(TraderInput::Buy { at, buy }));
                }
                black_box(trader.flush());
                timed += start.elapsed();
            }
            timed
        });
    });
    group.finish();
}

criterion_group!(benches, serve);
criterion_main!(benches);
