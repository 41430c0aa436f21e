//! Encode and decode of a buy envelope: the message on every buyer's path.
#![allow(missing_docs)] // criterion_group! makes an undocumented pub fn.

use bazaar_protocol::{Body, Buy, Envelope, PeerId, Product, RequestId, decode, encode};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn buy_envelope() -> Envelope {
    let id = RequestId {
        buyer: PeerId(3),
        seq: 1_234,
    };
    Envelope::new(
        PeerId(3),
        98_765,
        Body::Buy(Buy {
            id,
            product: Product::Salt,
            quantity: 7,
        }),
    )
}

fn codec(c: &mut Criterion) {
    let envelope = buy_envelope();
    let mut buf = Vec::with_capacity(64);
    c.bench_function("encode buy envelope", |b| {
        b.iter(|| {
            buf.clear();
            encode(black_box(&envelope), &mut buf).unwrap();
        });
    });
    let mut bytes = Vec::new();
    encode(&envelope, &mut bytes).unwrap();
    c.bench_function("decode buy envelope", |b| {
        b.iter(|| decode(black_box(&bytes)).unwrap());
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
