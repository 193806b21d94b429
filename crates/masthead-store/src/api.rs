//! Storage for the Ghost-compatible APIs: integrations and their keys,
//! each object's Ghost-style ids, and the Content API's queries, whose
//! `filter` (NQL, parsed in `masthead_core::api::nql`) is compiled here
//! into SQL with bound values. Only the listed fields compile; none of
//! them is body text, so no filter can ask about what a reader may not see.

use crate::content::{placeholders, summaries_from_rows, SUMMARY_COLUMNS, VISIBLE};
use crate::newsroom::{audit, Audit};
use crate::settings::{bump_counter, SETTINGS};
use crate::{Db, Result, StoreError};
use masthead_core::access::Policy;
use masthead_core::api::nql::{self, Expr, Op, Test};
use masthead_core::api::OrderBy;
use masthead_core::content::{ArticleSummary, Media, TopicRef};
use masthead_core::{AccessLevel, ContentType};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

// ---------------------------------------------------------------- keys

/// An integration as stored (the Admin secret sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub content_key: String,
    pub admin_key_id: String,
    pub admin_secret_sealed: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revoked_at: Option<i64>,
}

/// A new integration's keys (made by the caller).
pub struct NewKeys<'a> {
    pub content_key: &'a str,
    pub admin_key_id: &'a str,
    pub admin_secret_sealed: &'a str,
}

