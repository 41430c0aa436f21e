//! Knobs shared by every transport.

use std::time::Duration;

use bazaar_protocol::{MAX_FRAME_LEN, PeerId};

use crate::TransportError;

/// Limits and timings of a transport. `Default` suits a small cluster.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Largest frame accepted by `send` and on the wire, in bytes.
    pub max_frame_len: usize,
    /// Frames queued per destination peer; a send to a full queue drops the
    /// frame and counts it in [`Stats::dropped_full`](crate::Stats::dropped_full).
    pub queue_len: usize,
    /// Events (frames, unreachable reports) waiting for `recv`.
    pub inbox_len: usize,
    /// How long a dial (tcp connect, quic handshake) may take.
    pub connect_timeout: Duration,
    /// First wait before redialling a peer that could not be reached.
    pub backoff_min: Duration,
    /// Longest wait between redials; the wait doubles up to this.
    pub backoff_max: Duration,
    /// How long an accepted connection may take to name its sender.
    pub hello_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            max_frame_len: MAX_FRAME_LEN,
            queue_len: 1024,
            inbox_len: 4096,
            connect_timeout: Duration::from_secs(2),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            hello_timeout: Duration::from_secs(5),
        }
    }
}

impl TransportConfig {
    /// Refuses a frame for `to` longer than [`TransportConfig::max_frame_len`].
    ///
    /// # Errors
    /// [`TransportError::FrameTooLarge`].
    pub fn check_frame_len(&self, to: PeerId, len: usize) -> Result<(), TransportError> {
        let max = self.max_frame_len;
        if len > max {
            return Err(TransportError::FrameTooLarge { to, len, max });
        }
        Ok(())
    }
}
