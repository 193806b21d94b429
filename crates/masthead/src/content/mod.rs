//! Content in and out of the store: Markdown rendering and sanitizing,
//! the importer and the demo publication.

pub mod demo;
pub mod generate;
pub mod import;
pub mod markdown;
pub mod search;
