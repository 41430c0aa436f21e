//! The codec: round trips for every body, typed errors for bad input.

use bazaar_protocol::{
    Body, Buy, BuyReply, CodecError, Deposited, ElectionMessage, Envelope, Epoch, FRAME_HEADER_LEN,
    Fill, MAX_FRAME_LEN, Money, Offer, OfferId, PeerId, Product, RequestId, SaleNotice, VERSION,
    decode, decode_frame, encode, encode_frame,
};
use proptest::prelude::*;

fn product() -> impl Strategy<Value = Product> {
    prop_oneof![
        Just(Product::Fish),
        Just(Product::Salt),
        Just(Product::Boar)
    ]
}

fn peer() -> impl Strategy<Value = PeerId> {
    any::<u32>().prop_map(PeerId)
}

fn request_id() -> impl Strategy<Value = RequestId> {
    (peer(), any::<u64>()).prop_map(|(buyer, seq)| RequestId { buyer, seq })
}

fn offer_id() -> impl Strategy<Value = OfferId> {
    (peer(), any::<u64>()).prop_map(|(seller, seq)| OfferId { seller, seq })
}

fn epoch() -> impl Strategy<Value = Epoch> {
    any::<u64>().prop_map(Epoch)
}

fn election() -> impl Strategy<Value = ElectionMessage> {
    prop_oneof![
        epoch().prop_map(|epoch| ElectionMessage::Election { epoch }),
        epoch().prop_map(|epoch| ElectionMessage::Alive { epoch }),
        epoch().prop_map(|epoch| ElectionMessage::Coordinator { epoch }),
        epoch().prop_map(|epoch| ElectionMessage::Resign { epoch }),
    ]
}

fn fill() -> impl Strategy<Value = Fill> {
    (peer(), any::<u32>(), any::<u64>()).prop_map(|(seller, quantity, cents)| Fill {
        seller,
        quantity,
        unit_price: Money(cents),
    })
}

/// Every body the protocol has, with arbitrary contents.
fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        election().prop_map(Body::Election),
        epoch().prop_map(|epoch| Body::Heartbeat { epoch }),
        epoch().prop_map(|epoch| Body::Following { epoch }),
        (offer_id(), product(), any::<u32>()).prop_map(|(id, product, quantity)| Body::Offer(
            Offer {
                id,
                product,
                quantity
            }
        )),
        (offer_id(), any::<u32>())
            .prop_map(|(offer, remaining)| Body::Deposited(Deposited { offer, remaining })),
        (request_id(), product(), any::<u32>()).prop_map(|(id, product, quantity)| Body::Buy(
            Buy {
                id,
                product,
                quantity
            }
        )),
        (
            request_id(),
            product(),
            any::<u32>(),
            prop::collection::vec(fill(), 0..20)
        )
            .prop_map(|(id, product, requested, fills)| {
                Body::BuyReply(BuyReply {
                    id,
                    product,
                    requested,
                    fills,
                })
            }),
        (request_id(), product(), any::<u32>(), any::<u64>()).prop_map(
            |(request, product, quantity, cents)| {
                Body::Sale(SaleNotice {
                    request,
                    product,
                    quantity,
                    credit: Money(cents),
                })
            }
        ),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (peer(), any::<u64>(), body()).prop_map(|(from, clock, body)| Envelope::new(from, clock, body))
}

fn buy() -> Envelope {
    let id = RequestId {
        buyer: PeerId(3),
        seq: 1,
    };
    Envelope::new(
        PeerId(3),
        42,
        Body::Buy(Buy {
            id,
            product: Product::Fish,
            quantity: 4,
        }),
    )
}

fn encoded(envelope: &Envelope) -> Vec<u8> {
    let mut out = Vec::new();
    encode(envelope, &mut out).unwrap();
    out
}

