//! The wire: length-delimited frames, the first of which names the sender.
//!
//! Every frame is a 4-byte big-endian length followed by that many bytes
//! (tokio-util's `LengthDelimitedCodec`), with a hard maximum. The first
//! frame of a connection (tcp) or stream (quic) is the hello: the 4 bytes
//! `BZR1` then the sender's peer id as a big-endian `u32`.

use bazaar_protocol::PeerId;
use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::LengthDelimitedCodec;

/// The magic that opens a hello frame.
const MAGIC: &[u8; 4] = b"BZR1";

/// The codec for frames of at most `max_frame_len` bytes.
pub(crate) fn codec(max_frame_len: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(max_frame_len.max(HELLO_LEN))
        .new_codec()
}

/// Length of a hello frame's payload.
pub(crate) const HELLO_LEN: usize = 8;

/// The hello frame's payload for `from`.
pub(crate) fn encode(from: PeerId) -> Bytes {
    let mut hello = BytesMut::with_capacity(HELLO_LEN);
    hello.put_slice(MAGIC);
    hello.put_u32(from.0);
    hello.freeze()
}

/// The hello frame for `from` as it goes on the wire, length prefix
/// included.
pub(crate) fn frame(from: PeerId) -> Bytes {
    let mut frame = BytesMut::with_capacity(4 + HELLO_LEN);
    frame.put_u32(HELLO_LEN as u32);
    frame.put_slice(&encode(from));
    frame.freeze()
}

/// The peer a hello frame names, or why it is not a hello.
pub(crate) fn decode(frame: &[u8]) -> Result<PeerId, String> {
    match frame {
        [m0, m1, m2, m3, id @ ..] if [*m0, *m1, *m2, *m3] == *MAGIC && id.len() == 4 => {
            Ok(PeerId(u32::from_be_bytes([id[0], id[1], id[2], id[3]])))
        }
        _ => Err(format!(
            "bad hello: {} bytes that are not BZR1 + peer id",
            frame.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips() {
        assert_eq!(decode(&encode(PeerId(7))), Ok(PeerId(7)));
    }

    #[test]
    fn garbage_is_not_a_hello() {
        assert!(decode(b"GET / HTTP/1.1").is_err());
        assert!(decode(b"BZR1\0\0").is_err());
    }
}
