//! The book: offer order, partial fills, idempotence, timestamp order,
//! exact money, replay and snapshots.

use bazaar_market::{Book, MarketError, Pricing, RequestState, Served};
use bazaar_protocol::{
    Buy, BuyReply, Fill, Money, Offer, OfferId, PeerId, Product, RequestId, Timestamp,
};

const FISH: Product = Product::Fish;

fn book() -> Book {
    Book::new(Pricing::default()).unwrap()
}

fn offer(time: u64, seller: u32, seq: u64, product: Product, quantity: u32) -> (Timestamp, Offer) {
    let id = OfferId {
        seller: PeerId(seller),
        seq,
    };
    (
        Timestamp::new(time, PeerId(seller)),
        Offer {
            id,
            product,
            quantity,
        },
    )
}

fn buy(time: u64, buyer: u32, seq: u64, product: Product, quantity: u32) -> (Timestamp, Buy) {
    let id = RequestId {
        buyer: PeerId(buyer),
        seq,
    };
    (
        Timestamp::new(time, PeerId(buyer)),
        Buy {
            id,
            product,
            quantity,
        },
    )
}

fn req(buyer: u32, seq: u64) -> RequestId {
    RequestId {
        buyer: PeerId(buyer),
        seq,
    }
}

fn fill(seller: u32, quantity: u32) -> Fill {
    Fill {
        seller: PeerId(seller),
        quantity,
        unit_price: Money::units(10),
    }
}

/// A book holding 3 fish from peer 2 (offered first) and 4 from peer 3.
fn stocked() -> Book {
    let mut book = book();
    book.serve(
        &mut [offer(2, 3, 1, FISH, 4), offer(1, 2, 1, FISH, 3)],
        &mut [],
    );
    book
}

#[test]
fn a_buy_fills_from_several_sellers_in_offer_order() {
    let mut book = stocked();
    let batch = book.serve(&mut [], &mut [buy(5, 1, 1, FISH, 5)]);
    let reply = book.reply(req(1, 1)).unwrap();
    assert_eq!(reply.fills, vec![fill(2, 3), fill(3, 2)]);
    assert_eq!((reply.filled(), reply.requested), (5, 5));
    assert_eq!(batch.sales.len(), 2);
    let left: Vec<_> = book
        .lots(FISH)
        .map(|lot| (lot.offer.seller, lot.remaining))
        .collect();
    assert_eq!(left, vec![(PeerId(3), 2)]);
}

#[test]
fn stock_offered_in_an_earlier_batch_sells_first_whatever_its_timestamp() {
    let mut book = book();
    book.serve(&mut [offer(50, 3, 1, FISH, 2)], &mut []);
    book.serve(&mut [offer(1, 2, 1, FISH, 2)], &mut []);
    book.serve(&mut [], &mut [buy(60, 1, 1, FISH, 2)]);
    assert_eq!(book.reply(req(1, 1)).unwrap().fills, vec![fill(3, 2)]);
}

#[test]
fn a_buy_beyond_the_stock_is_filled_partly() {
    let mut book = stocked();
    book.serve(&mut [], &mut [buy(5, 1, 1, FISH, 10)]);
    let reply = book.reply(req(1, 1)).unwrap();
    assert_eq!((reply.requested, reply.filled()), (10, 7));
    assert_eq!(reply.paid(), Money::units(70));
    assert_eq!(book.on_offer(FISH), 0);
    assert_eq!(book.lots(FISH).count(), 0);
}

#[test]
fn a_buy_with_no_stock_is_answered_with_no_fills() {
    let mut book = stocked();
    let batch = book.serve(&mut [], &mut [buy(5, 1, 1, Product::Salt, 2)]);
    let expected = BuyReply {
        id: req(1, 1),
        product: Product::Salt,
        requested: 2,
        fills: Vec::new(),
    };
    assert_eq!(book.reply(req(1, 1)), Some(expected));
    assert!(batch.sales.is_empty());
    assert_eq!(batch.served.len(), 1);
}

#[test]
fn a_retried_request_gets_the_same_reply_and_is_not_filled_again() {
    let mut book = stocked();
    book.serve(&mut [], &mut [buy(5, 1, 1, FISH, 2)]);
    let first = book.reply(req(1, 1)).unwrap();
    let again = book.serve(&mut [], &mut [buy(9, 1, 1, FISH, 2)]);
    assert!(again.is_empty());
    assert_eq!(book.reply(req(1, 1)), Some(first));
    assert_eq!(book.totals().sales, 1);
    assert_eq!(book.on_offer(FISH), 5);
}

