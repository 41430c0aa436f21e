//! The one error type of the crate.

use std::{io, net::SocketAddr, path::PathBuf};

use bazaar_protocol::PeerId;

/// What went wrong in a transport, and where.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The peer id is not in the cluster's peer list (or, for mem, was never
    /// given an endpoint by the hub).
    #[error("unknown peer {0}: not in the peer list")]
    UnknownPeer(PeerId),

    /// A frame is larger than the configured maximum; it was not sent.
    #[error("frame of {len} bytes for peer {to} exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The peer the frame was for.
        to: PeerId,
        /// The frame's length in bytes.
        len: usize,
        /// The configured maximum frame length.
        max: usize,
    },

    /// A listening socket could not be bound, e.g. the port is already in use.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },

    /// The transport was shut down (or, for mem, its peer crashed).
    #[error("the transport of peer {0} is shut down")]
    Shutdown(PeerId),

    /// A connection to a peer could not be made.
    #[error("cannot connect to peer {peer} at {addr}: {reason}")]
    Connect {
        /// The peer dialled.
        peer: PeerId,
        /// The address dialled.
        addr: SocketAddr,
        /// What failed: refused, timed out, handshake refused...
        reason: String,
    },

    /// TLS material could not be generated or does not make a valid config.
    #[error("tls for {what}: {reason}")]
    Tls {
        /// What was being built: "cluster CA", "peer 3's certificate"...
        what: String,
        /// Why it failed.
        reason: String,
    },

    /// A file of TLS material could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// A file of TLS material is not the PEM it should be.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}
