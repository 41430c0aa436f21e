//! Decoding arbitrary bytes, as an envelope and as a frame, never panics and
//! yields an envelope or a typed error; what decodes re-encodes to bytes that
//! decode to the same envelope.
#![no_main]

use bazaar_protocol::{
    CodecError, Envelope, FRAME_HEADER_LEN, MAX_FRAME_LEN, VERSION, decode, decode_frame, encode,
    encode_frame,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_decode(data);
    check_decode_frame(data);
});

/// The bytes as one whole envelope.
fn check_decode(data: &[u8]) {
    match decode(data) {
        Ok(envelope) => {
            assert!(data.len() <= MAX_FRAME_LEN);
            assert_eq!(envelope.version, VERSION, "decode took another version");
            let bytes = round_trip(&envelope);
            // The encoding is canonical: never longer than any bytes that
            // decode to the same envelope, and a fixed point.
            assert!(
                bytes.len() <= data.len(),
                "{envelope:?} re-encodes longer than it came"
            );
            let mut again = Vec::new();
            encode(&decode(&bytes).unwrap(), &mut again).unwrap();
            assert_eq!(again, bytes, "the encoding of {envelope:?} is not stable");
        }
        Err(error) => match error {
            CodecError::Empty => assert!(data.is_empty()),
            CodecError::Oversized { len, max } => {
                assert_eq!((len, max), (data.len(), MAX_FRAME_LEN));
                assert!(len > max);
            }
            CodecError::UnknownVersion { found } => {
                assert_eq!(Some(&found), data.first());
                assert_ne!(found, VERSION);
            }
            CodecError::Malformed(_) => assert_eq!(data.first(), Some(&VERSION)),
            CodecError::TrailingBytes { count } => {
                assert!(count > 0 && count < data.len());
                // What comes before the trailing bytes is an envelope.
                decode(&data[..data.len() - count]).unwrap();
            }
            CodecError::Truncated { .. } | CodecError::Encode(_) => {
                panic!("decode gave a frame or encoding error: {error:?}")
            }
        },
    }
}

/// The bytes as the start of a stream of frames.
fn check_decode_frame(data: &[u8]) {
    match decode_frame(data) {
        Ok((envelope, used)) => {
            assert!(used > FRAME_HEADER_LEN && used <= data.len());
            assert_eq!(
                decode(&data[FRAME_HEADER_LEN..used]).as_ref(),
                Ok(&envelope)
            );
            let mut frame = Vec::new();
            encode_frame(&envelope, &mut frame).expect("a decoded envelope encodes");
            assert_eq!(decode_frame(&frame), Ok((envelope, frame.len())));
        }
        Err(CodecError::Truncated { needed, have }) => {
            assert_eq!(have, data.len());
            assert!(needed > have && needed <= FRAME_HEADER_LEN + MAX_FRAME_LEN);
        }
        Err(CodecError::Oversized { len, max }) => {
            assert_eq!(max, MAX_FRAME_LEN);
            assert!(len > max);
        }
        // Whatever decode found wrong with the payload.
        Err(error) => {
            assert!(data.len() >= FRAME_HEADER_LEN, "{error:?} with no header");
            assert!(!matches!(error, CodecError::Encode(_)), "{error:?}");
        }
    }
}

/// Encodes `envelope` and decodes it again: the same envelope.
fn round_trip(envelope: &Envelope) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode(envelope, &mut bytes).expect("a decoded envelope encodes");
    assert_eq!(
        decode(&bytes).as_ref(),
        Ok(envelope),
        "{envelope:?} did not survive a round trip"
    );
    bytes
}
