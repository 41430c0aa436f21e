//! bazaar-transport