fn integration_from_row(r: &AnyRow) -> Result<Integration> {
    Ok(Integration {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        content_key: r.try_get("content_key")?,
        admin_key_id: r.try_get("admin_key_id")?,
        admin_secret_sealed: r.try_get("admin_secret")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const INTEGRATION_COLUMNS: &str = "id, name, role, content_key, admin_key_id, admin_secret, \
     created_at, updated_at, revoked_at";

/// Creates an integration (audited; every node reloads its keys).
pub async fn create_integration(
    db: &Db,
    name: &str,
    role: &str,
    keys: &NewKeys<'_>,
    audit_as: &Audit<'_>,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO api_integrations (name, role, content_key, admin_key_id, admin_secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(name)
    .bind(role)
    .bind(keys.content_key)
    .bind(keys.admin_key_id)
    .bind(keys.admin_secret_sealed)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    let object_id = id.to_string();
    audit(
        &mut tx,
        &Audit {
            object_id: &object_id,
            ..*audit_as
        },
        now,
    )
    .await?;
    bump_counter(&mut tx, SETTINGS).await?;
    crate::commit(tx).await?;
    Ok(id)
}

/// Every integration, revoked ones last.
pub async fn list_integrations(db: &Db) -> Result<Vec<Integration>> {
    let sql = format!(
        "SELECT {INTEGRATION_COLUMNS} FROM api_integrations \
         ORDER BY (CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END), name, id"
    );
    sqlx::query(&sql)
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(integration_from_row)
        .collect()
}

pub async fn find_integration(db: &Db, id: i64) -> Result<Option<Integration>> {
    let sql = format!("SELECT {INTEGRATION_COLUMNS} FROM api_integrations WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?
        .map(|r| integration_from_row(&r))
        .transpose()
}

/// What a change to an integration does.
pub enum KeyChange<'a> {
    /// A new Content API key (the old one stops working at once).
    Content(&'a str),
    /// A new Admin API key id and sealed secret.
    Admin { key_id: &'a str, sealed: &'a str },
    /// Both keys stop working; the row stays for the record.
    Revoke,
}

/// Rotates a key or revokes the integration (audited). A revoked
/// integration cannot be changed again: not found.
pub async fn change_integration(
    db: &Db,
    id: i64,
    change: KeyChange<'_>,
    audit_as: &Audit<'_>,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let q = match change {
        KeyChange::Content(key) => sqlx::query(
            "UPDATE api_integrations SET content_key = $2, updated_at = $3 \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(key)
        .bind(now),
        KeyChange::Admin { key_id, sealed } => sqlx::query(
            "UPDATE api_integrations SET admin_key_id = $2, admin_secret = $3, updated_at = $4 \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(key_id)
        .bind(sealed)
        .bind(now),
        KeyChange::Revoke => sqlx::query(
            "UPDATE api_integrations SET revoked_at = $2, updated_at = $2 \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now),
    };
    if q.execute(&mut *tx).await?.rows_affected() == 0 {
        return Err(StoreError::NotFound("integration"));
    }
    let object_id = id.to_string();
    audit(
        &mut tx,
        &Audit {
            object_id: &object_id,
            ..*audit_as
        },
        now,
    )
    .await?;
    bump_counter(&mut tx, SETTINGS).await?;
    crate::commit(tx).await
}

/// The integration an Admin API key id belongs to, when it is in effect.
pub async fn find_by_admin_key(db: &Db, key_id: &str) -> Result<Option<Integration>> {
    let sql = format!(
        "SELECT {INTEGRATION_COLUMNS} FROM api_integrations WHERE admin_key_id = $1 AND revoked_at IS NULL"
    );
    sqlx::query(&sql)
        .bind(key_id)
        .fetch_optional(db.reader())
        .await?
        .map(|r| integration_from_row(&r))
        .transpose()
}

/// The Content API keys in effect.
pub async fn active_content_keys(db: &Db) -> Result<Vec<String>> {
    sqlx::query("SELECT content_key FROM api_integrations WHERE revoked_at IS NULL")
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(|r| Ok(r.try_get("content_key")?))
        .collect()
}

// ----------------------------------------------------------------- ids

/// Which table an API object lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Post,
    Page,
    Tag,
    Author,
    /// Ghost's tiers: 0 is the free tier, 1 the paid one.
    Tier,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Post => "post",
            Kind::Page => "page",
            Kind::Tag => "tag",
            Kind::Author => "author",
            Kind::Tier => "tier",
        }
    }
}

/// An object's Ghost-style ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub id: String,
    pub uuid: String,
}

async fn stored_ids(db: &Db, kind: Kind, objects: &[i64]) -> Result<HashMap<i64, Ids>> {
    let mut out = HashMap::new();
    for chunk in objects.chunks(500) {
        let sql = format!(
            "SELECT object_id, ghost_id, uuid FROM api_ids WHERE kind = $1 AND object_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(kind.as_str());
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.reader()).await? {
            out.insert(
                r.try_get("object_id")?,
                Ids {
                    id: r.try_get("ghost_id")?,
                    uuid: r.try_get("uuid")?,
                },
            );
        }
    }
    Ok(out)
}

/// The ids of `objects`, made (once, and kept) for those that have none:
/// an object imported from Ghost takes its Ghost id and UUID, any other
/// takes `fresh()`'s.
pub async fn ensure_ids(
    db: &Db,
    kind: Kind,
    objects: &[i64],
    fresh: &mut (dyn FnMut() -> Ids + Send),
) -> Result<HashMap<i64, Ids>> {
    let mut found = stored_ids(db, kind, objects).await?;
    let missing: Vec<i64> = objects
        .iter()
        .copied()
        .filter(|id| !found.contains_key(id))
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    let mut tx = db.begin().await?;
    let mut imported: HashMap<i64, (Option<String>, Option<String>)> = HashMap::new();
    for chunk in missing.chunks(500) {
        let sql = format!(
            "SELECT object_id, kind, source_id FROM import_items WHERE source = 'ghost' \
             AND kind IN ($1, $2) AND object_id IN ({})",
            placeholders(3, chunk.len())
        );
        let uuid_kind = format!("{}_uuid", kind.as_str());
        let mut q = sqlx::query(&sql).bind(kind.as_str()).bind(&uuid_kind);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *tx).await? {
            let object: i64 = r.try_get("object_id")?;
            let k: String = r.try_get("kind")?;
            let source: String = r.try_get("source_id")?;
            let e = imported.entry(object).or_default();
            if k == kind.as_str() && masthead_core::api::is_object_id(&source) {
                e.0 = Some(source);
            } else if k == uuid_kind && source.len() == 36 {
                e.1 = Some(source.to_ascii_lowercase());
            }
        }
    }
    for object in &missing {
        let made = fresh();
        let (id, uuid) = match imported.remove(object) {
            Some((id, uuid)) => (id.unwrap_or(made.id), uuid.unwrap_or(made.uuid)),
            None => (made.id, made.uuid),
        };
        for (ghost_id, uuid) in [(id, uuid), (fresh().id, fresh().uuid)] {
            // A taken id (two imports claiming one Ghost id) falls back to
            // a fresh one.
            let done = sqlx::query(
                "INSERT INTO api_ids (kind, object_id, ghost_id, uuid) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(kind.as_str())
            .bind(*object)
            .bind(&ghost_id)
            .bind(&uuid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                break;
            }
            let exists =
                sqlx::query("SELECT 1 AS one FROM api_ids WHERE kind = $1 AND object_id = $2")
                    .bind(kind.as_str())
                    .bind(*object)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_some() {
                break;
            }
        }
    }
    crate::commit(tx).await?;
    found.extend(stored_ids(db, kind, &missing).await?);
    Ok(found)
}

/// The object a Ghost-style id names.
pub async fn find_by_ghost_id(db: &Db, kind: Kind, ghost_id: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT object_id FROM api_ids WHERE kind = $1 AND ghost_id = $2")
        .bind(kind.as_str())
        .bind(ghost_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("object_id")).transpose()?)
}

// -------------------------------------------------------------- filter

/// A value bound into a compiled filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// A filter (or order) compiled to SQL over the resource's alias, with its
/// values to bind from `$first` on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compiled {
    pub sql: String,
    pub binds: Vec<Bind>,
}

