//! Imports from other platforms: each imported object is found again by
//! where it came from (source, kind, source id), never by its slug, and
//! each item is one use case in one short transaction: the object, its
//! identity and its old addresses together, or nothing.

use crate::content::{NewArticle, NewAuthor, NewPage, NewTopic, Upserted};
use crate::{Db, Result, Tx};
use masthead_core::content::Slug;
use sqlx::Row;

/// Where an imported object came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The platform and site, e.g. `wordpress:https://old.example`.
    pub source: &'a str,
    /// post, page, term, author, attachment.
    pub kind: &'a str,
    pub source_id: &'a str,
}

/// The object an earlier import made from `origin`.
pub async fn find_item(db: &Db, origin: Origin<'_>) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT object_id FROM import_items WHERE source = $1 AND kind = $2 AND source_id = $3",
    )
    .bind(origin.source)
    .bind(origin.kind)
    .bind(origin.source_id)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.map(|r| r.try_get("object_id")).transpose()?)
}

/// The source hash of the article or page an earlier import made from
/// `origin`: `Some(None)` when the newsroom has saved it since.
pub async fn find_source_hash(db: &Db, origin: Origin<'_>) -> Result<Option<Option<String>>> {
    let sql = match origin.kind {
        "post" => {
            "SELECT t.source_hash FROM import_items i JOIN articles t ON t.id = i.object_id \
                   WHERE i.source = $1 AND i.kind = $2 AND i.source_id = $3"
        }
        "page" => {
            "SELECT t.source_hash FROM import_items i JOIN pages t ON t.id = i.object_id \
                   WHERE i.source = $1 AND i.kind = $2 AND i.source_id = $3"
        }
        _ => return Ok(None),
    };
    let row = sqlx::query(sql)
        .bind(origin.source)
        .bind(origin.kind)
        .bind(origin.source_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("source_hash")).transpose()?)
}

async fn find_item_in(tx: &mut Tx, origin: Origin<'_>) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT object_id FROM import_items WHERE source = $1 AND kind = $2 AND source_id = $3",
    )
    .bind(origin.source)
    .bind(origin.kind)
    .bind(origin.source_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get("object_id")).transpose()?)
}

async fn remember(tx: &mut Tx, origin: Origin<'_>, object_id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_items (source, kind, source_id, object_id, imported_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (source, kind, source_id) DO UPDATE SET object_id = excluded.object_id, \
         imported_at = excluded.imported_at",
    )
    .bind(origin.source)
    .bind(origin.kind)
    .bind(origin.source_id)
    .bind(object_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An old path in the form the redirect table keeps: no trailing slash
/// (the root stays `/`), the query kept only for `?p=` and `?page_id=`.
pub fn redirect_key(path: &str) -> String {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut key = path.trim_end_matches('/').to_string();
    if key.is_empty() {
        key.push('/');
    }
    if let Some(id) = query
        .split('&')
        .find(|kv| kv.starts_with("p=") || kv.starts_with("page_id="))
    {
        key.push('?');
        key.push_str(id);
    }
    key
}

async fn add_redirects(tx: &mut Tx, old_paths: &[String], target: &str, now: i64) -> Result<()> {
    for old in old_paths {
        let key = redirect_key(old);
        if key == "/" || key == target {
            continue;
        }
        sqlx::query(
            "INSERT INTO path_redirects (path, target, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (path) DO UPDATE SET target = excluded.target",
        )
        .bind(&key)
        .bind(target)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Where an old path lives now (`path` as requested, with its query).
pub async fn find_path_redirect(db: &Db, path: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT target FROM path_redirects WHERE path = $1")
        .bind(redirect_key(path))
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("target")).transpose()?)
}

/// The current slug of the object an earlier import made from `origin`;
/// `sql` selects `slug` by `id` from its table.
async fn imported_slug(tx: &mut Tx, origin: Origin<'_>, sql: &str) -> Result<Option<Slug>> {
    let Some(id) = find_item_in(tx, origin).await? else {
        return Ok(None);
    };
    let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&mut **tx).await? else {
        return Ok(None);
    };
    let slug: String = row.try_get("slug")?;
    Ok(Some(
        Slug::parse(&slug).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
    ))
}

/// What importing one article did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleImport {
    Created {
        id: i64,
        slug: String,
    },
    Updated {
        id: i64,
        slug: String,
    },
    Unchanged {
        id: i64,
        slug: String,
    },
    /// Edited in the newsroom since it was imported: left as it is.
    Conflict {
        id: i64,
        slug: String,
    },
}

