//! A quic connection as the driver serves it: the connection we dialled
//! and the stream of our frames on it, written by the peer's task one
//! write at a time. The peer's frames come on the connection it dialled,
//! which the accept side reads.

use std::io;

use bytes::Bytes;
use futures::{FutureExt, SinkExt, future::BoxFuture};
use quinn::{Connection, SendStream};
use tokio_util::codec::{FramedWrite, LengthDelimitedCodec};

use crate::{
    driver::{Conn, Deliver, Progress},
    hello,
};

/// Frames written on a stream, length-delimited.
type Sink = FramedWrite<SendStream, LengthDelimitedCodec>;

/// A write in progress: the stream's writer back, and how it ended.
type Writing = BoxFuture<'static, (Sink, io::Result<()>)>;

/// An outgoing connection whose hello was acknowledged, and its stream.
pub(super) struct QuicConn {
    /// The stream's writer; `None` while a write owns it.
    sink: Option<Sink>,
    /// The write in progress, and how many frames it carries.
    writing: Option<(Writing, u64)>,
    /// The frames of the write that finished, until the link hears it.
    written: Option<u64>,
    /// Resolves when the peer closed the connection or it broke.
    closed: BoxFuture<'static, ()>,
}

impl QuicConn {
    /// Writes frames of at most `max_frame_len` bytes on `send`, the
    /// stream of `connection`.
    pub(super) fn new(send: SendStream, connection: Connection, max_frame_len: usize) -> Self {
        Self {
            sink: Some(FramedWrite::new(send, hello::codec(max_frame_len))),
            writing: None,
            written: None,
            closed: async move { connection.closed().await }.map(drop).boxed(),
        }
    }
}

impl Conn for QuicConn {
    type Direct = ();

    fn direct(&self) {}

    fn write<'a>(
        &mut self,
        frames: impl ExactSizeIterator<Item = &'a Bytes> + Clone,
        _: Option<&mut ()>,
    ) {
        let Some(mut sink) = self.sink.take() else {
            return;
        };
        let frames: Vec<Bytes> = frames.cloned().collect();
        let count = frames.len() as u64;
        let write = async move {
            let mut result = Ok(());
            for frame in frames {
                result = sink.feed(frame).await;
                if result.is_err() {
                    break;
                }
            }
            if result.is_ok() {
                result = SinkExt::<Bytes>::flush(&mut sink).await;
            }
            (sink, result)
        };
        self.writing = Some((write.boxed(), count));
    }

    async fn ready(&mut self, _read: bool) -> Result<(), String> {
        tokio::select! {
            (sink, result) = async { self.writing.as_mut().expect("guarded").0.as_mut().await },
                if self.writing.is_some() => {
                let (_, frames) = self.writing.take().expect("finished");
                result.map_err(|e| e.to_string())?;
                self.sink = Some(sink);
                self.written = Some(frames);
                Ok(())
            }
            () = self.closed.as_mut() => Err("closed by the peer".into()),
        }
    }

    fn advance(&mut self, _: &mut Deliver<'_>) -> Progress {
        match self.written.take() {
            Some(frames) => Progress::Written { frames },
            None => Progress::Idle,
        }
    }
}