#[test]
fn a_buyer_s_older_request_is_superseded_and_never_filled() {
    let mut book = stocked();
    book.serve(&mut [], &mut [buy(5, 1, 1, FISH, 1)]);
    book.serve(&mut [], &mut [buy(6, 1, 2, FISH, 1)]);
    assert_eq!(book.request(req(1, 1)), RequestState::Superseded);
    assert_eq!(
        book.reply(req(1, 1)),
        None,
        "its buyer holds that reply already"
    );
    let late = book.serve(&mut [], &mut [buy(7, 1, 1, FISH, 1)]);
    assert!(late.is_empty(), "a late copy is not filled again");
    assert_eq!(book.request(req(1, 3)), RequestState::New);
    assert_eq!(
        book.on_offer(FISH),
        5,
        "seven stocked, one sold to each request"
    );
}

#[test]
fn a_sold_out_deposit_sent_again_is_acknowledged_with_nothing_left() {
    let mut book = book();
    book.serve(&mut [offer(1, 2, 1, FISH, 2)], &mut [buy(2, 1, 1, FISH, 2)]);
    let id = OfferId {
        seller: PeerId(2),
        seq: 1,
    };
    assert_eq!(book.remaining(id), Some(0));
    assert!(
        book.serve(&mut [offer(3, 2, 1, FISH, 2)], &mut [])
            .is_empty()
    );
    assert_eq!(book.on_offer(FISH), 0);
}

#[test]
fn a_request_twice_in_one_batch_is_filled_once() {
    let mut book = stocked();
    let batch = book.serve(&mut [], &mut [buy(5, 1, 1, FISH, 2), buy(6, 1, 1, FISH, 2)]);
    assert_eq!(batch.served.len(), 1);
    assert_eq!(book.on_offer(FISH), 5);
}

#[test]
fn a_re_sent_deposit_is_recorded_once() {
    let mut book = book();
    let first = book.serve(
        &mut [offer(1, 2, 1, FISH, 3), offer(2, 2, 1, FISH, 3)],
        &mut [],
    );
    let again = book.serve(&mut [offer(9, 2, 1, FISH, 3)], &mut []);
    assert_eq!(first.deposits.len(), 1);
    assert!(again.is_empty());
    assert_eq!(book.on_offer(FISH), 3);
    assert!(book.has_deposit(OfferId {
        seller: PeerId(2),
        seq: 1
    }));
}

#[test]
fn a_batch_is_served_in_timestamp_order_not_arrival_order() {
    let mut book = book();
    book.serve(&mut [offer(1, 2, 1, FISH, 5)], &mut []);
    let batch = book.serve(&mut [], &mut [buy(9, 1, 1, FISH, 4), buy(3, 4, 1, FISH, 4)]);
    assert_eq!(book.reply(req(4, 1)).unwrap().filled(), 4);
    assert_eq!(book.reply(req(1, 1)).unwrap().filled(), 1);
    let order: Vec<RequestId> = batch.served.iter().map(|s| s.request).collect();
    assert_eq!(order, vec![req(4, 1), req(1, 1)]);
}

#[test]
fn equal_times_are_served_lower_peer_first() {
    let mut book = book();
    book.serve(&mut [offer(1, 2, 1, FISH, 1)], &mut []);
    book.serve(&mut [], &mut [buy(7, 5, 1, FISH, 1), buy(7, 4, 1, FISH, 1)]);
    assert_eq!(book.reply(req(4, 1)).unwrap().filled(), 1);
    assert_eq!(book.reply(req(5, 1)).unwrap().filled(), 0);
}

#[test]
fn credits_and_commission_are_exact_to_the_cent() {
    let mut book = stocked();
    book.serve(&mut [], &mut [buy(5, 1, 1, FISH, 4)]);
    // 3 from peer 2, 1 from peer 3, at 10.00 with 10% commission.
    assert_eq!(book.credit(PeerId(2)), Money(2_700));
    assert_eq!(book.credit(PeerId(3)), Money(900));
    assert_eq!(book.commission(), Money(400));
    let summary = book.audit().unwrap();
    assert_eq!(summary.paid, Money::units(40));
    assert_eq!(summary.credits + summary.commission, summary.paid);
    let answer = &book.answers()[&PeerId(1)];
    assert_eq!(
        answer.sales[0].to_string(),
        "peer 1 bought 3 fish from peer 2"
    );
}