impl ArticleImport {
    pub fn slug(&self) -> &str {
        match self {
            ArticleImport::Created { slug, .. }
            | ArticleImport::Updated { slug, .. }
            | ArticleImport::Unchanged { slug, .. }
            | ArticleImport::Conflict { slug, .. } => slug,
        }
    }
}

/// The first of `slug`, `slug-2`, `slug-3` … that `taken` does not hold.
async fn free_slug(tx: &mut Tx, slug: &Slug, sql: &str) -> Result<Slug> {
    for n in 1..10_000u32 {
        let candidate = if n == 1 {
            slug.clone()
        } else {
            let base: String = slug.as_str().chars().take(110).collect();
            let base = base.trim_end_matches('-');
            Slug::parse(&format!("{base}-{n}"))
                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?
        };
        let taken = sqlx::query(sql)
            .bind(candidate.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_none() {
            return Ok(candidate);
        }
    }
    Err(crate::StoreError::Conflict(format!(
        "no free slug like {:?}",
        slug.as_str()
    )))
}

/// Imports one article: found again by `origin` (its slug then stays its
/// own), or created under `a.slug`, suffixed when another article or an
/// old slug holds it; its old paths answer 301 to it. An article the
/// newsroom saved since its import is a conflict unless `force`. The
/// article, its version, its lead image's words, its identity and its
/// redirects are one transaction.
/// The title and description an old site gave an article for search
/// engines (empty for none).
#[derive(Debug, Clone, Copy, Default)]
pub struct Seo<'a> {
    pub title: &'a str,
    pub description: &'a str,
}

#[allow(clippy::too_many_arguments)]
pub async fn import_article(
    db: &Db,
    origin: Origin<'_>,
    a: &NewArticle,
    seo: Seo<'_>,
    old_paths: &[String],
    force: bool,
    now: i64,
) -> Result<ArticleImport> {
    let mut tx = db.begin().await?;
    let mut a = a.clone();
    let existing = match find_item_in(&mut tx, origin).await? {
        Some(id) => sqlx::query("SELECT slug, source_hash FROM articles WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| -> Result<_> {
                Ok((
                    id,
                    r.try_get::<String, _>("slug")?,
                    r.try_get::<Option<String>, _>("source_hash")?,
                ))
            })
            .transpose()?,
        None => None,
    };
    match &existing {
        Some((id, slug, None)) if !force => {
            tx.rollback().await?;
            return Ok(ArticleImport::Conflict {
                id: *id,
                slug: slug.clone(),
            });
        }
        Some((_, slug, _)) => {
            a.slug = Slug::parse(slug).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        }
        None => {
            a.slug = free_slug(
                &mut tx,
                &a.slug,
                "SELECT 1 AS x FROM articles WHERE slug = $1 \
                 UNION ALL SELECT 1 AS x FROM article_redirects WHERE old_slug = $1",
            )
            .await?;
        }
    }
    let written = crate::content::upsert_article_in(&mut tx, db.backend(), &a, now).await?;
    crate::content::keep_written_version(&mut tx, written, &a, now).await?;
    if let Some(l) = &a.lead {
        crate::media::fill_media_text_in(&mut tx, l.media_id, &l.alt, &l.caption, &l.credit)
            .await?;
    }
    if let Upserted::Created(id) | Upserted::Updated(id) = written {
        sqlx::query("UPDATE articles SET seo_title = $2, seo_description = $3 WHERE id = $1")
            .bind(id)
            .bind(seo.title)
            .bind(seo.description)
            .execute(&mut *tx)
            .await?;
    }
    let slug = a.slug.as_str().to_string();
    let out = match written {
        Upserted::Created(id) => ArticleImport::Created { id, slug },
        Upserted::Updated(id) => ArticleImport::Updated { id, slug },
        Upserted::Unchanged(id) => ArticleImport::Unchanged { id, slug },
    };
    let id = match &out {
        ArticleImport::Created { id, .. }
        | ArticleImport::Updated { id, .. }
        | ArticleImport::Unchanged { id, .. }
        | ArticleImport::Conflict { id, .. } => *id,
    };
    remember(&mut tx, origin, id, now).await?;
    add_redirects(&mut tx, old_paths, &format!("/{}", out.slug()), now).await?;
    crate::commit(tx).await?;
    Ok(out)
}