/// What a filterable field is in SQL.
#[derive(Debug, Clone, Copy)]
enum Field {
    Text(&'static str),
    Time(&'static str),
    /// The Ghost id or UUID column of `api_ids` for this kind.
    ApiId(Kind, &'static str, &'static str),
    /// A link table: EXISTS over (from, join condition), comparing `col`.
    Linked(&'static str, &'static str),
    /// The first linked row's `col` (primary tag or author).
    First(&'static str),
    Featured,
    Visibility,
    /// A constant (pages are always public, never featured, untagged).
    Const(Option<&'static str>),
    /// A count of published posts (tags, authors).
    Count(&'static str),
}

const POST_TAGS: &str =
    "FROM article_topics x JOIN topics t ON t.id = x.topic_id WHERE x.article_id = a.id";
const POST_AUTHORS: &str =
    "FROM article_authors x JOIN authors t ON t.id = x.author_id WHERE x.article_id = a.id";

fn post_field(name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::ApiId(Kind::Post, "ghost_id", "a.id"),
        "uuid" => Field::ApiId(Kind::Post, "uuid", "a.id"),
        "slug" => Field::Text("a.slug"),
        "title" => Field::Text("a.headline"),
        "tag" | "tags" | "tags.slug" | "tag.slug" => Field::Linked(POST_TAGS, "t.slug"),
        "tags.name" => Field::Linked(POST_TAGS, "t.name"),
        "author" | "authors" | "authors.slug" | "author.slug" => {
            Field::Linked(POST_AUTHORS, "t.slug")
        }
        "authors.name" => Field::Linked(POST_AUTHORS, "t.name"),
        "primary_tag" | "primary_tag.slug" => Field::First(POST_TAGS),
        "primary_author" | "primary_author.slug" => Field::First(POST_AUTHORS),
        "featured" => Field::Featured,
        "visibility" => Field::Visibility,
        "published_at" => Field::Time("a.published_at"),
        "updated_at" => Field::Time("a.updated_at"),
        "created_at" => Field::Time("a.created_at"),
        _ => return None,
    })
}

fn page_field(name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::ApiId(Kind::Page, "ghost_id", "p.id"),
        "uuid" => Field::ApiId(Kind::Page, "uuid", "p.id"),
        "slug" => Field::Text("p.slug"),
        "title" => Field::Text("v.title"),
        "tag"
        | "tags"
        | "tags.slug"
        | "tag.slug"
        | "tags.name"
        | "author"
        | "authors"
        | "authors.slug"
        | "author.slug"
        | "authors.name"
        | "primary_tag"
        | "primary_tag.slug"
        | "primary_author"
        | "primary_author.slug" => Field::Const(None),
        "featured" => Field::Const(Some("false")),
        "visibility" => Field::Const(Some("public")),
        "published_at" | "created_at" => Field::Time("p.created_at"),
        "updated_at" => Field::Time("p.updated_at"),
        _ => return None,
    })
}

fn tag_field(name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::ApiId(Kind::Tag, "ghost_id", "t.id"),
        "slug" => Field::Text("t.slug"),
        "name" => Field::Text("t.name"),
        "visibility" => Field::Const(Some("public")),
        "count.posts" => Field::Count("article_topics"),
        "created_at" => Field::Time("t.created_at"),
        "updated_at" => Field::Time("t.updated_at"),
        _ => return None,
    })
}

fn author_field(name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::ApiId(Kind::Author, "ghost_id", "t.id"),
        "slug" => Field::Text("t.slug"),
        "name" => Field::Text("t.name"),
        "count.posts" => Field::Count("article_authors"),
        "created_at" => Field::Time("t.created_at"),
        "updated_at" => Field::Time("t.updated_at"),
        _ => return None,
    })
}

/// The fields each resource may be filtered and ordered by.
pub fn filter_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Post | Kind::Page => &[
            "id",
            "uuid",
            "slug",
            "title",
            "tag",
            "tags",
            "tags.slug",
            "tags.name",
            "author",
            "authors",
            "authors.slug",
            "authors.name",
            "primary_tag",
            "primary_author",
            "featured",
            "visibility",
            "published_at",
            "updated_at",
            "created_at",
        ],
        Kind::Tag => &[
            "id",
            "slug",
            "name",
            "visibility",
            "count.posts",
            "created_at",
            "updated_at",
        ],
        Kind::Author => &[
            "id",
            "slug",
            "name",
            "count.posts",
            "created_at",
            "updated_at",
        ],
        Kind::Tier => &[],
    }
}

fn field_of(kind: Kind, name: &str) -> Option<Field> {
    match kind {
        Kind::Post => post_field(name),
        Kind::Page => page_field(name),
        Kind::Tag => tag_field(name),
        Kind::Author => author_field(name),
        Kind::Tier => None,
    }
}

struct Compiler<'a> {
    kind: Kind,
    policy: &'a Policy,
    now: i64,
    next: usize,
    binds: Vec<Bind>,
}

