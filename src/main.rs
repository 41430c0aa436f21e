//! The `bazaar` command.
fn main() {}
