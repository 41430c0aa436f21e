//! A stream a peer opened to us: read the hello, then frames until the end.

use std::io;

use bazaar_protocol::PeerId;
use futures::StreamExt;
use tokio::io::AsyncRead;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use crate::{Event, hello, shared::Shared, stats::Counters};

/// Why an incoming connection ended.
pub(super) enum Ended {
    /// The sender closed it, or the transport is going away.
    Closed,
    /// The sender broke the rules; the connection must be dropped and the
    /// reason logged.
    Rejected(String),
}

/// Frames from one incoming connection.
pub(super) struct Incoming<R> {
    frames: FramedRead<R, LengthDelimitedCodec>,
}

impl<R: AsyncRead + Unpin> Incoming<R> {
    /// Reads `reader` with the frame limit of `shared`.
    pub(super) fn new(reader: R, shared: &Shared) -> Self {
        Self {
            frames: FramedRead::new(reader, hello::codec(shared.config.max_frame_len)),
        }
    }

    /// Reads the hello frame within the configured time and returns the
    /// peer it names.
    pub(super) async fn hello(&mut self, shared: &Shared) -> Result<PeerId, Ended> {
        let first = tokio::time::timeout(shared.config.hello_timeout, self.frames.next()).await;
        match first {
            Err(_) => Err(Ended::Rejected(format!(
                "no hello within {:?}",
                shared.config.hello_timeout
            ))),
            Ok(None) => Err(Ended::Closed),
            Ok(Some(Err(e))) => Err(Ended::Rejected(format!("bad hello: {e}"))),
            Ok(Some(Ok(frame))) => hello::decode(&frame).map_err(Ended::Rejected),
        }
    }

    /// Hands every frame to the transport's events as coming from `from`,
    /// until the connection ends.
    pub(super) async fn deliver(mut self, from: PeerId, shared: &Shared) -> Ended {
        while let Some(frame) = self.frames.next().await {
            match frame {
                Ok(frame) => {
                    Counters::add(&shared.counters.received, 1);
                    let event = Event::Frame {
                        from,
                        frame: frame.freeze(),
                    };
                    if shared.events.send(event).await.is_err() {
                        return Ended::Closed;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Ended::Rejected(format!("bad frame from peer {from}: {e}"));
                }
                Err(_) => return Ended::Closed,
            }
        }
        Ended::Closed
    }
}
