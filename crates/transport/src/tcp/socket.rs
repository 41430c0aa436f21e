//! A connection's socket once its hellos are exchanged: plain TCP, or TCP
//! under TLS.
//!
//! The task of a remote peer waits for readiness on the TCP socket and
//! reads and writes without waiting (`try_read_buf`, `try_write`), and
//! `send` writes an idle connection itself; under TLS those calls go
//! through the rustls connection (shared by both behind a lock), which
//! encrypts into its own buffer and is flushed to the socket as far as it
//! takes. What it could not flush ([`Socket::wants_flush`]) waits for the
//! socket to be writable, as a short write does. The TLS handshake and the
//! hellos are done before (tokio-rustls, in `accept.rs` and `dial.rs`); a
//! socket starts after them.

use std::{
    io::{self, IoSlice, Read, Write},
    sync::{Mutex, MutexGuard, PoisonError},
};

use bytes::BytesMut;
use tokio::net::TcpStream;

/// Plaintext read from a TLS connection at a time, at most.
const PLAINTEXT_CHUNK: usize = 16 * 1024;

/// A connection, after its hellos. See the [module docs](self).
pub(super) struct Socket {
    stream: TcpStream,
    /// Boxed: a rustls connection is over a kilobyte, and a plain socket
    /// should not carry that.
    tls: Option<Box<Mutex<rustls::Connection>>>,
}

impl Socket {
    /// A plain TCP connection.
    pub(super) const fn plain(stream: TcpStream) -> Self {
        Self { stream, tls: None }
    }

    /// A TCP connection under TLS, whose handshake is done; plaintext that
    /// rustls already decrypted is appended to `rest`.
    pub(super) fn tls(
        stream: TcpStream,
        mut tls: rustls::Connection,
        rest: &mut BytesMut,
    ) -> io::Result<Self> {
        match drain(&mut tls, rest) {
            Ok(_) => {}
            // The peer closed after its hello: the next read sees it.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            stream,
            tls: Some(Box::new(Mutex::new(tls))),
        })
    }

    /// Waits until the socket may have something to read.
    pub(super) async fn readable(&self) -> io::Result<()> {
        self.stream.readable().await
    }

    /// Waits until the socket may take more bytes.
    pub(super) async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// Appends what can be read now to `buf`: `Ok(0)` when the peer
    /// closed, `WouldBlock` when there is nothing yet; a TLS record that
    /// does not decrypt is `InvalidData`.
    pub(super) fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        let Some(tls) = &self.tls else {
            return self.stream.try_read_buf(buf);
        };
        let mut tls = lock(tls);
        loop {
            let got = match drain(&mut tls, buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            };
            if got > 0 {
                return Ok(got);
            }
            if tls.read_tls(&mut Nonblocking(&self.stream))? == 0 {
                return Ok(0);
            }
            tls.process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }

    /// Writes as much of `buf` as the socket takes now, without waiting.
    pub(super) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_write_vectored(&[IoSlice::new(buf)])
    }

    /// Writes as much of `bufs` as the socket takes now, without waiting.
    /// Under TLS, taken means encrypted: what the socket did not take yet
    /// waits for [`flush`](Self::flush).
    pub(super) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let Some(tls) = &self.tls else {
            return self.stream.try_write_vectored(bufs);
        };
        let mut tls = lock(tls);
        // What waits goes first; rustls takes more only below its limit.
        match flush(&mut tls, &self.stream) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let taken = tls.writer().write_vectored(bufs)?;
        match flush(&mut tls, &self.stream) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let wanted: usize = bufs.iter().map(|b| b.len()).sum();
        if taken == 0 && wanted > 0 {
            // rustls is full, so the socket refused its bytes just now:
            // waiting for writability is right.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Whether TLS bytes wait for the socket to take them.
    pub(super) fn wants_flush(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| lock(tls).wants_write())
    }

    /// Writes the TLS bytes that wait; `WouldBlock` if some still do.
    pub(super) fn flush(&self) -> io::Result<()> {
        match &self.tls {
            None => Ok(()),
            Some(tls) => flush(&mut lock(tls), &self.stream),
        }
    }
}

fn lock(tls: &Mutex<rustls::Connection>) -> MutexGuard<'_, rustls::Connection> {
    tls.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Moves the plaintext rustls holds into `buf`; `UnexpectedEof` if there
/// is none and the peer is gone.
fn drain(tls: &mut rustls::Connection, buf: &mut BytesMut) -> io::Result<usize> {
    let mut got = 0;
    loop {
        let start = buf.len();
        buf.resize(start + PLAINTEXT_CHUNK, 0);
        let read = tls.reader().read(&mut buf[start..]);
        buf.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) if got == 0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(0) => return Ok(got),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(got),
            Err(e) if got == 0 => return Err(e),
            Err(_) => return Ok(got),
        }
    }
}

/// Writes rustls's bytes to the socket until they are out or it is full.
fn flush(tls: &mut rustls::Connection, stream: &TcpStream) -> io::Result<()> {
    while tls.wants_write() {
        if tls.write_tls(&mut Nonblocking(stream))? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

/// The socket as blocking-style `Read` and `Write` that never block:
/// `WouldBlock` instead, which clears tokio's readiness as it should.
struct Nonblocking<'a>(&'a TcpStream);

impl Read for Nonblocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Nonblocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
