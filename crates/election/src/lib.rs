//! A sans-I/O bully election with epochs, generic over the node id.
//!
//! Feed a [`Bully`] one [`Input`] at a time and perform the [`Action`]s it
//! returns: send these messages, run these named timers, know this leader.
//! No I/O, no clock, no threads: time arrives as fired [`Timer`]s.

mod action;
mod bully;
mod config;
mod input;
mod members;
mod message;
mod timer;

pub use action::Action;
pub use bully::Bully;
pub use config::Config;
pub use input::Input;
pub use message::{Epoch, Message};
pub use timer::Timer;
