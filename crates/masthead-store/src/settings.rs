//! Publication settings rows and the change counters that caches poll.

use crate::{Db, Result, Tx};
use sqlx::Row;

/// Counter bumped by every content write; render caches compare against it.
pub const CONTENT: &str = "content";
/// Counter bumped by every settings write.
pub const SETTINGS: &str = "settings";

pub async fn list_settings(db: &Db) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT key, value FROM settings ORDER BY key")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
        .collect()
}

pub async fn update_setting(db: &Db, key: &str, value: &str, now: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    update_setting_in(&mut tx, key, value, now).await?;
    tx.commit().await?;
    Ok(())
}

/// `update_setting` inside the caller's transaction.
pub async fn update_setting_in(tx: &mut Tx, key: &str, value: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    bump_counter(tx, SETTINGS).await?;
    Ok(())
}

/// Credentials stored by administrators: (key, value).
pub async fn list_integration_secrets(db: &Db) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT key, value FROM integration_secrets ORDER BY key")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
        .collect()
}

/// Stores (or with `None` removes) a credential and bumps the settings
/// counter so every process picks it up.
pub async fn set_integration_secret(
    tx: &mut Tx,
    key: &str,
    value: Option<&str>,
    now: i64,
) -> Result<()> {
    match value {
        Some(v) => {
            sqlx::query(
                "INSERT INTO integration_secrets (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(v)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM integration_secrets WHERE key = $1")
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
    }
    bump_counter(tx, SETTINGS).await?;
    Ok(())
}

/// Bumped by every change to an existing session, member, staff member or
/// grant (log-out, revocation, password or email change, verification,
/// deletion, a grant given or ended, a role changed), never by a new
/// session or a meter view: session caches drop what they hold when it
/// moves (`sessions_generation`, and each process's poll of the counter).
pub const SESSIONS: &str = "sessions";

/// Bumps of `SESSIONS` made by this process, counted as they are written
/// (before their commit): a process's session cache compares its entries
/// against it, so a change made here is seen here at once. A read racing
/// the commit may keep the old state until the next poll of the stored
/// counter (a second), or the cache's time-to-live.
static SESSIONS_HERE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// How many changes to sessions this process has written.
pub fn sessions_generation() -> i64 {
    SESSIONS_HERE.load(std::sync::atomic::Ordering::Acquire)
}

/// Records, in the caller's transaction, that sessions changed.
pub async fn bump_sessions(tx: &mut Tx) -> Result<()> {
    bump_counter(tx, SESSIONS).await?;
    Ok(())
}

/// Adds one to a named counter inside the caller's transaction.
pub async fn bump_counter(tx: &mut Tx, name: &str) -> Result<i64> {
    if name == SESSIONS {
        SESSIONS_HERE.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
    let row = sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("value")?)
}

/// The change counters caches poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub content: i64,
    pub settings: i64,
    pub sessions: i64,
}

/// The current values of the change counters.
pub async fn counters(db: &Db) -> Result<Counters> {
    let rows = sqlx::query("SELECT name, value FROM counters")
        .fetch_all(db.reader())
        .await?;
    let mut c = Counters::default();
    for r in rows {
        let name: String = r.try_get("name")?;
        let value: i64 = r.try_get("value")?;
        match name.as_str() {
            CONTENT => c.content = value,
            SETTINGS => c.settings = value,
            SESSIONS => c.sessions = value,
            _ => {}
        }
    }
    Ok(c)
}

/// The current values of the content and settings counters.
pub async fn find_counters(db: &Db) -> Result<(i64, i64)> {
    let c = counters(db).await?;
    Ok((c.content, c.settings))
}