/// Imports a topic: found again by `origin`, else the topic with this
/// slug (topics are a shared vocabulary: "News" on the old site is the
/// same topic here), else a new one. Its old paths answer 301 to it.
/// Returns (id, created).
pub async fn import_topic(
    db: &Db,
    origin: Origin<'_>,
    t: &NewTopic<'_>,
    old_paths: &[String],
    now: i64,
) -> Result<(i64, bool)> {
    let mut tx = db.begin().await?;
    let slug = match imported_slug(&mut tx, origin, "SELECT slug FROM topics WHERE id = $1").await?
    {
        Some(slug) => slug,
        None => t.slug.clone(),
    };
    let existed = sqlx::query("SELECT id FROM topics WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    let id = crate::content::upsert_topic_in(
        &mut tx,
        &NewTopic {
            slug: &slug,
            name: t.name,
            description: t.description,
        },
        now,
    )
    .await?;
    remember(&mut tx, origin, id, now).await?;
    add_redirects(
        &mut tx,
        old_paths,
        &format!("/topics/{}", slug.as_str()),
        now,
    )
    .await?;
    crate::commit(tx).await?;
    Ok((id, !existed))
}

/// Imports an author, the same way as a topic (a byline here with the
/// same slug is the same person). Returns (id, created).
pub async fn import_author(
    db: &Db,
    origin: Origin<'_>,
    a: &NewAuthor<'_>,
    old_paths: &[String],
    now: i64,
) -> Result<(i64, bool)> {
    let mut tx = db.begin().await?;
    let slug =
        match imported_slug(&mut tx, origin, "SELECT slug FROM authors WHERE id = $1").await? {
            Some(slug) => slug,
            None => a.slug.clone(),
        };
    let existing = sqlx::query("SELECT id, bio_html, avatar_media_id FROM authors WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    // An existing byline keeps the bio and picture the newsroom gave it
    // when the old site has none.
    let (bio, avatar) = match &existing {
        Some(r) if a.bio_html.is_empty() => (
            r.try_get::<String, _>("bio_html")?,
            r.try_get::<Option<i64>, _>("avatar_media_id")?,
        ),
        _ => (a.bio_html.to_string(), a.avatar_media_id),
    };
    let id = crate::content::upsert_author_in(
        &mut tx,
        &NewAuthor {
            slug: &slug,
            name: a.name,
            bio_html: &bio,
            avatar_media_id: avatar,
        },
        now,
    )
    .await?;
    remember(&mut tx, origin, id, now).await?;
    add_redirects(
        &mut tx,
        old_paths,
        &format!("/authors/{}", slug.as_str()),
        now,
    )
    .await?;
    crate::commit(tx).await?;
    Ok((id, existing.is_none()))
}

/// What importing one page did: (id, slug, created, changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageImport {
    pub id: i64,
    pub slug: String,
    pub created: bool,
    pub changed: bool,
}

/// Imports a page: found again by `origin`, else created under its slug,
/// suffixed when a page here holds it, so an old site's "terms" or
/// "privacy" never becomes a new version of the pages readers consented
/// to, unless `replace` says so. Old paths answer 301.
pub async fn import_page(
    db: &Db,
    origin: Origin<'_>,
    p: &NewPage<'_>,
    old_paths: &[String],
    replace: bool,
    now: i64,
) -> Result<PageImport> {
    let mut tx = db.begin().await?;
    let known = imported_slug(&mut tx, origin, "SELECT slug FROM pages WHERE id = $1").await?;
    let created = known.is_none();
    let slug = match known {
        Some(slug) => slug,
        None if replace => p.slug.clone(),
        None => free_slug(&mut tx, p.slug, "SELECT 1 AS x FROM pages WHERE slug = $1").await?,
    };
    let (id, _, changed) = crate::content::upsert_page_in(
        &mut tx,
        &NewPage {
            slug: &slug,
            title: p.title,
            body_html: p.body_html,
            body_markdown: p.body_markdown,
            source_hash: p.source_hash,
        },
        now,
    )
    .await?;
    remember(&mut tx, origin, id, now).await?;
    add_redirects(
        &mut tx,
        old_paths,
        &format!("/pages/{}", slug.as_str()),
        now,
    )
    .await?;
    crate::commit(tx).await?;
    Ok(PageImport {
        id,
        slug: slug.as_str().to_string(),
        created,
        changed,
    })
}