impl Compiler<'_> {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        let p = format!("${}", self.next);
        self.next += 1;
        p
    }

    fn expr(&mut self, e: &Expr) -> std::result::Result<String, String> {
        Ok(match e {
            Expr::And(items) | Expr::Or(items) => {
                let join = if matches!(e, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts = items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                format!("({})", parts.join(join))
            }
            Expr::Test(t) => self.test(t)?,
        })
    }

    fn test(&mut self, t: &Test) -> std::result::Result<String, String> {
        let field = field_of(self.kind, &t.field)
            .ok_or_else(|| format!("cannot filter by {:?}", t.field))?;
        // The test's positive form, then negated when the operator is.
        let positive =
            match field {
                Field::Text(col) => self.compare_text_expr(col, t)?,
                Field::Time(col) => self.compare_time(col, t)?,
                Field::ApiId(kind, col, key) => {
                    only_equality(t)?;
                    let inner = self.compare_text_expr(col, t)?;
                    format!(
                        "{key} IN (SELECT object_id FROM api_ids WHERE kind = '{}' AND {inner})",
                        kind.as_str()
                    )
                }
                Field::Linked(from, col) => {
                    let inner = self.compare_text_expr(col, t)?;
                    format!("EXISTS (SELECT 1 {from} AND {inner})")
                }
                Field::First(from) => {
                    let col = format!("(SELECT t.slug {from} ORDER BY x.position LIMIT 1)");
                    self.compare_text_expr(&col, t)?
                }
                Field::Featured => {
                    only_equality(t)?;
                    let mut wanted = Vec::new();
                    for v in &t.values {
                        wanted.push(v.as_bool().ok_or_else(|| {
                            format!("featured is true or false, not {:?}", v.text)
                        })?);
                    }
                    let pinned = "a.id IN (SELECT article_id FROM front_slots WHERE page = 'home')";
                    match (wanted.contains(&true), wanted.contains(&false)) {
                        (true, true) => "1 = 1".to_string(),
                        (true, false) => pinned.to_string(),
                        _ => format!("NOT ({pinned})"),
                    }
                }
                Field::Visibility => {
                    only_equality(t)?;
                    let mut parts = Vec::new();
                    for v in &t.values {
                        parts.push(self.visibility(&v.text)?);
                    }
                    format!("({})", parts.join(" OR "))
                }
                Field::Const(value) => {
                    only_equality(t)?;
                    let hit = t.values.iter().any(|v| {
                        Some(v.text.as_str()) == value || (value.is_none() && v.is_null())
                    });
                    if hit { "1 = 1" } else { "1 = 0" }.to_string()
                }
                Field::Count(table) => {
                    let col = match table {
                        "article_topics" => "topic_id",
                        _ => "author_id",
                    };
                    let count = format!(
                        "(SELECT COUNT(*) FROM {table} c JOIN articles a ON a.id = c.article_id \
                     WHERE c.{col} = t.id AND a.status = 'published' AND a.published_at <= {})",
                        self.now
                    );
                    let mut out = Vec::new();
                    for v in &t.values {
                        let n: i64 = v
                            .text
                            .parse()
                            .map_err(|_| format!("count.posts is a number, not {:?}", v.text))?;
                        let p = self.bind(Bind::Int(n));
                        out.push(p);
                    }
                    compare(&count, positive_op(t.op), &out)
                }
            };
        Ok(if t.op.negated() {
            format!("NOT ({positive})")
        } else {
            positive
        })
    }

    fn compare_text_expr(&mut self, col: &str, t: &Test) -> std::result::Result<String, String> {
        let op = positive_op(t.op);
        if t.values.len() == 1 && t.values[0].is_null() {
            return match op {
                Op::Eq => Ok(format!("{col} IS NULL")),
                _ => Err("null can only be compared for equality".into()),
            };
        }
        if matches!(op, Op::Contains | Op::StartsWith | Op::EndsWith) {
            let v = &t.values[0].text;
            let escaped = v
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = match op {
                Op::Contains => format!("%{escaped}%"),
                Op::StartsWith => format!("{escaped}%"),
                _ => format!("%{escaped}"),
            };
            let p = self.bind(Bind::Text(pattern));
            return Ok(format!("LOWER({col}) LIKE {p} ESCAPE '\\'"));
        }
        let ps: Vec<String> = t
            .values
            .iter()
            .map(|v| self.bind(Bind::Text(v.text.clone())))
            .collect();
        Ok(compare(col, op, &ps))
    }

    fn compare_time(&mut self, col: &str, t: &Test) -> std::result::Result<String, String> {
        let op = positive_op(t.op);
        if matches!(op, Op::Contains | Op::StartsWith | Op::EndsWith) {
            return Err(format!(
                "{} is a date: compare it with >, <, >=, <= or :",
                t.field
            ));
        }
        if t.values.len() == 1 && t.values[0].is_null() {
            return match op {
                Op::Eq => Ok(format!("{col} IS NULL")),
                _ => Err("null can only be compared for equality".into()),
            };
        }
        let mut ps = Vec::new();
        for v in &t.values {
            let secs = v
                .as_time(self.now)
                .ok_or_else(|| format!("{:?} is not a date", v.text))?;
            ps.push(self.bind(Bind::Int(secs)));
        }
        Ok(compare(col, op, &ps))
    }

    /// Articles whose resolved level has this Ghost visibility.
    fn visibility(&mut self, v: &str) -> std::result::Result<String, String> {
        let levels: &[AccessLevel] = match v {
            "public" => &[AccessLevel::Free],
            "members" => &[AccessLevel::Registered],
            "paid" | "tiers" => &[AccessLevel::Metered, AccessLevel::Subscribers],
            other => {
                return Err(format!(
                    "visibility is public, members or paid, not {other:?}"
                ))
            }
        };
        let mut parts: Vec<String> = levels
            .iter()
            .map(|l| format!("a.access_level = '{}'", l.as_str()))
            .collect();
        let types: Vec<String> = ContentType::ALL
            .iter()
            .filter(|t| levels.contains(&self.policy.resolve(AccessLevel::Default, **t)))
            .map(|t| format!("'{}'", t.as_str()))
            .collect();
        if !types.is_empty() {
            parts.push(format!(
                "(a.access_level = 'default' AND a.content_type IN ({}))",
                types.join(", ")
            ));
        }
        Ok(format!("({})", parts.join(" OR ")))
    }
}

fn only_equality(t: &Test) -> std::result::Result<(), String> {
    match positive_op(t.op) {
        Op::Eq | Op::In => Ok(()),
        _ => Err(format!("{} can only be compared for equality", t.field)),
    }
}

