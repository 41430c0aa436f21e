//! bazaar-market
