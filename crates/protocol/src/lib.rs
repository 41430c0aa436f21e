//! Bazaar's vocabulary and wire format.
//!
//! The words of the market ([`PeerId`], [`Product`], [`Money`],
//! [`RequestId`], [`OfferId`]), the messages peers exchange ([`Envelope`] and
//! its [`Body`]), and the codec that turns an envelope into a postcard frame
//! and back. Pure: no I/O. Decoding never panics; any byte string yields an
//! envelope or a [`CodecError`].

mod body;
mod codec;
mod envelope;
mod error;
mod ids;
mod money;
mod product;

pub use bazaar_election::{Epoch, Message as ElectionMessage};
pub use body::{Body, Buy, BuyReply, Deposited, Fill, Offer, SaleNotice};
pub use codec::{FRAME_HEADER_LEN, MAX_FRAME_LEN, decode, decode_frame, encode, encode_frame};
pub use envelope::{Envelope, VERSION};
pub use error::CodecError;
pub use ids::{OfferId, PeerId, RequestId};
pub use money::Money;
pub use product::{ParseProductError, Product};

/// A count of units of one product.
pub type Quantity = u32;

/// A Lamport timestamp stamped by a peer: ordered by time, then peer id.
pub type Timestamp = bazaar_clock::Timestamp<PeerId>;
