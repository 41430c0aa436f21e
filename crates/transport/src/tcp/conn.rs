//! A tcp connection as the driver serves it, once the hellos are
//! exchanged: the task reads it and writes it without waiting (`try_read`,
//! `try_write`) when the socket is ready, and `send` may write an idle one
//! itself ([`DirectSocket`]).

use std::{
    io::{self, IoSlice},
    sync::Arc,
};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};
use tracing::warn;

use super::socket::Socket;
use crate::{
    driver::{Conn, Deliver, DirectWrite, Progress},
    hello,
    stats::Counters,
};

/// Bytes read from a socket at a time, at least.
pub(super) const READ_CHUNK: usize = 16 * 1024;

/// One connection to a peer, read and written by the peer's task.
pub(super) struct TcpConn {
    stream: Arc<Socket>,
    codec: LengthDelimitedCodec,
    /// Bytes read, not yet decoded.
    rbuf: BytesMut,
    /// The socket may have something to read.
    readable: bool,
    /// Bytes of the link's write in progress, not yet on the wire.
    wbuf: BytesMut,
    /// Frames (whole or in part) in `wbuf`.
    wframes: u64,
    /// The socket refused more bytes: wait until it is writable.
    blocked: bool,
}

impl TcpConn {
    /// Serves `stream`, of which `rest` was read after the peer's hello,
    /// with frames of at most `max_frame_len` bytes.
    pub(super) fn new(stream: Socket, rest: BytesMut, max_frame_len: usize) -> Self {
        Self {
            stream: Arc::new(stream),
            codec: hello::codec(max_frame_len),
            rbuf: rest,
            readable: false,
            wbuf: BytesMut::new(),
            wframes: 0,
            blocked: false,
        }
    }

    /// Reads what the socket has (decoding follows).
    fn read(&mut self) -> Result<(), String> {
        self.rbuf.reserve(READ_CHUNK);
        match self.stream.try_read_buf(&mut self.rbuf) {
            Ok(0) => Err("closed by the peer".into()),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Hands every complete frame read to the inbox, until it is full.
    fn decode(&mut self, deliver: &mut Deliver<'_>) -> Result<(), String> {
        while deliver.has_room() {
            match self.codec.decode(&mut self.rbuf) {
                Ok(Some(frame)) => deliver.frame(frame.freeze()),
                Ok(None) => return Ok(()),
                Err(e) => {
                    let reason = format!("bad frame from peer {}: {e}", deliver.peer);
                    if e.kind() == io::ErrorKind::InvalidData {
                        Counters::add(&deliver.shared.counters.rejected, 1);
                        warn!(peer = %deliver.shared.local, "closing tcp connection: {reason}");
                    }
                    return Err(reason);
                }
            }
        }
        Ok(())
    }

    /// Writes the link's write in progress until it is done or the socket
    /// is full.
    fn write_out(&mut self) -> Progress {
        if !self.blocked && self.stream.wants_flush() {
            match self.stream.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.blocked = true,
                Err(e) => return Progress::Lost(e.to_string()),
            }
        }
        while !self.blocked && !self.wbuf.is_empty() {
            match self.stream.try_write(&self.wbuf) {
                Ok(n) => {
                    self.wbuf.advance(n);
                    if self.wbuf.is_empty() {
                        let frames = std::mem::take(&mut self.wframes);
                        return Progress::Written { frames };
                    }
                }
                // `ready` waits for room.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.blocked = true,
                Err(e) => return Progress::Lost(e.to_string()),
            }
        }
        Progress::Idle
    }
}

impl Conn for TcpConn {
    type Direct = DirectSocket;

    fn direct(&self) -> DirectSocket {
        DirectSocket {
            stream: Arc::clone(&self.stream),
            left: None,
        }
    }

    fn write<'a>(
        &mut self,
        frames: impl ExactSizeIterator<Item = &'a Bytes> + Clone,
        direct: Option<&mut DirectSocket>,
    ) {
        self.wframes = frames.len() as u64;
        self.wbuf = direct
            .and_then(|direct| direct.left.take())
            .unwrap_or_else(|| encode(frames));
    }

    async fn ready(&mut self, read: bool) -> Result<(), String> {
        let write = self.blocked || self.stream.wants_flush();
        let readable = tokio::select! {
            ready = self.stream.readable(), if read => ready.map(|()| true),
            ready = self.stream.writable(), if write => ready.map(|()| false),
            else => std::future::pending().await,
        }
        .map_err(|e| e.to_string())?;
        if readable {
            self.readable = true;
        } else {
            self.blocked = false;
        }
        Ok(())
    }

    fn advance(&mut self, deliver: &mut Deliver<'_>) -> Progress {
        if std::mem::take(&mut self.readable)
            && let Err(reason) = self.read()
        {
            return Progress::Lost(reason);
        }
        if let Err(reason) = self.decode(deliver) {
            return Progress::Lost(reason);
        }
        self.write_out()
    }
}

/// `send`'s handle on a connection: its socket, to write an idle
/// connection itself, and what that write left unwritten for the task.
pub(super) struct DirectSocket {
    stream: Arc<Socket>,
    left: Option<BytesMut>,
}

impl DirectWrite for DirectSocket {
    fn write_now<'a>(&mut self, frames: impl ExactSizeIterator<Item = &'a Bytes> + Clone) -> bool {
        // Not writable now, or broken: the task finds out which.
        let left = if let (1, Some(frame)) = (frames.len(), frames.clone().next()) {
            // One frame: its length and itself, with no copy.
            let prefix = (frame.len() as u32).to_be_bytes();
            let written = self
                .stream
                .try_write_vectored(&[IoSlice::new(&prefix), IoSlice::new(frame)])
                .unwrap_or(0);
            if written == prefix.len() + frame.len() {
                return true;
            }
            let mut bytes = encode(frames);
            bytes.advance(written);
            bytes
        } else {
            // Several (a step's frames to one peer): one buffer, one
            // system call.
            let mut bytes = encode(frames);
            let written = self.stream.try_write(&bytes).unwrap_or(0);
            if written == bytes.len() {
                return true;
            }
            bytes.advance(written);
            bytes
        };
        self.left = Some(left);
        false
    }

    fn wants_task(&self) -> bool {
        // TLS bytes the socket did not take are the task's to flush.
        self.stream.wants_flush()
    }
}

/// Frames as they go on the wire, each after its length.
fn encode<'a>(frames: impl Iterator<Item = &'a Bytes> + Clone) -> BytesMut {
    let len = frames.clone().map(|frame| 4 + frame.len()).sum();
    let mut bytes = BytesMut::with_capacity(len);
    for frame in frames {
        bytes.put_u32(frame.len() as u32);
        bytes.put_slice(frame);
    }
    bytes
}
