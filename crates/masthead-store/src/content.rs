//! Articles, topics, authors and pages.
//!
//! Reader-facing queries only ever see published articles whose publish time
//! has come (`VISIBLE`). An article's body is read in exactly two places,
//! [`find_body`] and [`find_bodies`] (a feed's articles in one query), which
//! take the access decision: no other query here selects `article_blocks`.

use crate::db::{get_opt_u32, get_u32};
use crate::settings::{bump_counter, CONTENT};
use crate::{Backend, Db, Result, StoreError, Tx};
use masthead_core::access::ArticleFacts;
use masthead_core::content::{
    AccessLevel, Article, ArticleStatus, ArticleSummary, Author, AuthorRef, Body, ContentType,
    LeadImage, Media, MediaVariant, Page, SearchHit, Slug, Topic, TopicRef,
};
use masthead_core::Decision;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

/// The reader-visibility predicate on `articles a`, with the time as `$1`.
pub(crate) const VISIBLE: &str = "a.status = 'published' AND a.published_at <= $1";

pub(crate) const SUMMARY_COLUMNS: &str = "a.id, a.slug, a.headline, a.standfirst, a.content_type, \
     a.access_level, a.preview_blocks, a.block_count, a.published_at, a.updated_at, \
     a.lead_media_id, a.lead_alt, a.lead_caption, a.lead_credit";

fn ts(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

// ---------------------------------------------------------------------------
// Writes

/// An article as an importer or editor hands it over.
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub slug: Slug,
    pub headline: String,
    pub standfirst: String,
    pub dateline: String,
    pub content_type: ContentType,
    pub access_level: AccessLevel,
    pub preview_blocks: Option<u32>,
    pub status: ArticleStatus,
    pub published_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub body_markdown: Option<String>,
    /// Sanitized HTML, one entry per top-level block.
    pub blocks: Vec<String>,
    /// Plain text of the body by who may search it.
    pub search: SearchText,
    pub lead: Option<NewLead>,
    pub author_ids: Vec<i64>,
    pub topic_ids: Vec<i64>,
    /// Slugs this article was published under before; each answers 301.
    pub previous_slugs: Vec<Slug>,
    /// Hash of the source file, so a re-import of unchanged input is a no-op.
    pub source_hash: Option<String>,
}

/// An article's body text for the search index, by who may match it
/// (`Policy::search_split`), and the policy fingerprint it was split under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchText {
    pub fingerprint: String,
    pub open: String,
    pub members: String,
    pub subscribers: String,
}

/// Whose search: which parts of the index a query may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    /// Not signed in: headline, standfirst and previews (and free text).
    Anonymous,
    /// Signed in without a grant: also registration-wall text.
    Member,
    /// Entitled (a grant) or staff: everything.
    Everything,
}

#[derive(Debug, Clone)]
pub struct NewLead {
    pub media_id: i64,
    pub alt: String,
    pub caption: String,
    pub credit: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created(i64),
    Updated(i64),
    Unchanged(i64),
}

