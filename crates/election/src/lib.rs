//! A sans-I/O bully election with epochs, generic over the node id.
//!
//! Feed a [`Bully`] one [`Input`] at a time and perform the [`Action`]s it
//! returns: send these messages, run these named timers, know this leader,
//! report that an election started.
//! No I/O, no clock, no threads: time arrives as fired [`Timer`]s.
//!
//! Epochs never wrap or saturate: claims stop at [`Epoch::MAX`] (`i64::MAX`,
//! which every signed 64-bit store holds), and a message whose epoch is
//! implausibly far ahead is refused ([`Action::Refused`]), not obeyed.

mod action;
mod bully;
mod config;
mod input;
mod members;
mod message;
mod refusal;
mod timer;

pub use action::Action;
pub use bully::Bully;
pub use config::{Config, DEFAULT_MAX_EPOCH_LEAD};
pub use input::Input;
pub use message::{Epoch, Message};
pub use refusal::Refusal;
pub use timer::Timer;
