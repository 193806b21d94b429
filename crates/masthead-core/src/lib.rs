//! Masthead's domain: the words of the newsroom and the rules that need no I/O.
//!
//! Nothing here touches the network, the disk or the database: types are
//! parsed once at the edge (`Slug::parse`, `ContentType::parse`) and the rest
//! of the code works with values that are already valid.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod access;
pub mod api;
pub mod billing;
pub mod content;
pub mod members;
pub mod newsletters;
pub mod newsroom;
pub mod revisions;
pub mod settings;
pub mod totp;

pub use access::{decide, Decision};
pub use content::{AccessLevel, ArticleStatus, ContentType, Slug};