/// Creates or updates the article with this slug, keeping each version in
/// the article's history and scheduling its publication when it is
/// scheduled; the library learns its lead image's words from their first
/// use. One transaction.
pub async fn upsert_article(db: &Db, a: &NewArticle, now: i64) -> Result<Upserted> {
    let mut tx = db.begin().await?;
    let out = upsert_article_in(&mut tx, db.backend(), a, now).await?;
    keep_written_version(&mut tx, out, a, now).await?;
    if let Some(l) = &a.lead {
        crate::media::fill_media_text_in(&mut tx, l.media_id, &l.alt, &l.caption, &l.credit)
            .await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Writes many articles in one transaction (bulk imports, benchmarks).
pub async fn upsert_articles(db: &Db, list: &[NewArticle], now: i64) -> Result<Vec<Upserted>> {
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        let written = upsert_article_in(&mut tx, db.backend(), a, now).await?;
        keep_written_version(&mut tx, written, a, now).await?;
        out.push(written);
    }
    tx.commit().await?;
    Ok(out)
}

/// Who the versions of writes from outside the newsroom (imports, the
/// CLI) name as their author.
pub const IMPORT_VERSION_BY: &str = "import";

/// Keeps the version an import or the CLI just wrote in the article's one
/// history (`editor_versions`), in the editor's shape so the newsroom can
/// compare and restore it; the newsroom's own saves keep theirs with the
/// editor's form (`newsroom::save_article`).
pub(crate) async fn keep_written_version(
    tx: &mut Tx,
    written: Upserted,
    a: &NewArticle,
    now: i64,
) -> Result<()> {
    let id = match written {
        Upserted::Created(id) | Upserted::Updated(id) => id,
        Upserted::Unchanged(_) => return Ok(()),
    };
    let row = sqlx::query("SELECT revision, published_at FROM articles WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let revision: i64 = row.try_get("revision")?;
    let published_at: Option<i64> = row.try_get("published_at")?;
    let topics = slugs_in(tx, "SELECT slug FROM topics WHERE id = $1", &a.topic_ids).await?;
    let authors = slugs_in(tx, "SELECT slug FROM authors WHERE id = $1", &a.author_ids).await?;
    let lead = a.lead.as_ref();
    let snapshot = serde_json::json!({
        "headline": a.headline,
        "standfirst": a.standfirst,
        "dateline": a.dateline,
        "slug": a.slug.as_str(),
        "content_type": a.content_type.as_str(),
        "access_level": a.access_level.as_str(),
        "topics": topics.join(", "),
        "authors": authors.join(", "),
        "body": a.body_markdown.as_deref().unwrap_or_default(),
        "publish_at": "",
        "published_at": published_at,
        "lead_media": lead.map(|l| l.media_id.to_string()).unwrap_or_default(),
        "lead_alt": lead.map(|l| l.alt.as_str()).unwrap_or_default(),
        "lead_caption": lead.map(|l| l.caption.as_str()).unwrap_or_default(),
        "lead_credit": lead.map(|l| l.credit.as_str()).unwrap_or_default(),
    });
    sqlx::query(
        "INSERT INTO editor_versions (article_id, kind, article_revision, staff_id, staff_name, snapshot, created_at) \
         VALUES ($1, 'save', $2, NULL, $3, $4, $5)",
    )
    .bind(id)
    .bind(revision)
    .bind(IMPORT_VERSION_BY)
    .bind(snapshot.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The slugs of `ids`, in their order, by `sql` (one id bound as `$1`).
async fn slugs_in(tx: &mut Tx, sql: &str, ids: &[i64]) -> Result<Vec<String>> {
    let mut slugs = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut **tx).await?;
        if let Some(r) = row {
            slugs.push(r.try_get::<String, _>("slug")?);
        }
    }
    Ok(slugs)
}

pub(crate) async fn upsert_article_in(
    tx: &mut Tx,
    backend: Backend,
    a: &NewArticle,
    now: i64,
) -> Result<Upserted> {
    let existing =
        sqlx::query("SELECT id, revision, source_hash, status FROM articles WHERE slug = $1")
            .bind(a.slug.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    // Readers see a published article only: a draft or a scheduled one
    // (until it goes live, which bumps the counter itself) leaves the
    // reader caches alone.
    let was_public = match &existing {
        Some(row) => row.try_get::<String, _>("status")? == ArticleStatus::Published.as_str(),
        None => false,
    };
    let updated_at = a.updated_at.or(a.published_at).unwrap_or(now);
    let published_at = match a.status {
        ArticleStatus::Draft => a.published_at,
        _ => Some(a.published_at.unwrap_or(now)),
    };
    // A scheduled article whose time has already come is simply published.
    let status = match (a.status, published_at) {
        (ArticleStatus::Scheduled, Some(t)) if t <= now => ArticleStatus::Published,
        (s, _) => s,
    };
    let block_count = i64::try_from(a.blocks.len()).unwrap_or(i64::MAX);
    let preview = a.preview_blocks.map(i64::from);
    let (lead_id, lead_alt, lead_caption, lead_credit) = match &a.lead {
        Some(l) => (
            Some(l.media_id),
            l.alt.as_str(),
            l.caption.as_str(),
            l.credit.as_str(),
        ),
        None => (None, "", "", ""),
    };

    let (id, outcome) = match existing {
        Some(row) => {
            let id: i64 = row.try_get("id")?;
            let hash: Option<String> = row.try_get("source_hash")?;
            if a.source_hash.is_some() && hash == a.source_hash {
                return Ok(Upserted::Unchanged(id));
            }
            let revision: i64 = row.try_get::<i64, _>("revision")? + 1;
            sqlx::query(
                "UPDATE articles SET headline = $2, standfirst = $3, dateline = $4, content_type = $5, \
                 access_level = $6, preview_blocks = $7, status = $8, published_at = $9, updated_at = $10, \
                 revision = $11, body_markdown = $12, block_count = $13, lead_media_id = $14, lead_alt = $15, \
                 lead_caption = $16, lead_credit = $17, source_hash = $18 WHERE id = $1",
            )
            .bind(id)
            .bind(&a.headline)
            .bind(&a.standfirst)
            .bind(&a.dateline)
            .bind(a.content_type.as_str())
            .bind(a.access_level.as_str())
            .bind(preview)
            .bind(status.as_str())
            .bind(published_at)
            .bind(updated_at)
            .bind(revision)
            .bind(a.body_markdown.as_deref())
            .bind(block_count)
            .bind(lead_id)
            .bind(lead_alt)
            .bind(lead_caption)
            .bind(lead_credit)
            .bind(a.source_hash.as_deref())
            .execute(&mut **tx)
            .await?;
            for table in ["article_blocks", "article_authors", "article_topics"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE article_id = $1"))
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            sqlx::query(delete_search(backend))
                .bind(id)
                .execute(&mut **tx)
                .await?;
            (id, Upserted::Updated(id))
        }
        None => {
            let row = sqlx::query(
                "INSERT INTO articles (slug, headline, standfirst, dateline, content_type, access_level, \
                 preview_blocks, status, published_at, updated_at, created_at, revision, body_markdown, \
                 block_count, lead_media_id, lead_alt, lead_caption, lead_credit, source_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $15, $16, $17, $18) \
                 RETURNING id",
            )
            .bind(a.slug.as_str())
            .bind(&a.headline)
            .bind(&a.standfirst)
            .bind(&a.dateline)
            .bind(a.content_type.as_str())
            .bind(a.access_level.as_str())
            .bind(preview)
            .bind(status.as_str())
            .bind(published_at)
            .bind(updated_at)
            .bind(now)
            .bind(a.body_markdown.as_deref())
            .bind(block_count)
            .bind(lead_id)
            .bind(lead_alt)
            .bind(lead_caption)
            .bind(lead_credit)
            .bind(a.source_hash.as_deref())
            .fetch_one(&mut **tx)
            .await?;
            let id: i64 = row.try_get("id")?;
            (id, Upserted::Created(id))
        }
    };

    for (i, html) in a.blocks.iter().enumerate() {
        sqlx::query("INSERT INTO article_blocks (article_id, position, html) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(i as i64)
            .bind(html)
            .execute(&mut **tx)
            .await?;
    }
    for (i, author) in a.author_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO article_authors (article_id, author_id, position, published_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(author)
        .bind(i as i64)
        .bind(published_at)
        .execute(&mut **tx)
        .await?;
    }
    for (i, topic) in a.topic_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO article_topics (article_id, topic_id, position, published_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(topic)
        .bind(i as i64)
        .bind(published_at)
        .execute(&mut **tx)
        .await?;
    }
    insert_search(tx, backend, id, &a.headline, &a.standfirst, &a.search).await?;
    for old in &a.previous_slugs {
        if old == &a.slug {
            continue;
        }
        add_redirect(tx, old.as_str(), id).await?;
    }
    // The slug may have been a redirect once (renamed back): it is live now.
    sqlx::query("DELETE FROM article_redirects WHERE old_slug = $1")
        .bind(a.slug.as_str())
        .execute(&mut **tx)
        .await?;

    if status == ArticleStatus::Scheduled {
        if let Some(at) = published_at {
            let payload = serde_json::json!({ "article_id": id }).to_string();
            let key = format!("publish:{id}");
            crate::jobs::insert_job(
                tx,
                &crate::jobs::NewJob {
                    kind: PUBLISH_JOB,
                    payload: &payload,
                    unique_key: Some(&key),
                    run_at: at,
                    max_attempts: 10,
                },
                now,
            )
            .await?;
        }
    }
    if was_public || status == ArticleStatus::Published {
        bump_counter(tx, CONTENT).await?;
    }
    Ok(outcome)
}

/// The job kind that publishes a scheduled article.
pub const PUBLISH_JOB: &str = "publish_article";

async fn add_redirect(tx: &mut Tx, old_slug: &str, article_id: i64) -> Result<()> {
    let live = sqlx::query("SELECT id FROM articles WHERE slug = $1 AND id <> $2")
        .bind(old_slug)
        .bind(article_id)
        .fetch_optional(&mut **tx)
        .await?;
    if live.is_some() {
        return Err(StoreError::Conflict(format!(
            "{old_slug:?} is the slug of another article"
        )));
    }
    sqlx::query(
        "INSERT INTO article_redirects (old_slug, article_id) VALUES ($1, $2) \
         ON CONFLICT (old_slug) DO UPDATE SET article_id = excluded.article_id",
    )
    .bind(old_slug)
    .bind(article_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives an article a new slug; the old one answers with a 301 from now on.
pub async fn update_article_slug(db: &Db, id: i64, new_slug: &Slug, now: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    update_article_slug_in(&mut tx, id, new_slug, now).await?;
    tx.commit().await?;
    Ok(())
}

/// `update_article_slug` inside the caller's transaction.
pub(crate) async fn update_article_slug_in(
    tx: &mut Tx,
    id: i64,
    new_slug: &Slug,
    now: i64,
) -> Result<()> {
    let row = sqlx::query("SELECT slug FROM articles WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("article"))?;
    let old: String = row.try_get("slug")?;
    if old == new_slug.as_str() {
        return Ok(());
    }
    let taken = sqlx::query("SELECT id FROM articles WHERE slug = $1")
        .bind(new_slug.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "slug {:?} is taken",
            new_slug.as_str()
        )));
    }
    sqlx::query(
        "UPDATE articles SET slug = $2, updated_at = $3, revision = revision + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(new_slug.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM article_redirects WHERE old_slug = $1")
        .bind(new_slug.as_str())
        .execute(&mut **tx)
        .await?;
    add_redirect(tx, &old, id).await?;
    bump_counter(tx, CONTENT).await?;
    Ok(())
}

/// Publishes a scheduled article whose time has come. Returns whether it
/// changed anything (a second run, or an unpublished article, does not).
pub async fn publish_scheduled(db: &Db, id: i64, now: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE articles SET status = 'published', revision = revision + 1 \
         WHERE id = $1 AND status = 'scheduled' AND published_at <= $2",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n > 0 {
        bump_counter(&mut tx, CONTENT).await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

pub struct NewTopic<'a> {
    pub slug: &'a Slug,
    pub name: &'a str,
    pub description: &'a str,
}

/// Creates or renames a topic; `audit`, when the newsroom does it, is
/// written in the same transaction.
pub async fn upsert_topic(
    db: &Db,
    t: &NewTopic<'_>,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = upsert_topic_in(&mut tx, t, now).await?;
    if let Some(a) = audit {
        crate::newsroom::audit(&mut tx, a, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// `upsert_topic` inside the caller's transaction.
pub(crate) async fn upsert_topic_in(tx: &mut Tx, t: &NewTopic<'_>, now: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO topics (slug, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (slug) DO UPDATE SET name = excluded.name, description = excluded.description, \
         updated_at = excluded.updated_at RETURNING id",
    )
    .bind(t.slug.as_str())
    .bind(t.name)
    .bind(t.description)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    bump_counter(tx, CONTENT).await?;
    Ok(row.try_get("id")?)
}

pub struct NewAuthor<'a> {
    pub slug: &'a Slug,
    pub name: &'a str,
    pub bio_html: &'a str,
    pub avatar_media_id: Option<i64>,
}

pub async fn upsert_author(
    db: &Db,
    a: &NewAuthor<'_>,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = upsert_author_in(&mut tx, a, now).await?;
    if let Some(entry) = audit {
        crate::newsroom::audit(&mut tx, entry, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// `upsert_author` inside the caller's transaction.
pub(crate) async fn upsert_author_in(tx: &mut Tx, a: &NewAuthor<'_>, now: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO authors (slug, name, bio_html, avatar_media_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (slug) DO UPDATE SET name = excluded.name, bio_html = excluded.bio_html, \
         avatar_media_id = excluded.avatar_media_id, updated_at = excluded.updated_at RETURNING id",
    )
    .bind(a.slug.as_str())
    .bind(a.name)
    .bind(a.bio_html)
    .bind(a.avatar_media_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    bump_counter(tx, CONTENT).await?;
    Ok(row.try_get("id")?)
}

pub struct NewPage<'a> {
    pub slug: &'a Slug,
    pub title: &'a str,
    pub body_html: &'a str,
    pub body_markdown: Option<&'a str>,
    pub source_hash: Option<&'a str>,
}

/// Every page: (slug, title, current version).
pub async fn list_pages(db: &Db) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query("SELECT slug, title, current_version FROM pages ORDER BY slug")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("slug")?,
                r.try_get("title")?,
                r.try_get("current_version")?,
            ))
        })
        .collect()
}

/// The Markdown of a page's current version, when it was written in it.
pub async fn find_page_markdown(db: &Db, slug: &str) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT v.body_markdown FROM pages p JOIN page_versions v ON v.page_id = p.id \
         AND v.version = p.current_version WHERE p.slug = $1",
    )
    .bind(slug)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.and_then(|r| r.try_get("body_markdown").ok().flatten()))
}