proptest! {
    #[test]
    fn every_body_round_trips(envelope in envelope()) {
        prop_assert_eq!(decode(&encoded(&envelope)), Ok(envelope));
    }

    #[test]
    fn frames_round_trip_back_to_back(envelopes in prop::collection::vec(envelope(), 1..8)) {
        let mut stream = Vec::new();
        for e in &envelopes {
            encode_frame(e, &mut stream).unwrap();
        }
        let mut at = 0;
        for e in &envelopes {
            let (decoded, used) = decode_frame(&stream[at..]).unwrap();
            prop_assert_eq!(&decoded, e);
            at += used;
        }
        prop_assert_eq!(at, stream.len());
    }

    /// Arbitrary bytes give an envelope that encodes and decodes back to
    /// itself, or the one typed error their shape calls for: empty, a
    /// wrong version byte, or (behind the right one) malformed or trailing
    /// bytes. Never a panic.
    #[test]
    fn arbitrary_bytes_give_an_envelope_or_the_error_they_call_for(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        match decode(&bytes) {
            Ok(envelope) => {
                let mut again = Vec::new();
                encode(&envelope, &mut again).unwrap();
                prop_assert_eq!(decode(&again).unwrap(), envelope);
            }
            Err(CodecError::Empty) => prop_assert!(bytes.is_empty()),
            Err(CodecError::UnknownVersion { found }) => {
                prop_assert_eq!(found, bytes[0]);
                prop_assert_ne!(found, VERSION);
            }
            Err(CodecError::Malformed(_) | CodecError::TrailingBytes { .. }) => {
                prop_assert_eq!(bytes[0], VERSION);
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
        match decode_frame(&bytes) {
            Ok((_, used)) => prop_assert!(used <= bytes.len()),
            Err(CodecError::Truncated { needed, have }) => {
                prop_assert_eq!(have, bytes.len());
                prop_assert!(needed > have);
            }
            Err(CodecError::Encode(e)) => prop_assert!(false, "decoding encoded: {e}"),
            Err(_) => prop_assert!(bytes.len() >= FRAME_HEADER_LEN),
        }
    }

    /// Arbitrary bytes behind the right version byte reach the postcard
    /// decoder, the path most likely to find a panic: an envelope, or
    /// malformed or trailing bytes, nothing else.
    #[test]
    fn versioned_garbage_is_an_envelope_or_malformed(
        tail in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = vec![VERSION];
        bytes.extend(tail);
        let typed = matches!(
            decode(&bytes),
            Ok(_) | Err(CodecError::Malformed(_) | CodecError::TrailingBytes { .. })
        );
        prop_assert!(typed);
    }

    /// Every strict prefix of a frame is reported as truncated.
    #[test]
    fn a_cut_frame_is_truncated(envelope in envelope(), cut in any::<prop::sample::Index>()) {
        let mut frame = Vec::new();
        encode_frame(&envelope, &mut frame).unwrap();
        let cut = cut.index(frame.len());
        let is_truncated = matches!(decode_frame(&frame[..cut]), Err(CodecError::Truncated { .. }));
        prop_assert!(is_truncated);
    }
}

#[test]
fn empty_input_is_empty() {
    assert_eq!(decode(&[]), Err(CodecError::Empty));
}

#[test]
fn unknown_version_is_refused_before_decoding() {
    let mut bytes = encoded(&buy());
    bytes[0] = VERSION + 1;
    assert_eq!(
        decode(&bytes),
        Err(CodecError::UnknownVersion { found: VERSION + 1 })
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = encoded(&buy());
    bytes.extend([0, 0]);
    assert_eq!(decode(&bytes), Err(CodecError::TrailingBytes { count: 2 }));
}

#[test]
fn a_huge_length_prefix_is_oversized() {
    let frame = [0xff, 0xff, 0xff, 0xff, VERSION];
    assert_eq!(
        decode_frame(&frame),
        Err(CodecError::Oversized {
            len: u32::MAX as usize,
            max: MAX_FRAME_LEN
        })
    );
}

#[test]
fn an_envelope_over_the_limit_is_not_encoded() {
    let fill = Fill {
        seller: PeerId(u32::MAX),
        quantity: u32::MAX,
        unit_price: Money(u64::MAX),
    };
    let id = RequestId {
        buyer: PeerId(1),
        seq: 1,
    };
    let reply = BuyReply {
        id,
        product: Product::Boar,
        requested: 1,
        fills: vec![fill; 5_000],
    };
    let envelope = Envelope::new(PeerId(1), 1, Body::BuyReply(reply));
    let mut out = vec![7];
    assert!(matches!(
        encode_frame(&envelope, &mut out),
        Err(CodecError::Oversized { .. })
    ));
    assert_eq!(out, [7], "a failed encode leaves the buffer as it was");
}

#[test]
fn a_frame_is_length_then_envelope() {
    let mut frame = Vec::new();
    encode_frame(&buy(), &mut frame).unwrap();
    let len = u32::from_be_bytes(frame[..FRAME_HEADER_LEN].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - FRAME_HEADER_LEN);
    assert_eq!(frame[FRAME_HEADER_LEN], VERSION);
}

#[test]
fn garbage_after_the_version_byte_is_malformed() {
    assert!(matches!(
        decode(&[VERSION, 0xff, 0xff, 0xff]),
        Err(CodecError::Malformed(_))
    ));
}
