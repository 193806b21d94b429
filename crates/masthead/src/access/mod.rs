//! Access: signing keys, the anonymous meter cookie, the reader behind a
//! request and the funnel counts. The rule itself is
//! `masthead_core::access::decide`.

pub mod funnel;
pub mod keys;
pub mod meter;
pub mod reader;