/// Creates a page or adds a new numbered version of it. Versions are kept
/// forever: consent records point at them.
/// Saves a page as a new version unless its source is unchanged, with the
/// audit entry `page.save` by `by` (none for imports) in the same
/// transaction. Returns (id, version, changed).
pub async fn upsert_page(
    db: &Db,
    p: &NewPage<'_>,
    by: Option<crate::newsroom::Actor<'_>>,
    now: i64,
) -> Result<(i64, i64, bool)> {
    let mut tx = db.begin().await?;
    let (id, version, changed) = upsert_page_in(&mut tx, p, now).await?;
    if !changed {
        tx.rollback().await?;
        return Ok((id, version, false));
    }
    if let Some(by) = by {
        let detail = format!("version {version}");
        let entry = by.audit("page.save", "page", p.slug.as_str(), &detail);
        crate::newsroom::audit(&mut tx, &entry, now).await?;
    }
    tx.commit().await?;
    Ok((id, version, true))
}

/// `upsert_page` inside the caller's transaction (no audit); writes
/// nothing when the source is unchanged. Returns (id, version, changed).
pub(crate) async fn upsert_page_in(
    tx: &mut Tx,
    p: &NewPage<'_>,
    now: i64,
) -> Result<(i64, i64, bool)> {
    let existing =
        sqlx::query("SELECT id, current_version, source_hash FROM pages WHERE slug = $1")
            .bind(p.slug.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    let (id, version) = match existing {
        Some(row) => {
            let id: i64 = row.try_get("id")?;
            let version: i64 = row.try_get("current_version")?;
            let hash: Option<String> = row.try_get("source_hash")?;
            if p.source_hash.is_some() && hash.as_deref() == p.source_hash {
                return Ok((id, version, false));
            }
            sqlx::query(
                "UPDATE pages SET title = $2, current_version = $3, updated_at = $4, source_hash = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(p.title)
            .bind(version + 1)
            .bind(now)
            .bind(p.source_hash)
            .execute(&mut **tx)
            .await?;
            (id, version + 1)
        }
        None => {
            let row = sqlx::query(
                "INSERT INTO pages (slug, title, current_version, updated_at, source_hash) \
                 VALUES ($1, $2, 1, $3, $4) RETURNING id",
            )
            .bind(p.slug.as_str())
            .bind(p.title)
            .bind(now)
            .bind(p.source_hash)
            .fetch_one(&mut **tx)
            .await?;
            (row.try_get("id")?, 1)
        }
    };
    sqlx::query(
        "INSERT INTO page_versions (page_id, version, title, body_html, body_markdown, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(version)
    .bind(p.title)
    .bind(p.body_html)
    .bind(p.body_markdown)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    bump_counter(tx, CONTENT).await?;
    Ok((id, version, true))
}

// ---------------------------------------------------------------------------
// Reads

/// A published article by its current slug, for readers.
pub async fn find_article(db: &Db, slug: &str, now: i64) -> Result<Option<Article>> {
    let sql = format!("SELECT a.* FROM articles a WHERE a.slug = $2 AND {VISIBLE}");
    let Some(row) = sqlx::query(&sql)
        .bind(now)
        .bind(slug)
        .fetch_optional(db.reader())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(article_from_row(db, &row).await?))
}

/// A correction note: when, and what was corrected (plain text).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Correction {
    pub body: String,
    pub created_at: i64,
}

/// Adds a correction to an article; the article's modified time moves to
/// now and every cached page is dropped; the audit entry is written with it.
pub async fn add_correction(
    db: &Db,
    article_id: i64,
    body: &str,
    audit: &crate::newsroom::Audit<'_>,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    crate::newsroom::audit(&mut tx, audit, now).await?;
    sqlx::query("INSERT INTO corrections (article_id, body, created_at) VALUES ($1, $2, $3)")
        .bind(article_id)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE articles SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(article_id)
        .execute(&mut *tx)
        .await?;
    crate::settings::bump_counter(&mut tx, crate::settings::CONTENT).await?;
    tx.commit().await?;
    Ok(())
}

/// An article's corrections, oldest first.
pub async fn list_corrections(db: &Db, article_id: i64) -> Result<Vec<Correction>> {
    let rows = sqlx::query(
        "SELECT body, created_at FROM corrections WHERE article_id = $1 ORDER BY created_at, id",
    )
    .bind(article_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Correction {
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The Markdown an article was last saved from, if it was.
pub async fn find_article_markdown(db: &Db, id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT body_markdown FROM articles WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.and_then(|r| r.try_get("body_markdown").ok().flatten()))
}

/// Any article by slug, whatever its status (staff and tools).
pub async fn find_article_any(db: &Db, slug: &str) -> Result<Option<Article>> {
    let Some(row) = sqlx::query("SELECT a.* FROM articles a WHERE a.slug = $1")
        .bind(slug)
        .fetch_optional(db.reader())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(article_from_row(db, &row).await?))
}

/// Any article by id, whatever its status (staff and jobs).
pub async fn find_article_by_id(db: &Db, id: i64) -> Result<Option<Article>> {
    let Some(row) = sqlx::query("SELECT a.* FROM articles a WHERE a.id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(article_from_row(db, &row).await?))
}

/// Where an old slug now lives, when the article is visible.
pub async fn find_redirect(db: &Db, old_slug: &str, now: i64) -> Result<Option<String>> {
    let sql = format!(
        "SELECT a.slug FROM article_redirects r JOIN articles a ON a.id = r.article_id \
         WHERE r.old_slug = $2 AND {VISIBLE}"
    );
    let row = sqlx::query(&sql)
        .bind(now)
        .bind(old_slug)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("slug")).transpose()?)
}

/// THE gate for article text: the body blocks that `decision` lets through,
/// and how many there are in all. Every route that can carry article text
/// gets it here.
pub async fn find_body(db: &Db, article: &ArticleFacts, decision: Decision) -> Result<Body> {
    let visible = decision.visible_blocks(article.block_count);
    let rows = sqlx::query(
        "SELECT html FROM article_blocks WHERE article_id = $1 AND position < $2 ORDER BY position",
    )
    .bind(article.id)
    .bind(i64::from(visible))
    .fetch_all(db.reader())
    .await?;
    let blocks = rows
        .iter()
        .map(|r| r.try_get("html"))
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Body {
        blocks,
        total: article.block_count,
    })
}