#[test]
fn odd_commission_rounds_toward_the_seller_and_keeps_every_cent() {
    let pricing = Pricing {
        fish: Money(333),
        commission_bps: 1_250,
        ..Pricing::default()
    };
    let mut book = Book::new(pricing).unwrap();
    book.serve(&mut [offer(1, 2, 1, FISH, 7)], &mut []);
    book.serve(&mut [], &mut [buy(5, 1, 1, FISH, 7)]);
    // 7 x 3.33 = 23.31; 12.5% = 2.91375: commission 2.91, credit 20.40.
    assert_eq!(book.commission(), Money(291));
    assert_eq!(book.credit(PeerId(2)), Money(2_040));
    book.audit().unwrap();
}

#[test]
fn a_commission_over_one_hundred_percent_is_refused() {
    let pricing = Pricing {
        commission_bps: 20_000,
        ..Pricing::default()
    };
    assert_eq!(
        Book::new(pricing),
        Err(MarketError::CommissionTooHigh { bps: 20_000 })
    );
}

#[test]
fn applying_a_batch_to_the_book_before_it_gives_the_book_after_it() {
    let mut book = stocked();
    let before = book.clone();
    let batch = book.serve(
        &mut [offer(4, 5, 1, FISH, 2), offer(3, 6, 1, Product::Boar, 1)],
        &mut [
            buy(5, 1, 1, FISH, 8),
            buy(4, 7, 1, Product::Boar, 2),
            buy(9, 8, 1, Product::Salt, 1),
        ],
    );
    let mut replayed = before;
    replayed.apply(&batch).unwrap();
    assert_eq!(replayed, book);
}

#[test]
fn applying_a_batch_twice_is_refused() {
    let mut book = book();
    let batch = book.serve(&mut [offer(1, 2, 1, FISH, 3)], &mut [buy(2, 1, 1, FISH, 1)]);
    let offer = OfferId {
        seller: PeerId(2),
        seq: 1,
    };
    assert_eq!(
        book.apply(&batch),
        Err(MarketError::DuplicateDeposit { offer })
    );
    let sale_only = bazaar_market::Batch {
        deposits: Vec::new(),
        ..batch
    };
    assert_eq!(
        book.apply(&sale_only),
        Err(MarketError::DuplicateRequest { request: req(1, 1) })
    );
}

#[test]
fn a_batch_selling_out_of_offer_order_is_refused() {
    let mut served = stocked();
    let batch = served.serve(&mut [], &mut [buy(5, 1, 1, FISH, 1)]);
    // The same sale, on a book where peer 3's fish were offered first.
    let mut other = book();
    other.serve(
        &mut [offer(1, 3, 1, FISH, 4), offer(2, 2, 1, FISH, 3)],
        &mut [],
    );
    let expected = MarketError::OutOfOfferOrder {
        request: req(1, 1),
        product: FISH,
        offer: OfferId {
            seller: PeerId(2),
            seq: 1,
        },
        next: Some(OfferId {
            seller: PeerId(3),
            seq: 1,
        }),
    };
    assert_eq!(other.apply(&batch), Err(expected));
}

#[test]
fn a_batch_whose_requests_miscount_their_sales_is_refused() {
    let mut book = stocked();
    let mut batch = book.clone().serve(&mut [], &mut [buy(5, 1, 1, FISH, 1)]);
    batch.served[0] = Served {
        sales: 2,
        ..batch.served[0]
    };
    assert_eq!(
        book.apply(&batch),
        Err(MarketError::SalesCount {
            listed: 1,
            claimed: 2
        })
    );
}

#[test]
fn books_rebuilt_from_their_batches_equal_the_original() {
    let mut book = book();
    let batches = vec![
        book.serve(&mut [offer(1, 2, 1, FISH, 3)], &mut [buy(2, 1, 1, FISH, 2)]),
        book.serve(
            &mut [offer(3, 3, 1, Product::Salt, 5)],
            &mut [buy(4, 1, 2, FISH, 2)],
        ),
        book.serve(&mut [], &mut [buy(5, 4, 1, Product::Salt, 9)]),
    ];
    assert_eq!(
        Book::from_batches(Pricing::default(), &batches).unwrap(),
        book
    );
}

#[test]
fn a_snapshot_restores_the_whole_book() {
    let mut book = stocked();
    book.serve(
        &mut [],
        &mut [buy(5, 1, 1, FISH, 4), buy(6, 4, 1, Product::Boar, 1)],
    );
    let bytes = postcard::to_allocvec(&book).unwrap();
    let restored: Book = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(restored, book);
    assert_eq!(restored.reply(req(1, 1)), book.reply(req(1, 1)));
    restored.audit().unwrap();
}
