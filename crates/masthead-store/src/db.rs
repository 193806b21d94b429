//! The connection handle: which backend, and the pools behind it.

use crate::Result;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A write transaction. On SQLite it began with `BEGIN IMMEDIATE` on the one
/// writer connection, so two writers never deadlock on a lock upgrade.
pub type Tx = sqlx::Transaction<'static, Any>;

#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { max_connections: 8 }
    }
}

/// The database. Cheap to clone.
///
/// SQLite gets two pools over one file: several read connections and a
/// single write connection, so writers in this process queue in the pool
/// instead of contending for the file lock; `BEGIN IMMEDIATE` plus a busy
/// timeout cover writers in other processes (an import while serving).
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
}

impl Db {
    pub async fn connect(url: &str, options: DbOptions) -> Result<Db> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            // The writer first: it creates the file and sets WAL.
            let write = sqlite_pool(url, 1, false).await?;
            let read = sqlite_pool(url, options.max_connections.max(1), true).await?;
            Ok(Db {
                backend: Backend::Sqlite,
                read,
                write,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(options.max_connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Ok(Db {
                backend: Backend::Postgres,
                read: pool.clone(),
                write: pool,
            })
        } else {
            Err(crate::StoreError::Database(sqlx::Error::Configuration(
                "database URL must start with sqlite: or postgres:".into(),
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads outside a transaction. On SQLite its
    /// connections are `query_only`: a write through it fails, so every
    /// write goes through the single writer.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The writer, for one statement that writes outside a transaction
    /// (on SQLite the single write connection, so it queues behind
    /// `begin`'s transactions instead of contending for the file lock).
    /// Several writes that belong together take `begin` instead.
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Begins a write transaction. Keep it short and never hold one across
    /// network I/O: on SQLite it blocks every other writer.
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        };
        Ok(tx)
    }

    /// A trivial query, for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

async fn sqlite_pool(url: &str, max: u32, query_only: bool) -> Result<AnyPool> {
    let url = if url.contains('?') {
        url.to_string()
    } else {
        format!("{url}?mode=rwc")
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // Per connection: WAL lets readers proceed beside the writer;
                // the busy timeout makes a writer in another process wait
                // rather than fail.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000;",
                )
                .await?;
                if query_only {
                    conn.execute("PRAGMA query_only = ON;").await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    Ok(pool)
}

/// Reads a non-negative integer column as `u32`, saturating.
pub(crate) fn get_u32(row: &AnyRow, col: &str) -> Result<u32> {
    let v: i64 = row.try_get(col)?;
    Ok(u32::try_from(v.max(0)).unwrap_or(u32::MAX))
}

pub(crate) fn get_opt_u32(row: &AnyRow, col: &str) -> Result<Option<u32>> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.map(|v| u32::try_from(v.max(0)).unwrap_or(u32::MAX)))
}