/// The operator without its negation.
fn positive_op(op: Op) -> Op {
    match op {
        Op::Ne => Op::Eq,
        Op::NotIn => Op::In,
        Op::NotContains => Op::Contains,
        Op::NotStartsWith => Op::StartsWith,
        Op::NotEndsWith => Op::EndsWith,
        other => other,
    }
}

fn compare(col: &str, op: Op, ps: &[String]) -> String {
    match op {
        Op::In => format!("{col} IN ({})", ps.join(", ")),
        Op::Gt => format!("{col} > {}", ps[0]),
        Op::Ge => format!("{col} >= {}", ps[0]),
        Op::Lt => format!("{col} < {}", ps[0]),
        Op::Le => format!("{col} <= {}", ps[0]),
        _ => format!("{col} = {}", ps[0]),
    }
}

/// Compiles a filter for `kind`, its values bound from `$first`. Any field
/// not in `filter_fields(kind)`, or a value of the wrong type, is an error
/// in words for the API's 400.
pub fn compile_filter(
    kind: Kind,
    filter: &Expr,
    policy: &Policy,
    now: i64,
    first: usize,
) -> std::result::Result<Compiled, String> {
    for t in nql::tests(filter) {
        if field_of(kind, &t.field).is_none() {
            return Err(format!("cannot filter by {:?}", t.field));
        }
    }
    let mut c = Compiler {
        kind,
        policy,
        now,
        next: first,
        binds: Vec::new(),
    };
    let sql = c.expr(filter)?;
    Ok(Compiled {
        sql,
        binds: c.binds,
    })
}

/// Compiles `order` for `kind` (fields already checked against
/// `order_fields`), ending with the id so pages never overlap.
pub fn compile_order(kind: Kind, order: &[OrderBy]) -> String {
    let (alias_id, default) = match kind {
        Kind::Post => ("a.id", "a.published_at DESC"),
        Kind::Page => ("p.id", "v.title ASC"),
        Kind::Tag | Kind::Author | Kind::Tier => ("t.id", "t.name ASC"),
    };
    let mut terms: Vec<String> = order
        .iter()
        .filter_map(|o| {
            let col = match (kind, o.field.as_str()) {
                (_, "id") => alias_id,
                (Kind::Post, "published_at") => "a.published_at",
                (Kind::Post, "updated_at") => "a.updated_at",
                (Kind::Post, "created_at") => "a.created_at",
                (Kind::Post, "title") => "a.headline",
                (Kind::Post, "slug") => "a.slug",
                (Kind::Page, "published_at" | "created_at") => "p.created_at",
                (Kind::Page, "updated_at") => "p.updated_at",
                (Kind::Page, "title") => "v.title",
                (Kind::Page, "slug") => "p.slug",
                (Kind::Tag | Kind::Author, "name") => "t.name",
                (Kind::Tag | Kind::Author, "slug") => "t.slug",
                (Kind::Tag | Kind::Author, "created_at") => "t.created_at",
                (Kind::Tag | Kind::Author, "updated_at") => "t.updated_at",
                _ => return None,
            };
            Some(format!("{col} {}", if o.desc { "DESC" } else { "ASC" }))
        })
        .collect();
    if terms.is_empty() {
        terms.push(default.to_string());
    }
    terms.push(format!("{alias_id} DESC"));
    terms.join(", ")
}

/// The fields each resource may be ordered by.
pub fn order_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Post | Kind::Page => &[
            "id",
            "published_at",
            "updated_at",
            "created_at",
            "title",
            "slug",
        ],
        Kind::Tag | Kind::Author => &["id", "name", "slug", "created_at", "updated_at"],
        Kind::Tier => &[],
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(n) => q.bind(*n),
        };
    }
    q
}

// --------------------------------------------------------------- posts

/// A post as the Content API shows it (the body is fetched through the
/// access decision, never here).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiPost {
    pub summary: ArticleSummary,
    pub status: masthead_core::ArticleStatus,
    /// Moves on every save (the Admin API's collision check reads it).
    pub revision: i64,
    pub dateline: String,
    pub created_at: i64,
    pub seo_title: String,
    pub seo_description: String,
    pub featured: bool,
    pub topics: Vec<TopicRef>,
}

/// One page of what a query asks.
pub struct Browse<'a> {
    /// Published posts only (the Content API), or every post (the Admin
    /// API, which is staff).
    pub all_statuses: bool,
    pub filter: Option<&'a Compiled>,
    pub order: &'a str,
    pub limit: u32,
    pub page: u32,
    pub now: i64,
}

/// Published posts matching the filter, one page, and how many there are.
pub async fn browse_posts(db: &Db, b: &Browse<'_>) -> Result<(Vec<ApiPost>, u64)> {
    let filter = b
        .filter
        .map(|c| format!(" AND {}", c.sql))
        .unwrap_or_default();
    let binds: &[Bind] = b.filter.map_or(&[], |c| &c.binds);
    let visible = if b.all_statuses { ANY_STATUS } else { VISIBLE };
    let count_sql = format!("SELECT COUNT(*) AS n FROM articles a WHERE {visible}{filter}");
    // The count's placeholders start at $2, like the page's (which binds
    // limit and offset as $2 and $3 and starts the filter at $4).
    let count_sql = renumber(&count_sql, binds.len(), 2);
    let q = sqlx::query(&count_sql).bind(b.now);
    let total: i64 = bind_all(q, binds)
        .fetch_one(db.reader())
        .await?
        .try_get("n")?;
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, a.dateline, a.created_at, a.seo_title, a.seo_description, a.status, a.revision \
         FROM articles a WHERE {visible}{filter} ORDER BY {} LIMIT $2 OFFSET $3",
        b.order
    );
    let offset = i64::from(b.page.saturating_sub(1)) * i64::from(b.limit);
    let q = sqlx::query(&sql)
        .bind(b.now)
        .bind(i64::from(b.limit))
        .bind(offset);
    let rows = bind_all(q, binds).fetch_all(db.reader()).await?;
    Ok((
        posts_from_rows(db, &rows).await?,
        u64::try_from(total).unwrap_or(0),
    ))
}

