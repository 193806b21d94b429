//! Media rows: one per distinct file (by content hash) and its variants.

use crate::db::get_u32;
use crate::{Db, Result};
use masthead_core::content::{Media, MediaVariant};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct NewMedia<'a> {
    pub hash: &'a str,
    pub mime: &'a str,
    pub ext: &'a str,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub original_name: &'a str,
    pub variants: Vec<MediaVariant>,
    pub variant_bytes: Vec<u64>,
}

/// Inserts a media row and its variants, or returns the existing id when a
/// file with the same hash is already stored.
/// The words a newsroom upload stores with its image, and who uploaded it
/// (audited as `media.upload` with the image's id and `name`).
pub struct Described<'a> {
    /// (alt, caption, credit)
    pub words: (&'a str, &'a str, &'a str),
    pub by: crate::newsroom::Actor<'a>,
    pub name: &'a str,
}

/// Stores an image's row and variants (or finds the row of the same
/// bytes) and, for a newsroom upload, its words and audit entry — in one
/// transaction. Returns its id.
pub async fn insert_media(
    db: &Db,
    m: &NewMedia<'_>,
    described: Option<&Described<'_>>,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    if let Some(row) = sqlx::query("SELECT id FROM media WHERE hash = $1")
        .bind(m.hash)
        .fetch_optional(&mut *tx)
        .await?
    {
        let id: i64 = row.try_get("id")?;
        if let Some(d) = described {
            describe_in(&mut tx, id, d, now).await?;
            tx.commit().await?;
        }
        return Ok(id);
    }
    let row = sqlx::query(
        "INSERT INTO media (hash, mime, ext, width, height, bytes, original_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(m.hash)
    .bind(m.mime)
    .bind(m.ext)
    .bind(i64::from(m.width))
    .bind(i64::from(m.height))
    .bind(i64::try_from(m.bytes).unwrap_or(i64::MAX))
    .bind(m.original_name)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    for (v, bytes) in m.variants.iter().zip(&m.variant_bytes) {
        sqlx::query(
            "INSERT INTO media_variants (media_id, width, height, mime, ext, bytes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(i64::from(v.width))
        .bind(i64::from(v.height))
        .bind(m.mime)
        .bind(&v.ext)
        .bind(i64::try_from(*bytes).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    }
    if let Some(d) = described {
        describe_in(&mut tx, id, d, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

async fn describe_in(tx: &mut crate::Tx, id: i64, d: &Described<'_>, now: i64) -> Result<()> {
    let (alt, caption, credit) = d.words;
    sqlx::query("UPDATE media SET alt = $2, caption = $3, credit = $4 WHERE id = $1")
        .bind(id)
        .bind(alt)
        .bind(caption)
        .bind(credit)
        .execute(&mut **tx)
        .await?;
    let object = id.to_string();
    let entry = d.by.audit("media.upload", "media", &object, d.name);
    crate::newsroom::audit(tx, &entry, now).await
}

pub async fn find_media(db: &Db, id: i64) -> Result<Option<Media>> {
    let row = sqlx::query("SELECT id, hash, mime, ext, width, height FROM media WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    match row {
        Some(row) => Ok(Some(media_with_variants(db, &row).await?)),
        None => Ok(None),
    }
}

/// Finds what `/media/{hash}…` may serve: the original's extension and the
/// widths of its variants.
pub async fn find_media_by_hash(db: &Db, hash: &str) -> Result<Option<Media>> {
    let row = sqlx::query("SELECT id, hash, mime, ext, width, height FROM media WHERE hash = $1")
        .bind(hash)
        .fetch_optional(db.reader())
        .await?;
    match row {
        Some(row) => Ok(Some(media_with_variants(db, &row).await?)),
        None => Ok(None),
    }
}

fn variant_of(v: &AnyRow) -> Result<MediaVariant> {
    Ok(MediaVariant {
        width: get_u32(v, "width")?,
        height: get_u32(v, "height")?,
        ext: v.try_get("ext")?,
    })
}

fn media_of(row: &AnyRow, variants: Vec<MediaVariant>) -> Result<Media> {
    Ok(Media {
        id: row.try_get("id")?,
        hash: row.try_get("hash")?,
        mime: row.try_get("mime")?,
        ext: row.try_get("ext")?,
        width: get_u32(row, "width")?,
        height: get_u32(row, "height")?,
        variants,
    })
}

async fn media_with_variants(db: &Db, row: &AnyRow) -> Result<Media> {
    let id: i64 = row.try_get("id")?;
    let variants = sqlx::query(
        "SELECT width, height, ext FROM media_variants WHERE media_id = $1 ORDER BY width",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(variant_of)
    .collect::<Result<Vec<_>>>()?;
    media_of(row, variants)
}

/// A media item as the library shows it: the image and the words stored
/// with it, offered again whenever it is reused.
#[derive(Debug, Clone)]
pub struct MediaRow {
    pub media: Media,
    pub alt: String,
    pub caption: String,
    pub credit: String,
    pub original_name: String,
    pub bytes: i64,
    pub created_at: i64,
}

const ROW_COLUMNS: &str =
    "id, hash, mime, ext, width, height, alt, caption, credit, original_name, bytes, created_at";

fn media_row(row: &AnyRow, media: Media) -> Result<MediaRow> {
    Ok(MediaRow {
        media,
        alt: row.try_get("alt")?,
        caption: row.try_get("caption")?,
        credit: row.try_get("credit")?,
        original_name: row.try_get("original_name")?,
        bytes: row.try_get("bytes")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The library, newest first: two queries, whatever the limit.
pub async fn list_media(db: &Db, limit: i64) -> Result<Vec<MediaRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {ROW_COLUMNS} FROM media ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    // The rows are the newest ids, so their variants are exactly those in
    // the rows' id range (an image added meanwhile has a higher id).
    let ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let (Some(&newest), Some(&oldest)) = (ids.first(), ids.last()) else {
        return Ok(Vec::new());
    };
    let mut variants: std::collections::HashMap<i64, Vec<MediaVariant>> = Default::default();
    for v in sqlx::query(
        "SELECT media_id, width, height, ext FROM media_variants \
         WHERE media_id BETWEEN $1 AND $2 ORDER BY media_id, width",
    )
    .bind(oldest)
    .bind(newest)
    .fetch_all(db.reader())
    .await?
    {
        variants
            .entry(v.try_get("media_id")?)
            .or_default()
            .push(variant_of(&v)?);
    }
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            media_row(
                row,
                media_of(row, variants.remove(&id).unwrap_or_default())?,
            )
        })
        .collect()
}

pub async fn find_media_row(db: &Db, id: i64) -> Result<Option<MediaRow>> {
    let row = sqlx::query(&format!("SELECT {ROW_COLUMNS} FROM media WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    match row {
        Some(row) => Ok(Some(media_row(&row, media_with_variants(db, &row).await?)?)),
        None => Ok(None),
    }
}

/// Sets the alt text, caption and credit stored with an image, and writes
/// `audit` in the same transaction. False (nothing written) when there is
/// no such image.
pub async fn update_media_text(
    db: &Db,
    id: i64,
    words: (&str, &str, &str),
    audit: &crate::newsroom::Audit<'_>,
    now: i64,
) -> Result<bool> {
    let (alt, caption, credit) = words;
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE media SET alt = $2, caption = $3, credit = $4 WHERE id = $1")
        .bind(id)
        .bind(alt)
        .bind(caption)
        .bind(credit)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    crate::newsroom::audit(&mut tx, audit, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Stores the words with an image only where none are stored yet (the
/// first use of an imported image teaches the library its alt text).
pub async fn fill_media_text(
    db: &Db,
    id: i64,
    alt: &str,
    caption: &str,
    credit: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    fill_media_text_in(&mut tx, id, alt, caption, credit).await?;
    tx.commit().await?;
    Ok(())
}

/// `fill_media_text` inside the caller's transaction.
pub(crate) async fn fill_media_text_in(
    tx: &mut crate::Tx,
    id: i64,
    alt: &str,
    caption: &str,
    credit: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE media SET alt = CASE WHEN alt = '' THEN $2 ELSE alt END, \
         caption = CASE WHEN caption = '' THEN $3 ELSE caption END, \
         credit = CASE WHEN credit = '' THEN $4 ELSE credit END WHERE id = $1",
    )
    .bind(id)
    .bind(alt)
    .bind(caption)
    .bind(credit)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
