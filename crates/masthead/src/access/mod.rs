//! Access: the pieces around the pure decision in `masthead_core::access`:
//! signing keys shared by every process, and the anonymous meter's signed
//! cookie.

pub mod keys;
pub mod meter;
