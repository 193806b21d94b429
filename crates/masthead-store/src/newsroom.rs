//! What the newsroom's pages read and write beyond content: the audit
//! log, member lists with their access, and the dashboard's series.

use crate::{Db, Result, Tx};
use serde::Serialize;
use sqlx::Row;

/// One audit entry to write.
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    /// The staff member; `None` for the operator at the command line.
    pub staff_id: Option<i64>,
    pub staff_email: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub detail: &'a str,
}

/// Who makes an audited change: a staff member, or the operator at the
/// command line (`Actor::OPERATOR`, no staff id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub staff_id: Option<i64>,
    pub email: &'a str,
}

impl Actor<'static> {
    pub const OPERATOR: Actor<'static> = Actor {
        staff_id: None,
        email: "cli (operator)",
    };
}

impl<'a> Actor<'a> {
    /// The audit entry for `action` on an object, made by this actor.
    pub fn audit<'b>(
        &self,
        action: &'b str,
        object_type: &'b str,
        object_id: &'b str,
        detail: &'b str,
    ) -> Audit<'b>
    where
        'a: 'b,
    {
        Audit {
            staff_id: self.staff_id,
            staff_email: self.email,
            action,
            object_type,
            object_id,
            detail,
        }
    }
}

/// Records an action that changes nothing stored but the log itself (a
/// preview link signed and handed out).
pub async fn record(db: &Db, a: &Audit<'_>, now: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    audit(&mut tx, a, now).await?;
    crate::commit(tx).await
}