/// Records another identity of an imported object (a Ghost post's
/// `uuid` beside its `id`), which the Ghost-compatible API serves.
pub async fn remember_alias(db: &Db, origin: Origin<'_>, object_id: i64, now: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    remember(&mut tx, origin, object_id, now).await?;
    crate::commit(tx).await
}

/// Imports a newsletter: found again by `origin`, else the newsletter
/// here with the same slug (left as the newsroom set it up), else a new
/// one. Returns (id, created).
pub async fn import_newsletter(
    db: &Db,
    origin: Origin<'_>,
    n: &crate::offers::NewNewsletter<'_>,
    now: i64,
) -> Result<(i64, bool)> {
    let mut tx = db.begin().await?;
    if let Some(id) = find_item_in(&mut tx, origin).await? {
        let found = sqlx::query("SELECT id FROM newsletters WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_some() {
            sqlx::query(
                "UPDATE newsletters SET name = $1, description = $2, sender_name = $3, \
                 on_signup = $4, updated_at = $5 WHERE id = $6",
            )
            .bind(n.name)
            .bind(n.description)
            .bind(n.sender_name)
            .bind(i64::from(n.on_signup))
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            crate::settings::bump_counter(&mut tx, crate::settings::CONTENT).await?;
            crate::commit(tx).await?;
            return Ok((id, false));
        }
    }
    let existing = sqlx::query("SELECT id FROM newsletters WHERE slug = $1")
        .bind(n.slug)
        .fetch_optional(&mut *tx)
        .await?;
    let (id, created) = match existing {
        Some(r) => (r.try_get("id")?, false),
        None => {
            let row = sqlx::query(
                "INSERT INTO newsletters (slug, name, description, sender_name, sender_email, reply_to, \
                 audience, on_signup, position, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            )
            .bind(n.slug)
            .bind(n.name)
            .bind(n.description)
            .bind(n.sender_name)
            .bind(n.sender_email)
            .bind(n.reply_to)
            .bind(n.audience)
            .bind(i64::from(n.on_signup))
            .bind(n.position)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            (row.try_get("id")?, true)
        }
    };
    remember(&mut tx, origin, id, now).await?;
    crate::settings::bump_counter(&mut tx, crate::settings::CONTENT).await?;
    crate::commit(tx).await?;
    Ok((id, created))
}

/// A member from another platform's list.
#[derive(Debug, Clone, Default)]
pub struct ImportedMember {
    /// Its id there (the identity a re-run matches on).
    pub source_id: String,
    pub email: String,
    pub email_lower: String,
    /// When they joined there (else now).
    pub created_at: Option<i64>,
    /// Newsletters they chose there, by id here.
    pub newsletters: Vec<i64>,
    /// A complimentary subscription there.
    pub comp: bool,
    /// Their Stripe customer (the same Stripe account).
    pub customer: Option<String>,
}

/// What importing one member did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberOutcome {
    pub member_id: i64,
    pub created: bool,
    /// Newsletter opt-ins recorded (not already there).
    pub opted_in: u64,
    /// On the suppression list: no opt-in recorded, and it stays there.
    pub suppressed: bool,
    pub comp_granted: bool,
    /// The customer was linked to this member now.
    pub customer_linked: bool,
    /// The customer already belongs to another member here (kept there),
    /// or this member already has another customer.
    pub customer_conflict: Option<String>,
}

