//! Postcard encoding of envelopes, and length-prefixed frames of them.
//!
//! An encoded envelope starts with its version byte. A frame is a 4-byte
//! big-endian length followed by that many bytes of encoded envelope, at most
//! [`MAX_FRAME_LEN`].

use crate::{CodecError, Envelope, VERSION};

/// The hard limit on an encoded envelope, in bytes.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// The length prefix of a frame, in bytes.
pub const FRAME_HEADER_LEN: usize = 4;

/// Encodes an envelope, appending it to `out`.
///
/// # Errors
/// [`CodecError::Oversized`] if the encoding exceeds [`MAX_FRAME_LEN`].
pub fn encode(envelope: &Envelope, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    let taken = std::mem::take(out);
    *out = postcard::to_extend(envelope, taken).map_err(CodecError::Encode)?;
    let len = out.len() - start;
    if len > MAX_FRAME_LEN {
        out.truncate(start);
        return Err(CodecError::Oversized {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(())
}

/// Decodes one envelope that fills `bytes` exactly.
///
/// # Errors
/// A [`CodecError`] naming what is wrong; never panics.
pub fn decode(bytes: &[u8]) -> Result<Envelope, CodecError> {
    let &version = bytes.first().ok_or(CodecError::Empty)?;
    if bytes.len() > MAX_FRAME_LEN {
        return Err(CodecError::Oversized {
            len: bytes.len(),
            max: MAX_FRAME_LEN,
        });
    }
    if version != VERSION {
        return Err(CodecError::UnknownVersion { found: version });
    }
    let (envelope, rest) = postcard::take_from_bytes(bytes).map_err(CodecError::Malformed)?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes { count: rest.len() });
    }
    Ok(envelope)
}

/// Encodes an envelope as a length-prefixed frame, appending it to `out`.
///
/// # Errors
/// [`CodecError::Oversized`] if the envelope exceeds [`MAX_FRAME_LEN`].
pub fn encode_frame(envelope: &Envelope, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    if let Err(e) = encode(envelope, out) {
        out.truncate(start);
        return Err(e);
    }
    let len = u32::try_from(out.len() - start - FRAME_HEADER_LEN)
        .expect("encode keeps an envelope under MAX_FRAME_LEN");
    out[start..start + FRAME_HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Decodes the frame at the start of `buf`, returning the envelope and the
/// number of bytes the frame took.
///
/// # Errors
/// [`CodecError::Truncated`] if `buf` holds less than a whole frame (read more
/// and try again), [`CodecError::Oversized`] if the prefix announces more than
/// [`MAX_FRAME_LEN`], or whatever [`decode`] finds wrong with the envelope.
pub fn decode_frame(buf: &[u8]) -> Result<(Envelope, usize), CodecError> {
    let Some(header) = buf.first_chunk::<FRAME_HEADER_LEN>() else {
        return Err(CodecError::Truncated {
            needed: FRAME_HEADER_LEN,
            have: buf.len(),
        });
    };
    let len = u32::from_be_bytes(*header) as usize;
    if len > MAX_FRAME_LEN {
        return Err(CodecError::Oversized {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let end = FRAME_HEADER_LEN + len;
    let payload = buf
        .get(FRAME_HEADER_LEN..end)
        .ok_or(CodecError::Truncated {
            needed: end,
            have: buf.len(),
        })?;
    Ok((decode(payload)?, end))
}