/// Records an action inside the transaction that does it.
pub async fn audit(tx: &mut Tx, a: &Audit<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (staff_id, staff_email, action, object_type, object_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.staff_id)
    .bind(a.staff_email)
    .bind(a.action)
    .bind(a.object_type)
    .bind(a.object_id)
    .bind(a.detail)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEntry {
    pub staff_email: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub detail: String,
    pub created_at: i64,
}

pub async fn list_audit(db: &Db, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT staff_email, action, object_type, object_id, detail, created_at FROM audit_log \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                staff_email: r.try_get("staff_email")?,
                action: r.try_get("action")?,
                object_type: r.try_get("object_type")?,
                object_id: r.try_get("object_id")?,
                detail: r.try_get("detail")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Which members a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberFilter {
    All,
    /// No grant valid now.
    Free,
    /// A `stripe` grant valid now.
    Paid,
    /// A `comp` grant valid now.
    Complimentary,
    /// Opted in to this newsletter.
    Newsletter(i64),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemberRow {
    pub id: i64,
    pub email: String,
    pub verified: bool,
    pub created_at: i64,
    /// The source of a grant valid now (stripe, comp, demo), if any.
    pub access: Option<String>,
}

/// A page of members, newest first, filtered and searched by address.
pub async fn list_members(
    db: &Db,
    filter: &MemberFilter,
    search: &str,
    now: i64,
    offset: i64,
    limit: i64,
) -> Result<(Vec<MemberRow>, i64)> {
    let valid = "g.member_id = m.id AND g.valid_from <= $1 AND (g.valid_until IS NULL OR g.valid_until > $1)";
    let filter_sql = match filter {
        MemberFilter::All => String::new(),
        MemberFilter::Free => format!(" AND NOT EXISTS (SELECT 1 FROM grants g WHERE {valid})"),
        MemberFilter::Paid => {
            format!(" AND EXISTS (SELECT 1 FROM grants g WHERE {valid} AND g.source = 'stripe')")
        }
        MemberFilter::Complimentary => {
            format!(" AND EXISTS (SELECT 1 FROM grants g WHERE {valid} AND g.source = 'comp')")
        }
        MemberFilter::Newsletter(_) => " AND EXISTS (SELECT 1 FROM newsletter_members nm \
             WHERE nm.member_id = m.id AND nm.newsletter_id = $3)"
            .to_string(),
    };
    let newsletter = match filter {
        MemberFilter::Newsletter(id) => *id,
        _ => 0,
    };
    let pattern = format!("%{}%", search.trim().to_lowercase().replace(['%', '_'], ""));
    let total: i64 = sqlx::query(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM members m WHERE m.email_lower LIKE $2 \
         AND ($1 = $1) AND ($3 = $3){filter_sql}"
    ))
    .bind(now)
    .bind(&pattern)
    .bind(newsletter)
    .fetch_one(db.reader())
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT m.id, m.email, m.verified_at, m.created_at, \
         (SELECT g.source FROM grants g WHERE {valid} ORDER BY g.valid_until DESC LIMIT 1) AS access \
         FROM members m WHERE m.email_lower LIKE $2 AND ($3 = $3){filter_sql} \
         ORDER BY m.id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(now)
    .bind(&pattern)
    .bind(newsletter)
    .bind(limit)
    .bind(offset)
    .fetch_all(db.reader())
    .await?;
    let rows = rows
        .iter()
        .map(|r| {
            Ok(MemberRow {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                verified: r.try_get::<Option<i64>, _>("verified_at")?.is_some(),
                created_at: r.try_get("created_at")?,
                access: r.try_get("access")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// The funnel of one day (all articles together).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct DayFunnel {
    /// Start of the day (UTC seconds).
    pub day: i64,
    pub metered_views: i64,
    pub offers_shown: i64,
    pub signups: i64,
    pub checkouts: i64,
    pub subscriptions: i64,
    pub cancellations: i64,
}

/// Daily funnel totals from `since` (inclusive), oldest first, with no
/// gaps (days without counts are zeros): all articles together, or one.
pub async fn funnel_days(
    db: &Db,
    since_day: i64,
    days: i64,
    article: Option<i64>,
) -> Result<Vec<DayFunnel>> {
    let select = "SELECT hour, CAST(SUM(metered_views) AS BIGINT) AS v, CAST(SUM(offers_shown) AS BIGINT) AS o, \
         CAST(SUM(signups) AS BIGINT) AS s, CAST(SUM(checkouts) AS BIGINT) AS c, \
         CAST(SUM(subscriptions) AS BIGINT) AS n, CAST(SUM(cancellations) AS BIGINT) AS x \
         FROM funnel_hourly WHERE hour >= $1";
    let rows = match article {
        Some(id) => {
            sqlx::query(&format!("{select} AND article_id = $2 GROUP BY hour"))
                .bind(since_day)
                .bind(id)
                .fetch_all(db.reader())
                .await?
        }
        None => {
            sqlx::query(&format!("{select} GROUP BY hour"))
                .bind(since_day)
                .fetch_all(db.reader())
                .await?
        }
    };
    let mut out: Vec<DayFunnel> = (0..days)
        .map(|i| DayFunnel {
            day: since_day + i * 86_400,
            ..DayFunnel::default()
        })
        .collect();
    for r in rows {
        let hour: i64 = r.try_get("hour")?;
        let i = (hour - since_day).div_euclid(86_400);
        if let Some(d) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            d.metered_views += r.try_get::<i64, _>("v")?;
            d.offers_shown += r.try_get::<i64, _>("o")?;
            d.signups += r.try_get::<i64, _>("s")?;
            d.checkouts += r.try_get::<i64, _>("c")?;
            d.subscriptions += r.try_get::<i64, _>("n")?;
            d.cancellations += r.try_get::<i64, _>("x")?;
        }
    }
    Ok(out)
}

/// Articles by metered views since `since`: (id, slug, headline, views,
/// offers shown, sign-ups, subscriptions).
pub async fn funnel_by_article(
    db: &Db,
    since: i64,
    limit: i64,
) -> Result<Vec<(i64, String, String, i64, i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT a.id, a.slug, a.headline, CAST(SUM(f.metered_views) AS BIGINT) AS v, \
         CAST(SUM(f.offers_shown) AS BIGINT) AS o, CAST(SUM(f.signups) AS BIGINT) AS s, \
         CAST(SUM(f.subscriptions) AS BIGINT) AS n \
         FROM funnel_hourly f JOIN articles a ON a.id = f.article_id WHERE f.hour >= $1 \
         GROUP BY a.id, a.slug, a.headline ORDER BY v DESC, o DESC LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("slug")?,
                r.try_get("headline")?,
                r.try_get("v")?,
                r.try_get("o")?,
                r.try_get("s")?,
                r.try_get("n")?,
            ))
        })
        .collect()
}

/// An article as the newsroom's list shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub headline: String,
    pub status: String,
    pub access_level: String,
    pub published_at: Option<i64>,
    pub updated_at: i64,
    pub owner_staff_id: Option<i64>,
}

