//! Signing key rows.

use crate::settings::{bump_counter, SETTINGS};
use crate::{Db, Result};
use sqlx::Row;

/// The keys of a purpose, newest first: (id, secret).
pub async fn list_signing_keys(db: &Db, purpose: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let rows = sqlx::query(
        "SELECT id, secret FROM signing_keys WHERE purpose = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(purpose)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("secret")?)))
        .collect()
}

/// Stores a new key, which signs from now on. Bumps the settings counter
/// so every process reloads its key rings within a second.
pub async fn insert_signing_key(
    db: &Db,
    purpose: &str,
    id: &str,
    secret: &[u8],
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO signing_keys (id, purpose, secret, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(purpose)
    .bind(secret.to_vec())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    bump_counter(&mut tx, SETTINGS).await?;
    tx.commit().await?;
    Ok(())
}
