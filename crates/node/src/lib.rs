//! bazaar-node
