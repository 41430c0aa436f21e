//! How the plan's values read in JSON: a transport by its name, a
//! duration in whole microseconds.

use std::time::Duration;

use bazaar_node::net::TransportKind;

/// A transport as its name (`tcp+tls`).
pub(super) fn transport_name<S: serde::Serializer>(
    t: &TransportKind,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.name())
}

/// A duration in whole microseconds.
pub(super) fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