/// Articles of every status, most recently changed first; `owner` limits
/// them to one staff member's.
pub async fn list_articles(db: &Db, owner: Option<i64>, limit: i64) -> Result<Vec<ArticleRow>> {
    let rows = sqlx::query(
        "SELECT id, slug, headline, status, access_level, published_at, updated_at, owner_staff_id \
         FROM articles WHERE ($1 = 0 OR owner_staff_id = $1) ORDER BY updated_at DESC, id DESC LIMIT $2",
    )
    .bind(owner.unwrap_or(0))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ArticleRow {
                id: r.try_get("id")?,
                slug: r.try_get("slug")?,
                headline: r.try_get("headline")?,
                status: r.try_get("status")?,
                access_level: r.try_get("access_level")?,
                published_at: r.try_get("published_at")?,
                updated_at: r.try_get("updated_at")?,
                owner_staff_id: r.try_get("owner_staff_id")?,
            })
        })
        .collect()
}

/// Who created an article in the newsroom.
pub async fn find_article_owner(db: &Db, article_id: i64) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT owner_staff_id FROM articles WHERE id = $1")
        .bind(article_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.and_then(|r| r.try_get("owner_staff_id").ok().flatten()))
}

pub async fn set_article_owner(db: &Db, article_id: i64, staff_id: i64) -> Result<()> {
    sqlx::query("UPDATE articles SET owner_staff_id = $1 WHERE id = $2 AND owner_staff_id IS NULL")
        .bind(staff_id)
        .bind(article_id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// A staff account as the staff page lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StaffRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub has_password: bool,
}

fn staff_row(r: &sqlx::any::AnyRow) -> Result<StaffRow> {
    Ok(StaffRow {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        active: r.try_get::<Option<i64>, _>("disabled_at")?.is_none(),
        has_password: r.try_get::<Option<String>, _>("password_hash")?.is_some(),
    })
}

pub async fn list_staff(db: &Db) -> Result<Vec<StaffRow>> {
    let rows = sqlx::query(
        "SELECT id, email, name, role, disabled_at, password_hash FROM staff ORDER BY name, id",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(staff_row).collect()
}

pub async fn find_staff(db: &Db, id: i64) -> Result<Option<StaffRow>> {
    let row = sqlx::query(
        "SELECT id, email, name, role, disabled_at, password_hash FROM staff WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(staff_row).transpose()
}

/// Changes a staff member's role (inside `tx`, with its audit entry).
pub async fn set_staff_role(tx: &mut Tx, id: i64, role: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE staff SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    crate::settings::bump_sessions(tx).await?;
    Ok(())
}

/// Turns a staff account off (or on again) and ends its sessions.
pub async fn set_staff_active(tx: &mut Tx, id: i64, active: bool, now: i64) -> Result<()> {
    sqlx::query("UPDATE staff SET disabled_at = $1, updated_at = $2 WHERE id = $3")
        .bind((!active).then_some(now))
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if !active {
        sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    crate::settings::bump_sessions(tx).await?;
    Ok(())
}

/// One stored version of an article in the editor.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RevisionRow {
    pub id: i64,
    pub kind: String,
    pub article_revision: i64,
    pub staff_id: Option<i64>,
    pub staff_name: String,
    pub created_at: i64,
    /// The editor's fields as JSON (empty in lists).
    pub snapshot: String,
}

/// Stores a version: every save, and a staff member's latest autosave of
/// an article (an autosave replaces that person's previous one).
pub async fn insert_revision(
    db: &Db,
    article_id: i64,
    kind: &str,
    article_revision: i64,
    staff: (i64, &str),
    snapshot: &str,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = insert_revision_in(
        &mut tx,
        article_id,
        kind,
        article_revision,
        (Some(staff.0), staff.1),
        snapshot,
        now,
    )
    .await?;
    crate::commit(tx).await?;
    Ok(id)
}

/// `insert_revision` inside the caller's transaction.
async fn insert_revision_in(
    tx: &mut Tx,
    article_id: i64,
    kind: &str,
    article_revision: i64,
    staff: (Option<i64>, &str),
    snapshot: &str,
    now: i64,
) -> Result<i64> {
    if kind == "autosave" {
        sqlx::query(
            "DELETE FROM editor_versions WHERE article_id = $1 AND staff_id = $2 AND kind = 'autosave'",
        )
        .bind(article_id)
        .bind(staff.0)
        .execute(&mut **tx)
        .await?;
    }
    let row = sqlx::query(
        "INSERT INTO editor_versions (article_id, kind, article_revision, staff_id, staff_name, snapshot, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(article_id)
    .bind(kind)
    .bind(article_revision)
    .bind(staff.0)
    .bind(staff.1)
    .bind(snapshot)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

fn revision_row(r: &sqlx::any::AnyRow, with_snapshot: bool) -> Result<RevisionRow> {
    Ok(RevisionRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        article_revision: r.try_get("article_revision")?,
        staff_id: r.try_get("staff_id")?,
        staff_name: r.try_get("staff_name")?,
        created_at: r.try_get("created_at")?,
        snapshot: if with_snapshot {
            r.try_get("snapshot")?
        } else {
            String::new()
        },
    })
}

/// An article's stored versions, newest first.
pub async fn list_revisions(db: &Db, article_id: i64, limit: i64) -> Result<Vec<RevisionRow>> {
    sqlx::query(
        "SELECT id, kind, article_revision, staff_id, staff_name, created_at FROM editor_versions \
         WHERE article_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(article_id)
    .bind(limit)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| revision_row(r, false))
    .collect()
}

/// One version with its snapshot, if it belongs to the article.
pub async fn find_revision(db: &Db, article_id: i64, id: i64) -> Result<Option<RevisionRow>> {
    sqlx::query(
        "SELECT id, kind, article_revision, staff_id, staff_name, created_at, snapshot \
         FROM editor_versions WHERE article_id = $1 AND id = $2",
    )
    .bind(article_id)
    .bind(id)
    .fetch_optional(db.reader())
    .await?
    .map(|r| revision_row(&r, true))
    .transpose()
}

/// The current revision number of an article.
pub async fn article_revision(db: &Db, article_id: i64) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT revision FROM articles WHERE id = $1")
        .bind(article_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("revision")).transpose()?)
}

// ---- use cases: one function, one transaction ----

/// Who saves, and the editor's fields as a version keeps them.
#[derive(Debug, Clone)]
pub struct Saver<'a> {
    /// The staff member; `None` for an API integration (whose name and
    /// `integration:ID` stand in the history and the audit log).
    pub staff_id: Option<i64>,
    pub staff_name: &'a str,
    pub staff_email: &'a str,
    /// The editor's form as JSON (the version's snapshot).
    pub snapshot: &'a str,
}

/// Why a create or save was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveRefused {
    /// Another article has this slug (also when it was taken a moment ago
    /// by a save that raced this one).
    SlugTaken,
    /// The article changed since the form was opened (its revision now).
    Stale(i64),
    NotFound,
}

