//! A sans-I/O bully election with epochs, generic over the node id.

mod message;

pub use message::{Epoch, Message};