/// Moves a filter compiled from `$4` to start at `$from` (the count query
/// has no limit and offset). Only the filter's own placeholders move.
fn renumber(sql: &str, n: usize, from: usize) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let k: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
        if digits > 0 && (4..4 + n).contains(&k) {
            out.push('$');
            out.push_str(&(k - 4 + from).to_string());
        } else {
            out.push_str(&rest[at..at + 1 + digits]);
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// Every article, whatever its status (`$1` is bound but matches all).
const ANY_STATUS: &str = "(a.id > 0 OR $1 = 0)";

/// One published post (or, with `all_statuses`, any) by its id or slug.
pub async fn read_post(
    db: &Db,
    by: By<'_>,
    now: i64,
    all_statuses: bool,
) -> Result<Option<ApiPost>> {
    let visible = if all_statuses { ANY_STATUS } else { VISIBLE };
    let (cond, value) = match by {
        By::Id(id) => ("a.id = $2", Bind::Int(id)),
        By::Slug(s) => ("a.slug = $2", Bind::Text(s.to_string())),
    };
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, a.dateline, a.created_at, a.seo_title, a.seo_description, a.status, a.revision \
         FROM articles a WHERE {visible} AND {cond}"
    );
    let binds = [value];
    let rows = bind_all(sqlx::query(&sql).bind(now), &binds)
        .fetch_all(db.reader())
        .await?;
    Ok(posts_from_rows(db, &rows).await?.into_iter().next())
}

/// How one object is asked for.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Id(i64),
    Slug(&'a str),
}

async fn posts_from_rows(db: &Db, rows: &[AnyRow]) -> Result<Vec<ApiPost>> {
    let summaries = summaries_from_rows(db, rows).await?;
    let ids: Vec<i64> = summaries.iter().map(|s| s.id).collect();
    let mut topics: HashMap<i64, Vec<TopicRef>> = HashMap::new();
    let mut featured = std::collections::HashSet::new();
    if !ids.is_empty() {
        let sql = format!(
            "SELECT x.article_id, t.id, t.slug, t.name FROM article_topics x \
             JOIN topics t ON t.id = x.topic_id WHERE x.article_id IN ({}) \
             ORDER BY x.article_id, x.position",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.reader()).await? {
            topics
                .entry(r.try_get("article_id")?)
                .or_default()
                .push(TopicRef {
                    id: r.try_get("id")?,
                    slug: r.try_get("slug")?,
                    name: r.try_get("name")?,
                });
        }
        let sql = format!(
            "SELECT article_id FROM front_slots WHERE page = 'home' AND article_id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.reader()).await? {
            featured.insert(r.try_get::<i64, _>("article_id")?);
        }
    }
    rows.iter()
        .zip(summaries)
        .map(|(r, summary)| {
            let status: String = r.try_get("status")?;
            Ok(ApiPost {
                status: masthead_core::ArticleStatus::parse(&status)
                    .map_err(|e| StoreError::Corrupt(format!("status: {e}")))?,
                revision: r.try_get("revision")?,
                dateline: r.try_get("dateline")?,
                created_at: r.try_get("created_at")?,
                seo_title: r.try_get("seo_title")?,
                seo_description: r.try_get("seo_description")?,
                featured: featured.contains(&summary.id),
                topics: topics.remove(&summary.id).unwrap_or_default(),
                summary,
            })
        })
        .collect()
}

// --------------------------------------------------------------- pages

/// A static page (Terms, Privacy, About) as the Content API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPage {
    pub id: i64,
    /// Moves on every change (the Admin API's collision check reads it).
    pub version: i64,
    pub slug: String,
    pub title: String,
    pub body_html: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const PAGE_FROM: &str = "FROM pages p JOIN page_versions v ON v.page_id = p.id AND v.version = p.current_version \
     JOIN (SELECT page_id, MIN(created_at) AS created_at FROM page_versions GROUP BY page_id) f ON f.page_id = p.id";

/// `p.created_at` in filters and order is the first version's time.
fn page_sql(s: &str) -> String {
    s.replace("p.created_at", "f.created_at")
}

