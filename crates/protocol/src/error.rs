//! What can go wrong turning bytes into an envelope.

use crate::VERSION;

/// Why bytes are not an envelope, or an envelope not bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// No bytes at all.
    #[error("empty message: no bytes to decode")]
    Empty,
    /// The input ends before the frame does.
    #[error("truncated frame: needs {needed} bytes, has {have}")]
    Truncated {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes there are.
        have: usize,
    },
    /// A frame larger than the hard limit.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    Oversized {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A protocol version this build does not speak.
    #[error("unknown protocol version {found}: this peer speaks version {VERSION}")]
    UnknownVersion {
        /// The version the bytes claim.
        found: u8,
    },
    /// Bytes that are not a postcard envelope.
    #[error("malformed envelope: {0}")]
    Malformed(postcard::Error),
    /// A whole envelope followed by bytes that belong to nothing.
    #[error("{count} trailing bytes after the envelope")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// The envelope could not be serialized.
    #[error("cannot encode envelope: {0}")]
    Encode(postcard::Error),
}