/// Imports members in one transaction (a batch: all of them or none): each
/// found again by `source`, else by address (an existing account is kept
/// and joined), else created; verified (the old platform verified them);
/// opted in to their newsletters with the import as the consent's source,
/// unless suppressed; a complimentary grant once; the Stripe customer
/// linked when neither side has another.
pub async fn import_members(
    db: &Db,
    source: &str,
    members: &[ImportedMember],
    now: i64,
) -> Result<Vec<MemberOutcome>> {
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(members.len());
    let consent = format!("import: {source}");
    for m in members {
        let origin = Origin {
            source,
            kind: "member",
            source_id: &m.source_id,
        };
        let mut o = MemberOutcome::default();
        let known = match find_item_in(&mut tx, origin).await? {
            Some(id) => sqlx::query("SELECT id FROM members WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|_| id),
            None => None,
        };
        let id = match known {
            Some(id) => id,
            None => {
                let joined = m.created_at.unwrap_or(now).min(now);
                match crate::members::insert_member(
                    &mut tx,
                    &m.email,
                    &m.email_lower,
                    None,
                    false,
                    joined,
                )
                .await?
                {
                    Some(id) => {
                        o.created = true;
                        id
                    }
                    None => sqlx::query("SELECT id FROM members WHERE email_lower = $1")
                        .bind(&m.email_lower)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("id")?,
                }
            }
        };
        o.member_id = id;
        crate::members::prove_address(&mut tx, id, None, crate::members::Proof::Vouched, now)
            .await?;
        o.suppressed = sqlx::query("SELECT 1 AS x FROM suppressions WHERE email_lower = $1")
            .bind(&m.email_lower)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !o.suppressed {
            for n in &m.newsletters {
                if crate::newsletters::subscribe(&mut tx, id, *n, &consent, now).await? {
                    o.opted_in += 1;
                }
            }
        }
        if m.comp {
            let note = format!("imported: {source}");
            let held = sqlx::query(
                "SELECT 1 AS x FROM grants WHERE member_id = $1 AND source = 'comp' AND note = $2 \
                 AND (valid_until IS NULL OR valid_until > $3)",
            )
            .bind(id)
            .bind(&note)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
            if !held {
                crate::members::insert_grant_in(&mut tx, id, "comp", now, None, &note, now).await?;
                o.comp_granted = true;
            }
        }
        if let Some(customer) = &m.customer {
            let holder =
                sqlx::query("SELECT member_id FROM stripe_customers WHERE customer_id = $1")
                    .bind(customer)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get::<i64, _>("member_id"))
                    .transpose()?;
            let own = sqlx::query("SELECT customer_id FROM stripe_customers WHERE member_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>("customer_id"))
                .transpose()?;
            match (holder, own) {
                (Some(h), _) if h == id => {}
                (Some(_), _) => {
                    o.customer_conflict = Some(format!(
                        "the Stripe customer {customer} belongs to another member here"
                    ))
                }
                (None, Some(other)) => {
                    o.customer_conflict = Some(format!(
                        "this member already has the Stripe customer {other}"
                    ))
                }
                (None, None) => {
                    sqlx::query(
                        "INSERT INTO stripe_customers (member_id, customer_id, created_at) VALUES ($1, $2, $3)",
                    )
                    .bind(id)
                    .bind(customer)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    o.customer_linked = true;
                }
            }
        }
        remember(&mut tx, origin, id, now).await?;
        out.push(o);
    }
    crate::commit(tx).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::redirect_key;

    #[test]
    fn old_paths_are_kept_without_their_trailing_slash_and_with_only_the_id_query() {
        assert_eq!(
            redirect_key("/2024/05/17/low-tide/"),
            "/2024/05/17/low-tide"
        );
        assert_eq!(redirect_key("/2024/05/17/low-tide"), "/2024/05/17/low-tide");
        assert_eq!(redirect_key("/?p=12"), "/?p=12");
        assert_eq!(redirect_key("/?utm=x&p=12"), "/?p=12");
        assert_eq!(redirect_key("/?page_id=7"), "/?page_id=7");
        assert_eq!(redirect_key("/news/?utm_source=x"), "/news");
        assert_eq!(redirect_key("/"), "/");
    }
}

// ---------------------------------------------------------------------------
// Import runs started from the newsroom

/// The job that reads an uploaded export without writing (the dry run).
pub const CHECK_JOB: &str = "import_check";
/// The job that imports a checked export.
pub const RUN_JOB: &str = "import_run";

/// An import run: its file, options, status and reports (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRun {
    pub id: i64,
    pub source: String,
    pub file_name: String,
    /// Empty once the run ended and the file was deleted.
    pub file_path: String,
    pub options: String,
    /// checking, checked, running, done, failed.
    pub status: String,
    pub done: i64,
    pub total: i64,
    pub dry_report: Option<String>,
    pub report: Option<String>,
    pub error: Option<String>,
    pub staff_id: Option<i64>,
    pub staff_email: String,
    pub created_at: i64,
    pub updated_at: i64,
}

