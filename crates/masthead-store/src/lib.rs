//! Masthead's storage: the only crate that speaks SQL.
//!
//! One body of queries serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: every statement is written once in the portable subset (`$1`
//! placeholders, `RETURNING`, `ON CONFLICT … DO UPDATE`, `LIMIT/OFFSET`),
//! times and ids are bound from Rust, and a per-backend branch appears only
//! where the dialects really differ (full-text search, template databases).

pub mod content;
mod db;
pub mod jobs;
pub mod media;
mod migrate;
pub mod settings;

pub use db::{Backend, Db, DbOptions, Tx};
pub use migrate::{migrate, schema_columns};

/// Errors at the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid stored data: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