/// The bodies of several articles, each cut by its own decision, in one
/// query (a feed's items).
pub async fn find_bodies(db: &Db, articles: &[(ArticleFacts, Decision)]) -> Result<Vec<Body>> {
    let cut: Vec<(i64, i64)> = articles
        .iter()
        .map(|(a, d)| (a.id, i64::from(d.visible_blocks(a.block_count))))
        .filter(|(_, n)| *n > 0)
        .collect();
    let mut blocks: HashMap<i64, Vec<String>> = HashMap::new();
    if !cut.is_empty() {
        let terms = (0..cut.len())
            .map(|i| {
                format!(
                    "(article_id = ${} AND position < ${})",
                    2 * i + 1,
                    2 * i + 2
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql =
            format!("SELECT article_id, html FROM article_blocks WHERE {terms} ORDER BY article_id, position");
        let mut q = sqlx::query(&sql);
        for (id, n) in &cut {
            q = q.bind(*id).bind(*n);
        }
        for r in q.fetch_all(db.reader()).await? {
            blocks
                .entry(r.try_get("article_id")?)
                .or_default()
                .push(r.try_get("html")?);
        }
    }
    Ok(articles
        .iter()
        .map(|(a, _)| Body {
            blocks: blocks.get(&a.id).cloned().unwrap_or_default(),
            total: a.block_count,
        })
        .collect())
}

async fn article_from_row(db: &Db, row: &AnyRow) -> Result<Article> {
    let id: i64 = row.try_get("id")?;
    let lead = lead_from_row(row)?;
    let media = load_media(db, lead.iter().map(|l| l.0).collect()).await?;
    let authors = sqlx::query(
        "SELECT au.id, au.slug, au.name FROM article_authors aa JOIN authors au ON au.id = aa.author_id \
         WHERE aa.article_id = $1 ORDER BY aa.position",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| {
        Ok(AuthorRef {
            id: r.try_get("id")?,
            slug: r.try_get("slug")?,
            name: r.try_get("name")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let topics = sqlx::query(
        "SELECT t.id, t.slug, t.name FROM article_topics at JOIN topics t ON t.id = at.topic_id \
         WHERE at.article_id = $1 ORDER BY at.position",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| {
        Ok(TopicRef {
            id: r.try_get("id")?,
            slug: r.try_get("slug")?,
            name: r.try_get("name")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let status: String = row.try_get("status")?;
    Ok(Article {
        id,
        slug: row.try_get("slug")?,
        headline: row.try_get("headline")?,
        standfirst: row.try_get("standfirst")?,
        dateline: row.try_get("dateline")?,
        content_type: parse_type(row)?,
        access_level: parse_access(row)?,
        preview_blocks: get_opt_u32(row, "preview_blocks")?,
        status: ArticleStatus::parse(&status).map_err(|e| corrupt("status", e))?,
        published_at: row.try_get::<Option<i64>, _>("published_at")?.map(ts),
        updated_at: ts(row.try_get("updated_at")?),
        revision: row.try_get("revision")?,
        block_count: get_u32(row, "block_count")?,
        lead_image: attach_media(lead, &media),
        authors,
        topics,
        seo_title: row.try_get("seo_title")?,
        seo_description: row.try_get("seo_description")?,
    })
}

type LeadParts = (i64, String, String, String);

fn lead_from_row(row: &AnyRow) -> Result<Option<LeadParts>> {
    let id: Option<i64> = row.try_get("lead_media_id")?;
    Ok(match id {
        Some(id) => Some((
            id,
            row.try_get("lead_alt")?,
            row.try_get("lead_caption")?,
            row.try_get("lead_credit")?,
        )),
        None => None,
    })
}

fn attach_media(lead: Option<LeadParts>, media: &HashMap<i64, Media>) -> Option<LeadImage> {
    let (id, alt, caption, credit) = lead?;
    Some(LeadImage {
        media: media.get(&id)?.clone(),
        alt,
        caption,
        credit,
    })
}

fn parse_type(row: &AnyRow) -> Result<ContentType> {
    let s: String = row.try_get("content_type")?;
    ContentType::parse(&s).map_err(|e| corrupt("content_type", e))
}

fn parse_access(row: &AnyRow) -> Result<AccessLevel> {
    let s: String = row.try_get("access_level")?;
    AccessLevel::parse(&s).map_err(|e| corrupt("access_level", e))
}

pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Media rows with their variants, for a set of ids, in two queries.
pub async fn load_media(db: &Db, mut ids: Vec<i64>) -> Result<HashMap<i64, Media>> {
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = placeholders(1, ids.len());
    let sql = format!("SELECT id, hash, mime, ext, width, height FROM media WHERE id IN ({list})");
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(*id);
    }
    for r in q.fetch_all(db.reader()).await? {
        let id: i64 = r.try_get("id")?;
        out.insert(
            id,
            Media {
                id,
                hash: r.try_get("hash")?,
                mime: r.try_get("mime")?,
                ext: r.try_get("ext")?,
                width: get_u32(&r, "width")?,
                height: get_u32(&r, "height")?,
                variants: Vec::new(),
            },
        );
    }
    let sql = format!(
        "SELECT media_id, width, height, ext FROM media_variants WHERE media_id IN ({list}) ORDER BY media_id, width"
    );
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(*id);
    }
    for r in q.fetch_all(db.reader()).await? {
        let id: i64 = r.try_get("media_id")?;
        if let Some(m) = out.get_mut(&id) {
            m.variants.push(MediaVariant {
                width: get_u32(&r, "width")?,
                height: get_u32(&r, "height")?,
                ext: r.try_get("ext")?,
            });
        }
    }
    Ok(out)
}

/// The articles pinned to a front page, in slot order (visible ones only).
pub async fn list_pinned(db: &Db, page: &str, now: i64) -> Result<Vec<ArticleSummary>> {
    let rows = pinned_rows(db, page, now).await?;
    summaries_from_rows(db, &rows).await
}

async fn pinned_rows(db: &Db, page: &str, now: i64) -> Result<Vec<AnyRow>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM front_slots f JOIN articles a ON a.id = f.article_id \
         WHERE f.page = $2 AND {VISIBLE} ORDER BY f.position"
    );
    Ok(sqlx::query(&sql)
        .bind(now)
        .bind(page)
        .fetch_all(db.reader())
        .await?)
}

/// The article ids pinned to a front page, by slot.
pub async fn find_front_slots(db: &Db, page: &str) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT position, article_id FROM front_slots WHERE page = $1 ORDER BY position",
    )
    .bind(page)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("position")?, r.try_get("article_id")?)))
        .collect()
}

/// Replaces a front page's slots: `ids[0]` leads, the rest follow.
/// Sets a front page's slots, with its audit entry, in one transaction.
pub async fn set_front_slots(
    db: &Db,
    page: &str,
    ids: &[i64],
    audit: &crate::newsroom::Audit<'_>,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM front_slots WHERE page = $1")
        .bind(page)
        .execute(&mut *tx)
        .await?;
    for (i, id) in ids.iter().enumerate() {
        sqlx::query("INSERT INTO front_slots (page, position, article_id) VALUES ($1, $2, $3)")
            .bind(page)
            .bind(i as i64)
            .bind(*id)
            .execute(&mut *tx)
            .await?;
    }
    crate::settings::bump_counter(&mut tx, crate::settings::CONTENT).await?;
    crate::newsroom::audit(&mut tx, audit, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Which articles a listing shows.
#[derive(Debug, Clone, Copy, Default)]
pub enum Listing {
    #[default]
    All,
    ContentType(ContentType),
    Topic(i64),
    Author(i64),
    /// Published in `[since, until]` (a digest not yet fixed).
    PublishedBetween(i64, i64),
    /// A digest send's fixed articles, in their fixed order.
    Digest(i64),
}

/// The rows of a page of a listing (see `list_articles`).
async fn listing_rows(
    db: &Db,
    listing: Listing,
    now: i64,
    offset: u64,
    limit: u32,
) -> Result<(Vec<AnyRow>, bool)> {
    // Topic and author pages walk the link table's (id, published_at)
    // index; the visibility check still reads the article itself.
    let (from, filter, order) = match listing {
        Listing::All => ("articles a", "", "a.published_at DESC, a.id DESC"),
        Listing::ContentType(_) => (
            "articles a",
            " AND a.content_type = $4",
            "a.published_at DESC, a.id DESC",
        ),
        // CROSS JOIN fixes SQLite's join order (link table first, walked
        // in index order); PostgreSQL plans it as an ordinary join.
        Listing::Topic(_) => (
            "article_topics x CROSS JOIN articles a",
            " AND a.id = x.article_id AND x.topic_id = $4 AND x.published_at <= $1",
            "x.published_at DESC, x.article_id DESC",
        ),
        Listing::Author(_) => (
            "article_authors x CROSS JOIN articles a",
            " AND a.id = x.article_id AND x.author_id = $4 AND x.published_at <= $1",
            "x.published_at DESC, x.article_id DESC",
        ),
        Listing::PublishedBetween(..) => (
            "articles a",
            " AND a.published_at >= $4 AND a.published_at <= $5",
            "a.published_at DESC, a.id DESC",
        ),
        Listing::Digest(_) => (
            "send_articles x CROSS JOIN articles a",
            " AND a.id = x.article_id AND x.send_id = $4",
            "x.position",
        ),
    };
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM {from} WHERE {VISIBLE}{filter} ORDER BY {order} LIMIT $2 OFFSET $3"
    );
    let mut q = sqlx::query(&sql)
        .bind(now)
        .bind(i64::from(limit) + 1)
        .bind(i64::try_from(offset).unwrap_or(i64::MAX));
    q = match listing {
        Listing::All => q,
        Listing::ContentType(t) => q.bind(t.as_str()),
        Listing::Topic(id) | Listing::Author(id) | Listing::Digest(id) => q.bind(id),
        Listing::PublishedBetween(since, until) => q.bind(since).bind(until),
    };
    let mut rows = q.fetch_all(db.reader()).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// A page of visible articles, newest first. Returns up to `limit` rows and
/// whether more exist (one extra row is fetched rather than counting).
///
/// (`fix_digest` below fixes a digest's list for `Listing::Digest`.)
pub async fn list_articles(
    db: &Db,
    listing: Listing,
    now: i64,
    offset: u64,
    limit: u32,
) -> Result<(Vec<ArticleSummary>, bool)> {
    let (rows, more) = listing_rows(db, listing, now, offset, limit).await?;
    Ok((summaries_from_rows(db, &rows).await?, more))
}

/// A front page's articles: those pinned to `front` (when asked) and a
/// page of the listing, in four queries.
pub async fn list_front(
    db: &Db,
    listing: Listing,
    front: Option<&str>,
    now: i64,
    offset: u64,
    limit: u32,
) -> Result<Front> {
    let (rows, more) = listing_rows(db, listing, now, offset, limit).await?;
    let pinned = match front {
        Some(page) => pinned_rows(db, page, now).await?,
        None => Vec::new(),
    };
    let mut parts = summaries_of(db, &[&pinned, &rows]).await?.into_iter();
    Ok(Front {
        pinned: parts.next().unwrap_or_default(),
        items: parts.next().unwrap_or_default(),
        more,
        sections: Vec::new(),
    })
}

/// What the home page lists: on its first page the pinned articles and
/// the newest `per_section` of each content type beside the newest
/// articles; five queries whatever the number of sections.
pub async fn list_home(
    db: &Db,
    now: i64,
    offset: u64,
    limit: u32,
    per_section: u32,
) -> Result<Front> {
    let first = offset == 0;
    let (rows, more) = listing_rows(db, Listing::All, now, offset, limit).await?;
    let (pinned, sections) = if first {
        // Each branch walks the (content_type, published_at) index.
        let branches = ContentType::ALL
            .iter()
            .enumerate()
            .map(|(i, _)| {
                format!(
                    "SELECT * FROM (SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {VISIBLE} \
                     AND a.content_type = ${} ORDER BY a.published_at DESC, a.id DESC LIMIT $2) AS s{i}",
                    i + 3
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let mut q = sqlx::query(&branches)
            .bind(now)
            .bind(i64::from(per_section));
        for t in ContentType::ALL {
            q = q.bind(t.as_str());
        }
        (
            pinned_rows(db, "home", now).await?,
            q.fetch_all(db.reader()).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut parts = summaries_of(db, &[&pinned, &rows, &sections])
        .await?
        .into_iter();
    let pinned = parts.next().unwrap_or_default();
    let items = parts.next().unwrap_or_default();
    let mut by_type: Vec<(ContentType, Vec<ArticleSummary>)> = Vec::new();
    for a in parts.next().unwrap_or_default() {
        match by_type.iter_mut().find(|(t, _)| *t == a.content_type) {
            Some((_, list)) => list.push(a),
            None => by_type.push((a.content_type, vec![a])),
        }
    }
    // In the order of `ContentType::ALL`, whatever order the rows came in.
    by_type.sort_by_key(|(t, _)| ContentType::ALL.iter().position(|x| x == t));
    Ok(Front {
        pinned,
        items,
        more,
        sections: by_type,
    })
}

/// A front page's articles (`list_front`, `list_home`).
#[derive(Debug, Default)]
pub struct Front {
    pub pinned: Vec<ArticleSummary>,
    pub items: Vec<ArticleSummary>,
    pub more: bool,
    /// The home page's sections: each content type's newest, in order.
    pub sections: Vec<(ContentType, Vec<ArticleSummary>)>,
}

/// Visible articles sharing a topic with `article`, newest first.
pub async fn list_related(
    db: &Db,
    article: &Article,
    now: i64,
    limit: u32,
) -> Result<Vec<ArticleSummary>> {
    if article.topics.is_empty() {
        return Ok(Vec::new());
    }
    // The newest few of each topic (an index walk each), then the newest
    // of those: never a sort over every article of a large topic.
    let per_topic = i64::from(limit) * 4 + 8;
    let branches = (0..article.topics.len())
        .map(|i| {
            format!(
                "SELECT article_id FROM (SELECT article_id FROM article_topics WHERE topic_id = ${} AND published_at <= $1 \
                 ORDER BY published_at DESC, article_id DESC LIMIT $4) AS t{i}",
                i + 5
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {VISIBLE} AND a.id <> $2 AND a.id IN ({branches}) \
         ORDER BY a.published_at DESC, a.id DESC LIMIT $3"
    );
    let mut q = sqlx::query(&sql)
        .bind(now)
        .bind(article.id)
        .bind(i64::from(limit))
        .bind(per_topic);
    for t in &article.topics {
        q = q.bind(t.id);
    }
    let rows = q.fetch_all(db.reader()).await?;
    summaries_from_rows(db, &rows).await
}

/// Summaries of several sets of rows with one media and one authors
/// query for all of them.
async fn summaries_of(db: &Db, sets: &[&[AnyRow]]) -> Result<Vec<Vec<ArticleSummary>>> {
    let all: Vec<AnyRow> = sets.iter().flat_map(|s| s.iter().cloned()).collect();
    let mut flat = summaries_from_rows(db, &all).await?.into_iter();
    Ok(sets
        .iter()
        .map(|set| flat.by_ref().take(set.len()).collect())
        .collect())
}

pub(crate) async fn summaries_from_rows(db: &Db, rows: &[AnyRow]) -> Result<Vec<ArticleSummary>> {
    let mut leads = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        leads.push(lead_from_row(r)?);
        ids.push(r.try_get::<i64, _>("id")?);
    }
    let media = load_media(db, leads.iter().flatten().map(|l| l.0).collect()).await?;
    let mut authors: HashMap<i64, Vec<AuthorRef>> = HashMap::new();
    if !ids.is_empty() {
        let sql = format!(
            "SELECT aa.article_id, au.id, au.slug, au.name FROM article_authors aa \
             JOIN authors au ON au.id = aa.author_id WHERE aa.article_id IN ({}) \
             ORDER BY aa.article_id, aa.position",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.reader()).await? {
            authors
                .entry(r.try_get("article_id")?)
                .or_default()
                .push(AuthorRef {
                    id: r.try_get("id")?,
                    slug: r.try_get("slug")?,
                    name: r.try_get("name")?,
                });
        }
    }
    rows.iter()
        .zip(leads)
        .map(|(r, lead)| {
            let id: i64 = r.try_get("id")?;
            Ok(ArticleSummary {
                id,
                slug: r.try_get("slug")?,
                headline: r.try_get("headline")?,
                standfirst: r.try_get("standfirst")?,
                content_type: parse_type(r)?,
                access_level: parse_access(r)?,
                preview_blocks: get_opt_u32(r, "preview_blocks")?,
                block_count: get_u32(r, "block_count")?,
                published_at: r.try_get::<Option<i64>, _>("published_at")?.map(ts),
                updated_at: ts(r.try_get("updated_at")?),
                lead_image: attach_media(lead, &media),
                // An article may be in more than one of the sets.
                authors: authors.get(&id).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// Deletes an article's search row: by rowid on SQLite (see
/// `list_stale_search`), by the indexed key on PostgreSQL.
pub(crate) fn delete_search(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "DELETE FROM article_search WHERE rowid = $1",
        Backend::Postgres => "DELETE FROM article_search WHERE article_id = $1",
    }
}

async fn insert_search(
    tx: &mut Tx,
    backend: Backend,
    id: i64,
    headline: &str,
    standfirst: &str,
    t: &SearchText,
) -> Result<()> {
    let sql = match backend {
        Backend::Sqlite => {
            "INSERT INTO article_search (rowid, article_id, fingerprint, headline, standfirst, open, members, subscribers) \
             VALUES ($1, $1, $2, $3, $4, $5, $6, $7)"
        }
        Backend::Postgres => {
            "INSERT INTO article_search (article_id, fingerprint, headline, standfirst, open, members, subscribers) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        }
    };
    sqlx::query(sql)
        .bind(id)
        .bind(&t.fingerprint)
        .bind(headline)
        .bind(standfirst)
        .bind(&t.open)
        .bind(&t.members)
        .bind(&t.subscribers)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Articles whose search row is missing or was split under another policy
/// than `fingerprint`, lowest id first, after `after`.
pub async fn list_stale_search(
    db: &Db,
    fingerprint: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    // SQLite's FTS5 table is found by rowid (its only index), which is the
    // article's id; its `article_id` column is unindexed, and looking a row
    // up by it reads the whole table.
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT a.id FROM articles a WHERE a.id > $2 AND NOT EXISTS \
             (SELECT 1 FROM article_search s WHERE s.rowid = a.id AND s.fingerprint = $1) \
             ORDER BY a.id LIMIT $3"
        }
        Backend::Postgres => {
            "SELECT a.id FROM articles a WHERE a.id > $2 AND NOT EXISTS \
             (SELECT 1 FROM article_search s WHERE s.article_id = a.id AND s.fingerprint = $1) \
             ORDER BY a.id LIMIT $3"
        }
    };
    let rows = sqlx::query(sql)
        .bind(fingerprint)
        .bind(after)
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Replaces an article's search row (the reindex job).
pub async fn set_search_text(db: &Db, id: i64, t: &SearchText) -> Result<()> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT headline, standfirst FROM articles WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query(delete_search(db.backend()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if let Some(r) = row {
        let (h, s): (String, String) = (r.try_get("headline")?, r.try_get("standfirst")?);
        insert_search(&mut tx, db.backend(), id, &h, &s, t).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Full-text search over visible articles, newest first. Results carry
/// only headline and standfirst: never body text. A query matches only
/// text `scope` may read: for readers who are not entitled, headline,
/// standfirst and the parts of the current index (`fingerprint`) open to
/// them; a row split under another policy by headline and standfirst only.
pub async fn search_articles(
    db: &Db,
    query: &str,
    scope: SearchScope,
    fingerprint: &str,
    now: i64,
    offset: u64,
    limit: u32,
) -> Result<(Vec<SearchHit>, bool)> {
    let Some(words) = search_words(query) else {
        return Ok((Vec::new(), false));
    };
    let everything = i64::from(scope == SearchScope::Everything);
    let rows = match db.backend() {
        Backend::Sqlite => {
            let quoted = words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" ");
            // Column filters keep the query to the text the reader may
            // see; the words are quoted, so none can name a column itself.
            let fts = match scope {
                SearchScope::Anonymous => format!("{{headline standfirst open}} : ({quoted})"),
                SearchScope::Member => {
                    format!("{{headline standfirst open members}} : ({quoted})")
                }
                SearchScope::Everything => quoted,
            };
            // Newest first. FTS5 walks its index in rowid (= article id)
            // order and stops after enough matches, however common the
            // word; the margin covers drafts and scheduled articles that
            // match but are not visible.
            let window = (offset + u64::from(limit) + 1) * 2 + 100;
            let sql = format!(
                "SELECT a.slug, a.headline, a.standfirst, a.content_type, a.published_at \
                 FROM (SELECT rowid AS id FROM article_search WHERE article_search MATCH $2 \
                 AND (fingerprint = $6 OR $7 = 1) ORDER BY rowid DESC LIMIT $5) m \
                 CROSS JOIN articles a \
                 WHERE a.id = m.id AND {VISIBLE} ORDER BY a.id DESC LIMIT $3 OFFSET $4"
            );
            sqlx::query(&sql)
                .bind(now)
                .bind(fts)
                .bind(i64::from(limit) + 1)
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .bind(i64::try_from(window).unwrap_or(i64::MAX))
                .bind(fingerprint)
                .bind(everything)
                .fetch_all(db.reader())
                .await?
        }
        Backend::Postgres => {
            let weights = match scope {
                SearchScope::Anonymous => "AB",
                SearchScope::Member => "ABC",
                SearchScope::Everything => "ABCD",
            };
            let pg = PgSearch {
                words: words.join(" "),
                weights,
                fingerprint,
                everything,
            };
            search_postgres(db, &pg, now, offset, limit).await?
        }
    };
    let more = rows.len() > limit as usize;
    let hits = rows
        .iter()
        .take(limit as usize)
        .map(|r| {
            Ok(SearchHit {
                slug: r.try_get("slug")?,
                headline: r.try_get("headline")?,
                standfirst: r.try_get("standfirst")?,
                content_type: parse_type(r)?,
                published_at: r.try_get::<Option<i64>, _>("published_at")?.map(ts),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((hits, more))
}

/// A PostgreSQL search: the reader's words (letters and digits only),
/// the tsvector weights their audience may match, and the policy a row
/// must have been split under unless everything may be matched.
struct PgSearch<'a> {
    words: String,
    weights: &'static str,
    fingerprint: &'a str,
    everything: i64,
}

/// The tsquery of `$1` (words) restricted to the weights in `$2`: the
/// English query, each lexeme given the weight labels (words are letters
/// and digits only, so a lexeme never holds a quote).
const PG_QUERY: &str =
    "to_tsquery('simple', regexp_replace(websearch_to_tsquery('english', $1)::text, \
     '''([^'']*)''', '''\\1'':' || $2, 'g'))";

/// Newest-first search on PostgreSQL. A common word is found fastest by
/// walking article ids backwards until enough rows match; a rare word by
/// the GIN index, then sorting its few matches. The planner cannot tell
/// which a word is (an unknown word gets a fixed estimate), so the walk is
/// tried first over the newest ids only, and when it does not fill the
/// window the GIN index answers instead. Words of middling frequency (a few
/// percent of articles) take the slower second path.
async fn search_postgres(
    db: &Db,
    q: &PgSearch<'_>,
    now: i64,
    offset: u64,
    limit: u32,
) -> Result<Vec<AnyRow>> {
    const WALK: i64 = 1000;
    let window = i64::try_from((offset + u64::from(limit) + 1) * 2 + 100).unwrap_or(i64::MAX);
    let allowed = "(fingerprint = $3 OR $4 = 1)";
    let dense = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM (SELECT s.article_id FROM article_search s \
         WHERE s.article_id > (SELECT MAX(article_id) FROM article_search) - $6 \
         AND s.document @@ {PG_QUERY} AND {allowed} \
         ORDER BY s.article_id DESC LIMIT $5) t"
    ))
    .bind(&q.words)
    .bind(q.weights)
    .bind(q.fingerprint)
    .bind(q.everything)
    .bind(window)
    .bind(WALK.max(window * 2))
    .fetch_one(db.reader())
    .await?;
    let n: i64 = dense.try_get("n")?;
    let visible = VISIBLE.replace("$1", "$5");
    let sql = if n >= window {
        format!(
            "SELECT a.slug, a.headline, a.standfirst, a.content_type, a.published_at \
             FROM (SELECT article_id FROM article_search \
             WHERE document @@ {PG_QUERY} AND {allowed} \
             ORDER BY article_id DESC LIMIT $8) m JOIN articles a ON a.id = m.article_id \
             WHERE {visible} ORDER BY a.id DESC LIMIT $6 OFFSET $7"
        )
    } else {
        format!(
            "WITH m AS MATERIALIZED (SELECT article_id FROM article_search \
             WHERE document @@ {PG_QUERY} AND {allowed} AND $8 > 0) \
             SELECT a.slug, a.headline, a.standfirst, a.content_type, a.published_at \
             FROM m JOIN articles a ON a.id = m.article_id \
             WHERE {visible} ORDER BY a.id DESC LIMIT $6 OFFSET $7"
        )
    };
    Ok(sqlx::query(&sql)
        .bind(&q.words)
        .bind(q.weights)
        .bind(q.fingerprint)
        .bind(q.everything)
        .bind(now)
        .bind(i64::from(limit) + 1)
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .bind(window)
        .fetch_all(db.reader())
        .await?)
}

/// A reader's query as words: letters and digits only, at most 12 of at
/// most 64 characters; `None` when nothing is left.
pub fn search_words(input: &str) -> Option<Vec<String>> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(|w| w.chars().take(64).collect::<String>())
        .collect();
    (!words.is_empty()).then_some(words)
}

pub async fn find_topic(db: &Db, slug: &str) -> Result<Option<Topic>> {
    let row =
        sqlx::query("SELECT id, slug, name, description, updated_at FROM topics WHERE slug = $1")
            .bind(slug)
            .fetch_optional(db.reader())
            .await?;
    row.map(|r| topic_from_row(&r)).transpose()
}

pub async fn list_topics(db: &Db) -> Result<Vec<Topic>> {
    sqlx::query("SELECT id, slug, name, description, updated_at FROM topics ORDER BY name")
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(topic_from_row)
        .collect()
}

fn topic_from_row(r: &AnyRow) -> Result<Topic> {
    Ok(Topic {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        updated_at: ts(r.try_get("updated_at")?),
    })
}

pub async fn find_author(db: &Db, slug: &str) -> Result<Option<Author>> {
    let row = sqlx::query(
        "SELECT id, slug, name, bio_html, avatar_media_id, updated_at FROM authors WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(db.reader())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let avatar_id: Option<i64> = r.try_get("avatar_media_id")?;
    let mut media = load_media(db, avatar_id.into_iter().collect()).await?;
    Ok(Some(Author {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        bio_html: r.try_get("bio_html")?,
        avatar: avatar_id.and_then(|id| media.remove(&id)),
        updated_at: ts(r.try_get("updated_at")?),
    }))
}

pub async fn list_authors(db: &Db) -> Result<Vec<(String, String)>> {
    sqlx::query("SELECT slug, name FROM authors ORDER BY name")
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("slug")?, r.try_get("name")?)))
        .collect()
}

pub async fn find_author_id(db: &Db, slug: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM authors WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

pub async fn find_topic_id(db: &Db, slug: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM topics WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// The current version of a page.
pub async fn find_page(db: &Db, slug: &str) -> Result<Option<Page>> {
    let row = sqlx::query(
        "SELECT p.id, p.slug, v.title, v.version, v.body_html, p.updated_at FROM pages p \
         JOIN page_versions v ON v.page_id = p.id AND v.version = p.current_version WHERE p.slug = $1",
    )
    .bind(slug)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        Ok(Page {
            id: r.try_get("id")?,
            slug: r.try_get("slug")?,
            title: r.try_get("title")?,
            version: r.try_get("version")?,
            body_html: r.try_get("body_html")?,
            updated_at: ts(r.try_get("updated_at")?),
        })
    })
    .transpose()
}

/// How many articles exist at all (any status): "is this database empty?".
pub async fn count_articles(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM articles")
        .fetch_one(db.reader())
        .await?;
    Ok(row.try_get("n")?)
}

pub async fn count_visible(db: &Db, now: i64) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) AS n FROM articles a WHERE {VISIBLE}");
    let row = sqlx::query(&sql).bind(now).fetch_one(db.reader()).await?;
    Ok(row.try_get("n")?)
}

/// One sitemap line: where and when last modified.
#[derive(Debug, Clone, PartialEq)]
pub struct SitemapEntry {
    pub slug: String,
    pub headline: String,
    pub published_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// Visible articles in a stable order (oldest first), for sitemap parts,
/// and the Google News sitemap with `since`.
pub async fn list_sitemap_entries(
    db: &Db,
    now: i64,
    since: Option<i64>,
    offset: u64,
    limit: u32,
) -> Result<Vec<SitemapEntry>> {
    let sql = format!(
        "SELECT a.slug, a.headline, a.published_at, a.updated_at FROM articles a \
         WHERE {VISIBLE} AND a.published_at >= $2 ORDER BY a.id LIMIT $3 OFFSET $4"
    );
    sqlx::query(&sql)
        .bind(now)
        .bind(since.unwrap_or(i64::MIN))
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(SitemapEntry {
                slug: r.try_get("slug")?,
                headline: r.try_get("headline")?,
                published_at: ts(r.try_get::<Option<i64>, _>("published_at")?.unwrap_or(0)),
                updated_at: ts(r.try_get("updated_at")?),
            })
        })
        .collect()
}

/// (id, source hash) of the article with this slug: the hash is `None`
/// when the newsroom saved it after any import.
pub async fn find_article_source(db: &Db, slug: &str) -> Result<Option<(i64, Option<String>)>> {
    let row = sqlx::query("SELECT id, source_hash FROM articles WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("source_hash")?)))
        .transpose()
}

/// Articles a digest lists at most.
pub const DIGEST_MAX: u32 = 100;

/// Fixes a digest send's articles once: those visible at `now` and
/// published in `[since, now]`, newest first, at most `DIGEST_MAX`. A second
/// call keeps the first list. Returns whether this call fixed it.
pub async fn fix_digest(db: &Db, send_id: i64, since: i64, now: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let claimed = sqlx::query(
        "UPDATE sends SET digest_fixed_at = $1 WHERE id = $2 AND digest_fixed_at IS NULL",
    )
    .bind(now)
    .bind(send_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 1 {
        let ids: Vec<i64> = sqlx::query(&format!(
            "SELECT a.id FROM articles a WHERE {VISIBLE} AND a.published_at >= $2 \
             ORDER BY a.published_at DESC, a.id DESC LIMIT $3"
        ))
        .bind(now)
        .bind(since)
        .bind(i64::from(DIGEST_MAX))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
        for (position, id) in ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO send_articles (send_id, article_id, position) VALUES ($1, $2, $3)",
            )
            .bind(send_id)
            .bind(id)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(claimed == 1)
}

/// Deletes a topic: its links to articles go with it (the articles stay),
/// and its API ids and import records; audited. Readers' caches drop.
/// `false` when there was no such topic.
pub async fn delete_topic(
    db: &Db,
    id: i64,
    audit: &crate::newsroom::Audit<'_>,
    now: i64,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let Some(row) = sqlx::query("SELECT slug FROM topics WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(false);
    };
    let slug: String = row.try_get("slug")?;
    sqlx::query("DELETE FROM api_ids WHERE kind = 'tag' AND object_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM import_items WHERE object_id = $1 AND kind IN ('tag', 'term')")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM topics WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    crate::newsroom::audit(
        &mut tx,
        &crate::newsroom::Audit {
            object_id: &slug,
            ..*audit
        },
        now,
    )
    .await?;
    crate::settings::bump_counter(&mut tx, crate::settings::CONTENT).await?;
    crate::commit(tx).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::search_words;

    #[test]
    fn search_words_are_letters_and_digits_only() {
        let w = |s: &str| search_words(s).map(|v| v.join(" "));
        assert_eq!(w("sea wall"), Some("sea wall".into()));
        // No operator, column filter, quote or weight label survives.
        assert_eq!(
            w("headline:x OR \"y* NEAR(z 'a':D {open}"),
            Some("headline x OR y NEAR z a D open".into())
        );
        assert_eq!(w("  ** -- "), None);
    }
}