pub async fn browse_pages(db: &Db, b: &Browse<'_>) -> Result<(Vec<ApiPage>, u64)> {
    let filter = b
        .filter
        .map(|c| format!(" WHERE {}", page_sql(&c.sql)))
        .unwrap_or_default();
    let binds: &[Bind] = b.filter.map_or(&[], |c| &c.binds);
    // Placeholders: the filter starts at $4 in both queries ($1 is unused
    // by pages but bound so the numbering is shared).
    let count_sql = renumber(
        &format!("SELECT COUNT(*) AS n {PAGE_FROM}{filter}"),
        binds.len(),
        1,
    );
    let total: i64 = bind_all(sqlx::query(&count_sql), binds)
        .fetch_one(db.reader())
        .await?
        .try_get("n")?;
    let sql = format!(
        "SELECT p.id, p.slug, v.title, v.body_html, f.created_at, p.updated_at, p.current_version {PAGE_FROM}{filter} \
         ORDER BY {} LIMIT $2 OFFSET $3",
        page_sql(b.order)
    );
    let sql = sql.replace("LIMIT $2 OFFSET $3", "LIMIT $1 OFFSET $2");
    let sql = renumber(&sql, binds.len(), 3);
    let offset = i64::from(b.page.saturating_sub(1)) * i64::from(b.limit);
    let q = sqlx::query(&sql).bind(i64::from(b.limit)).bind(offset);
    let rows = bind_all(q, binds).fetch_all(db.reader()).await?;
    Ok((
        rows.iter().map(page_from_row).collect::<Result<_>>()?,
        u64::try_from(total).unwrap_or(0),
    ))
}

pub async fn read_page(db: &Db, by: By<'_>) -> Result<Option<ApiPage>> {
    let (cond, value) = match by {
        By::Id(id) => ("p.id = $1", Bind::Int(id)),
        By::Slug(s) => ("p.slug = $1", Bind::Text(s.to_string())),
    };
    let sql = format!(
        "SELECT p.id, p.slug, v.title, v.body_html, f.created_at, p.updated_at, p.current_version {PAGE_FROM} WHERE {cond}"
    );
    let binds = [value];
    let row = bind_all(sqlx::query(&sql), &binds)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(page_from_row).transpose()
}

fn page_from_row(r: &AnyRow) -> Result<ApiPage> {
    Ok(ApiPage {
        id: r.try_get("id")?,
        version: r.try_get("current_version")?,
        slug: r.try_get("slug")?,
        title: r.try_get("title")?,
        body_html: r.try_get("body_html")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

// ------------------------------------------------------ tags, authors

/// A tag (topic) or an author as the Content API shows it, with its count
/// of published posts.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiTerm {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// A topic's description (plain text) or an author's bio (HTML).
    pub description: String,
    pub avatar: Option<Media>,
    pub created_at: i64,
    pub updated_at: i64,
    pub posts: i64,
}

fn term_sql(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Author => (
            "authors t",
            "t.bio_html AS description, t.avatar_media_id",
            "article_authors",
        ),
        _ => (
            "topics t",
            "t.description, NULL AS avatar_media_id",
            "article_topics",
        ),
    }
}

/// Topics (`Kind::Tag`) or authors (`Kind::Author`) matching the filter.
pub async fn browse_terms(db: &Db, kind: Kind, b: &Browse<'_>) -> Result<(Vec<ApiTerm>, u64)> {
    let (from, extra, link) = term_sql(kind);
    let filter = b
        .filter
        .map(|c| format!(" WHERE {}", c.sql))
        .unwrap_or_default();
    let binds: &[Bind] = b.filter.map_or(&[], |c| &c.binds);
    let count_sql = renumber(
        &format!("SELECT COUNT(*) AS n FROM {from}{filter}"),
        binds.len(),
        1,
    );
    let total: i64 = bind_all(sqlx::query(&count_sql), binds)
        .fetch_one(db.reader())
        .await?
        .try_get("n")?;
    let col = if link == "article_topics" {
        "topic_id"
    } else {
        "author_id"
    };
    let sql = format!(
        "SELECT t.id, t.slug, t.name, {extra}, t.created_at, t.updated_at, \
         (SELECT COUNT(*) FROM {link} c WHERE c.{col} = t.id AND c.published_at <= $1 AND EXISTS \
          (SELECT 1 FROM articles a WHERE a.id = c.article_id AND a.status = 'published')) AS posts \
         FROM {from}{filter} ORDER BY {} LIMIT $2 OFFSET $3",
        b.order
    );
    let offset = i64::from(b.page.saturating_sub(1)) * i64::from(b.limit);
    let q = sqlx::query(&sql)
        .bind(b.now)
        .bind(i64::from(b.limit))
        .bind(offset);
    let rows = bind_all(q, binds).fetch_all(db.reader()).await?;
    Ok((
        terms_from_rows(db, &rows).await?,
        u64::try_from(total).unwrap_or(0),
    ))
}

pub async fn read_term(db: &Db, kind: Kind, by: By<'_>, now: i64) -> Result<Option<ApiTerm>> {
    let (from, extra, link) = term_sql(kind);
    let col = if link == "article_topics" {
        "topic_id"
    } else {
        "author_id"
    };
    let (cond, value) = match by {
        By::Id(id) => ("t.id = $2", Bind::Int(id)),
        By::Slug(s) => ("t.slug = $2", Bind::Text(s.to_string())),
    };
    let sql = format!(
        "SELECT t.id, t.slug, t.name, {extra}, t.created_at, t.updated_at, \
         (SELECT COUNT(*) FROM {link} c WHERE c.{col} = t.id AND c.published_at <= $1 AND EXISTS \
          (SELECT 1 FROM articles a WHERE a.id = c.article_id AND a.status = 'published')) AS posts \
         FROM {from} WHERE {cond}"
    );
    let binds = [value];
    let rows = bind_all(sqlx::query(&sql).bind(now), &binds)
        .fetch_all(db.reader())
        .await?;
    Ok(terms_from_rows(db, &rows).await?.into_iter().next())
}

/// Topics or authors by id (those a page of posts links to).
pub async fn terms_by_ids(db: &Db, kind: Kind, ids: &[i64], now: i64) -> Result<Vec<ApiTerm>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (from, extra, link) = term_sql(kind);
    let col = if link == "article_topics" {
        "topic_id"
    } else {
        "author_id"
    };
    let sql = format!(
        "SELECT t.id, t.slug, t.name, {extra}, t.created_at, t.updated_at, \
         (SELECT COUNT(*) FROM {link} c WHERE c.{col} = t.id AND c.published_at <= $1 AND EXISTS \
          (SELECT 1 FROM articles a WHERE a.id = c.article_id AND a.status = 'published')) AS posts \
         FROM {from} WHERE t.id IN ({})",
        placeholders(2, ids.len())
    );
    let mut q = sqlx::query(&sql).bind(now);
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(db.reader()).await?;
    terms_from_rows(db, &rows).await
}