fn run_from(r: &sqlx::any::AnyRow) -> Result<ImportRun> {
    Ok(ImportRun {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        file_name: r.try_get("file_name")?,
        file_path: r.try_get("file_path")?,
        options: r.try_get("options")?,
        status: r.try_get("status")?,
        done: r.try_get("done")?,
        total: r.try_get("total")?,
        dry_report: r.try_get("dry_report")?,
        report: r.try_get("report")?,
        error: r.try_get("error")?,
        staff_id: r.try_get("staff_id")?,
        staff_email: r.try_get("staff_email")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const RUN_COLUMNS: &str = "id, source, file_name, file_path, options, status, done, total, \
                           dry_report, report, error, staff_id, staff_email, created_at, updated_at";

async fn enqueue(tx: &mut Tx, kind: &str, run: i64, now: i64) -> Result<()> {
    let payload = serde_json::json!({ "run": run }).to_string();
    let key = format!("{kind}:{run}");
    crate::jobs::insert_job(
        tx,
        &crate::jobs::NewJob {
            kind,
            payload: &payload,
            unique_key: Some(&key),
            run_at: now,
            max_attempts: 3,
        },
        now,
    )
    .await
}

/// An uploaded export: the run, its dry-run job and the audit entry, in
/// one transaction. Returns the run's id.
#[allow(clippy::too_many_arguments)]
pub async fn create_run(
    db: &Db,
    source: &str,
    file_name: &str,
    file_path: &str,
    options: &str,
    by: crate::newsroom::Actor<'_>,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO import_runs (source, file_name, file_path, options, status, staff_id, staff_email, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'checking', $5, $6, $7, $7) RETURNING id",
    )
    .bind(source)
    .bind(file_name)
    .bind(file_path)
    .bind(options)
    .bind(by.staff_id)
    .bind(by.email)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    enqueue(&mut tx, CHECK_JOB, id, now).await?;
    let object = id.to_string();
    let audit = by.audit("import.upload", "import", &object, file_name);
    crate::newsroom::audit(&mut tx, &audit, now).await?;
    crate::commit(tx).await?;
    Ok(id)
}

pub async fn find_run(db: &Db, id: i64) -> Result<Option<ImportRun>> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM import_runs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(run_from).transpose()
}

/// The newest runs first.
pub async fn list_runs(db: &Db, limit: i64) -> Result<Vec<ImportRun>> {
    let rows = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM import_runs ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(run_from).collect()
}

/// Moves a run to `status`, with its progress and, when given, a report
/// (`dry_report` for a check, `report` for a run), an error, or the file
/// gone (`file_path` emptied).
pub struct RunUpdate<'a> {
    pub status: &'a str,
    pub done: i64,
    pub total: i64,
    pub dry_report: Option<&'a str>,
    pub report: Option<&'a str>,
    pub error: Option<&'a str>,
    pub file_gone: bool,
}

pub async fn update_run(db: &Db, id: i64, u: &RunUpdate<'_>, now: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE import_runs SET status = $2, done = $3, total = $4, \
         dry_report = COALESCE($5, dry_report), report = COALESCE($6, report), \
         error = COALESCE($7, error), file_path = CASE WHEN $8 = 1 THEN '' ELSE file_path END, \
         updated_at = $9 WHERE id = $1",
    )
    .bind(id)
    .bind(u.status)
    .bind(u.done)
    .bind(u.total)
    .bind(u.dry_report)
    .bind(u.report)
    .bind(u.error)
    .bind(i64::from(u.file_gone))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    crate::commit(tx).await
}

/// Confirms a checked run: it is queued for the import job, audited, in
/// one transaction. False when the run is not waiting for confirmation,
/// or another run is importing (two at once could both create what the
/// other is creating).
pub async fn confirm_run(
    db: &Db,
    id: i64,
    by: crate::newsroom::Actor<'_>,
    now: i64,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE import_runs SET status = 'running', done = 0, updated_at = $2 \
         WHERE id = $1 AND status = 'checked' \
         AND NOT EXISTS (SELECT 1 FROM import_runs o WHERE o.status = 'running')",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    enqueue(&mut tx, RUN_JOB, id, now).await?;
    let object = id.to_string();
    let audit = by.audit("import.confirm", "import", &object, "");
    crate::newsroom::audit(&mut tx, &audit, now).await?;
    crate::commit(tx).await?;
    Ok(true)
}

/// Discards a run that is waiting for confirmation (its file is the
/// caller's to delete), audited. Returns the file's path, or `None` when
/// the run is not waiting.
pub async fn discard_run(
    db: &Db,
    id: i64,
    by: crate::newsroom::Actor<'_>,
    now: i64,
) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "UPDATE import_runs SET status = 'discarded', file_path = '', updated_at = $2 \
         WHERE id = $1 AND status = 'checked' RETURNING file_name",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(None);
    };
    let name: String = row.try_get("file_name")?;
    let object = id.to_string();
    let audit = by.audit("import.discard", "import", &object, &name);
    crate::newsroom::audit(&mut tx, &audit, now).await?;
    crate::commit(tx).await?;
    Ok(Some(name))
}
