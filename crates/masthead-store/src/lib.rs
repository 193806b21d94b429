//! Masthead's storage: the only crate that speaks SQL.
//!
//! One body of queries serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: every statement is written once in the portable subset (`$1`
//! placeholders, `RETURNING`, `ON CONFLICT … DO UPDATE`, `LIMIT/OFFSET`),
//! times and ids are bound from Rust, and a per-backend branch appears only
//! where the dialects really differ (full-text search, template databases).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod billing;
pub mod content;
mod db;
pub mod imports;
pub mod jobs;
pub mod keys;
pub mod media;
pub mod members;
mod migrate;
pub mod newsletters;
pub mod newsroom;
pub mod offers;
pub mod settings;

pub use db::{Backend, Db, DbOptions, Tx};
pub use migrate::{analyze, migrate, migrate_to, schema_columns};

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

/// Database management for test harnesses (PostgreSQL only).
pub mod testing {
    use crate::{Db, Result};

    fn check_name(name: &str) -> Result<()> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(crate::StoreError::Conflict(format!(
                "bad database name {name:?}"
            )));
        }
        Ok(())
    }

    /// Drops (if present) and creates an empty database.
    pub async fn recreate_database(admin: &Db, name: &str) -> Result<()> {
        check_name(name)?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(admin.writer())
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.writer())
            .await?;
        Ok(())
    }

    /// Creates `name` as a copy of `template`, retrying while another
    /// session briefly holds the template.
    pub async fn create_database_from(admin: &Db, name: &str, template: &str) -> Result<()> {
        check_name(name)?;
        check_name(template)?;
        let mut attempt = 0;
        loop {
            match sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .execute(admin.writer())
                .await
            {
                Ok(_) => return Ok(()),
                Err(e)
                    if attempt < 50 && e.to_string().contains("being accessed by other users") =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Databases whose names start with `prefix` (for cleaning up stale
    /// test templates).
    pub async fn list_databases(admin: &Db, prefix: &str) -> Result<Vec<String>> {
        use sqlx::Row;
        check_name(prefix)?;
        let rows = sqlx::query(
            "SELECT datname::text AS name FROM pg_database WHERE starts_with(datname, $1)",
        )
        .bind(prefix)
        .fetch_all(admin.reader())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
    }

    pub async fn drop_database(admin: &Db, name: &str) -> Result<()> {
        check_name(name)?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(admin.writer())
            .await?;
        Ok(())
    }
}

/// Commits a transaction begun with `Db::begin`.
pub async fn commit(tx: Tx) -> Result<()> {
    tx.commit().await.map_err(Into::into)
}