async fn terms_from_rows(db: &Db, rows: &[AnyRow]) -> Result<Vec<ApiTerm>> {
    let avatars: Vec<i64> = rows
        .iter()
        .filter_map(|r| {
            r.try_get::<Option<i64>, _>("avatar_media_id")
                .ok()
                .flatten()
        })
        .collect();
    let media = crate::content::load_media(db, avatars).await?;
    rows.iter()
        .map(|r| {
            let avatar: Option<i64> = r.try_get("avatar_media_id")?;
            Ok(ApiTerm {
                id: r.try_get("id")?,
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                avatar: avatar.and_then(|id| media.get(&id).cloned()),
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                posts: r.try_get("posts")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(kind: Kind, f: &str) -> std::result::Result<Compiled, String> {
        let e = nql::parse(f).map_err(|e| e.0)?;
        compile_filter(kind, &e, &Policy::default(), 1_000_000, 4)
    }

    #[test]
    fn filters_compile_to_bound_sql() {
        let c = compile(Kind::Post, "tag:news+featured:true").unwrap();
        assert_eq!(
            c.sql,
            "(EXISTS (SELECT 1 FROM article_topics x JOIN topics t ON t.id = x.topic_id WHERE x.article_id = a.id AND t.slug = $4) \
             AND a.id IN (SELECT article_id FROM front_slots WHERE page = 'home'))"
        );
        assert_eq!(c.binds, vec![Bind::Text("news".into())]);
        let c = compile(Kind::Post, "tag:-[a,b]").unwrap();
        assert!(c.sql.starts_with("NOT (EXISTS"), "{}", c.sql);
        assert!(c.sql.contains("t.slug IN ($4, $5)"));
        let c = compile(Kind::Post, "published_at:>'2024-05-01'").unwrap();
        assert_eq!(c.sql, "a.published_at > $4");
        assert_eq!(c.binds, vec![Bind::Int(1_714_521_600)]);
        let c = compile(Kind::Post, "title:~'Harbour 50%'").unwrap();
        assert_eq!(c.sql, "LOWER(a.headline) LIKE $4 ESCAPE '\\'");
        assert_eq!(c.binds, vec![Bind::Text("%harbour 50\\%%".into())]);
    }

    #[test]
    fn only_listed_fields_and_typed_values_compile() {
        for bad in [
            "html:~secret",
            "plaintext:x",
            "body:x",
            "excerpt:x",
            "status:draft",
            "published_at:~2024",
            "published_at:soon",
            "featured:maybe",
            "visibility:secret",
            "id:>5",
        ] {
            assert!(compile(Kind::Post, bad).is_err(), "{bad} compiled");
        }
        assert!(compile(Kind::Tag, "title:x").is_err());
        assert!(compile(Kind::Tag, "count.posts:>2").is_ok());
        assert!(compile(Kind::Page, "tag:x").unwrap().sql.contains("1 = 0"));
    }

    #[test]
    fn visibility_follows_the_policy() {
        let c = compile(Kind::Post, "visibility:public").unwrap();
        // The default policy makes events free and news metered:
        // `public` is a free article, or an event left at the default.
        assert_eq!(
            c.sql,
            "((a.access_level = 'free' OR (a.access_level = 'default' AND a.content_type IN ('event'))))"
        );
        let c = compile(Kind::Post, "visibility:paid").unwrap();
        assert!(
            c.sql
                .contains("a.access_level = 'default' AND a.content_type IN ("),
            "{}",
            c.sql
        );
    }

    #[test]
    fn order_ends_with_the_id() {
        let o = masthead_core::api::order(Some("title asc"), order_fields(Kind::Post)).unwrap();
        assert_eq!(compile_order(Kind::Post, &o), "a.headline ASC, a.id DESC");
        assert_eq!(
            compile_order(Kind::Post, &[]),
            "a.published_at DESC, a.id DESC"
        );
        assert_eq!(
            renumber("x = $4 AND y IN ($5, $6)", 3, 2),
            "x = $2 AND y IN ($3, $4)"
        );
        assert_eq!(
            renumber("a = $1 AND b = $40 AND c = $4", 1, 2),
            "a = $1 AND b = $40 AND c = $2"
        );
    }
}