fn audit_of<'a>(who: &'a Saver<'a>, action: &'a str, slug: &'a str, detail: &'a str) -> Audit<'a> {
    Audit {
        staff_id: who.staff_id,
        staff_email: who.staff_email,
        action,
        object_type: "article",
        object_id: slug,
        detail,
    }
}

async fn keep_version(tx: &mut Tx, id: i64, who: &Saver<'_>, now: i64) -> Result<()> {
    let revision: i64 = sqlx::query("SELECT revision FROM articles WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("revision")?;
    insert_revision_in(
        tx,
        id,
        "save",
        revision,
        (who.staff_id, who.staff_name),
        who.snapshot,
        now,
    )
    .await?;
    Ok(())
}

/// A unique-constraint failure (the slug taken between check and write).
fn is_unique_violation(e: &crate::StoreError) -> bool {
    match e {
        crate::StoreError::Database(sqlx::Error::Database(d)) => d.is_unique_violation(),
        _ => false,
    }
}

/// Creates a draft in one transaction: the article (never an update of
/// another article with the same slug), its owner, its first version and
/// the audit entry.
pub async fn create_article(
    db: &Db,
    a: &crate::content::NewArticle,
    who: &Saver<'_>,
    now: i64,
) -> Result<std::result::Result<i64, SaveRefused>> {
    let mut tx = db.begin().await?;
    let taken = sqlx::query("SELECT id FROM articles WHERE slug = $1")
        .bind(a.slug.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Ok(Err(SaveRefused::SlugTaken));
    }
    let id = match crate::content::upsert_article_in(&mut tx, db.backend(), a, now).await {
        Ok(crate::content::Upserted::Created(id)) => id,
        // Someone created this slug since the check (PostgreSQL reads
        // committed): never write over their article.
        Ok(_) => return Ok(Err(SaveRefused::SlugTaken)),
        Err(e) if is_unique_violation(&e) => return Ok(Err(SaveRefused::SlugTaken)),
        Err(e) => return Err(e),
    };
    sqlx::query("UPDATE articles SET owner_staff_id = $1 WHERE id = $2 AND owner_staff_id IS NULL")
        .bind(who.staff_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    keep_version(&mut tx, id, who, now).await?;
    audit(
        &mut tx,
        &audit_of(who, "article.create", a.slug.as_str(), ""),
        now,
    )
    .await?;
    crate::commit(tx).await?;
    Ok(Ok(id))
}

/// Saves an article in one transaction: the revision the form was opened
/// at must still be the article's, then the slug change (the old slug
/// redirects), the article, the lead image's words, a version and the
/// audit entry `action` — all of it or none.
pub async fn save_article(
    db: &Db,
    id: i64,
    opened_at: i64,
    a: &crate::content::NewArticle,
    who: &Saver<'_>,
    action: &str,
    now: i64,
) -> Result<std::result::Result<(), SaveRefused>> {
    let mut tx = db.begin().await?;
    // Locks the row (PostgreSQL) and checks the revision in one statement.
    let current =
        sqlx::query("UPDATE articles SET revision = revision WHERE id = $1 RETURNING revision")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(current) = current else {
        return Ok(Err(SaveRefused::NotFound));
    };
    let revision: i64 = current.try_get("revision")?;
    if revision != opened_at {
        return Ok(Err(SaveRefused::Stale(revision)));
    }
    match crate::content::update_article_slug_in(&mut tx, id, &a.slug, now).await {
        Ok(()) => {}
        Err(crate::StoreError::Conflict(_)) => return Ok(Err(SaveRefused::SlugTaken)),
        Err(e) if is_unique_violation(&e) => return Ok(Err(SaveRefused::SlugTaken)),
        Err(e) => return Err(e),
    }
    crate::content::upsert_article_in(&mut tx, db.backend(), a, now).await?;
    if let Some(l) = &a.lead {
        crate::media::fill_media_text_in(&mut tx, l.media_id, &l.alt, &l.caption, &l.credit)
            .await?;
    }
    keep_version(&mut tx, id, who, now).await?;
    let status = a.status.as_str();
    audit(
        &mut tx,
        &audit_of(who, action, a.slug.as_str(), status),
        now,
    )
    .await?;
    crate::commit(tx).await?;
    Ok(Ok(()))
}

/// Deletes an article with everything that hangs off it (blocks, links,
/// versions, corrections and front-page places cascade; its search row,
/// ids and import records are removed here), audited. Readers' caches
/// drop when it was published. `false` when there was no such article.
pub async fn delete_article(db: &Db, id: i64, who: &Saver<'_>, now: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let Some(row) = sqlx::query("SELECT slug, status FROM articles WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(false);
    };
    let slug: String = row.try_get("slug")?;
    let status: String = row.try_get("status")?;
    sqlx::query(crate::content::delete_search(db.backend()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM import_items WHERE object_id = $1 AND kind IN ('post', 'post_uuid')")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM api_ids WHERE kind = 'post' AND object_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM articles WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &audit_of(who, "article.delete", &slug, &status),
        now,
    )
    .await?;
    if status != "draft" {
        crate::settings::bump_counter(&mut tx, crate::settings::CONTENT).await?;
    }
    crate::commit(tx).await?;
    Ok(true)
}
