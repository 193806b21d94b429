//! `masthead import DIR`: Markdown files with TOML front matter.
//!
//! Each `*.md` file under DIR starts with a `+++` fenced TOML block whose
//! `type` is `article`, `page`, `topic` or `author` (see README for every
//! field). Import is idempotent by slug: a file whose content (and images)
//! did not change since the last import is skipped. A bad file is reported
//! with its name, line and reason, and the rest still import.

use crate::content::markdown;
use crate::media::{MediaProcessor, MediaStorage};
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType, Slug};
use masthead_store::content::{
    self as store, NewArticle, NewAuthor, NewLead, NewPage, NewTopic, Upserted,
};
use masthead_store::Db;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// One line per bad file: `path:line: reason`.
    pub errors: Vec<String>,
    /// Articles left alone because the newsroom edited them after the
    /// last import (`--force` overwrites them): `path: slug`.
    pub conflicts: Vec<String>,
}

impl ImportReport {
    /// One line of counts, for the operator and the audit log.
    pub fn summary(&self) -> String {
        format!(
            "{} created, {} updated, {} unchanged, {} conflicts, {} with errors",
            self.created,
            self.updated,
            self.unchanged,
            self.conflicts.len(),
            self.errors.len()
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Seconds added to every date in the files (the demo moves its
    /// newest article to "now" so the site looks current).
    pub shift_seconds: i64,
    pub progress: bool,
    /// Overwrite articles edited in the newsroom since import wrote them.
    pub force: bool,
    /// The publication's access policy: it splits the search index.
    pub policy: masthead_core::access::Policy,
    /// Who runs the import, for the audit log: a run that changes
    /// anything is one entry with its counts (each file is its own
    /// transaction, so a run stopped half-way keeps the files it wrote).
    /// `None` for the demo's seeding.
    pub actor: Option<masthead_store::newsroom::Actor<'static>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleFront {
    #[serde(rename = "type")]
    _kind: String,
    slug: String,
    headline: String,
    #[serde(default)]
    standfirst: String,
    #[serde(default)]
    dateline: String,
    content_type: String,
    #[serde(default = "default_access")]
    access: String,
    #[serde(default = "default_status")]
    status: String,
    published_at: Option<String>,
    updated_at: Option<String>,
    preview_blocks: Option<u32>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    previous_slugs: Vec<String>,
    lead_image: Option<LeadFront>,
}

fn default_access() -> String {
    "default".into()
}
fn default_status() -> String {
    "published".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadFront {
    file: String,
    alt: String,
    #[serde(default)]
    caption: String,
    #[serde(default)]
    credit: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageFront {
    #[serde(rename = "type")]
    _kind: String,
    slug: String,
    title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFront {
    #[serde(rename = "type")]
    _kind: String,
    slug: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFront {
    #[serde(rename = "type")]
    _kind: String,
    slug: String,
    name: String,
    /// `month` or `year`.
    interval: String,
    /// In minor units (cents): 1400 is $14.
    amount: i64,
    currency: String,
    trial_days: Option<u32>,
    #[serde(default)]
    includes: Vec<String>,
    #[serde(default)]
    position: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewsletterFront {
    #[serde(rename = "type")]
    _kind: String,
    slug: String,
    name: String,
    sender_name: String,
    sender_email: String,
    #[serde(default)]
    reply_to: String,
    /// `members` or `subscribers`.
    audience: String,
    #[serde(default)]
    on_signup: bool,
    #[serde(default)]
    position: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorFront {
    #[serde(rename = "type")]
    _kind: String,
    slug: String,
    name: String,
    avatar: Option<String>,
}

/// A file's problem, located.
#[derive(Debug)]
pub(crate) struct FileError {
    line: usize,
    reason: String,
}

fn err(line: usize, reason: impl Into<String>) -> FileError {
    FileError {
        line,
        reason: reason.into(),
    }
}

pub(crate) struct Parsed {
    path: PathBuf,
    text: String,
    pub(crate) table: toml::Table,
    front: String,
    body: String,
    pub(crate) kind: String,
}

/// Splits `+++` front matter from the body and parses it.
pub(crate) fn parse_file(path: &Path, text: String) -> Result<Parsed, FileError> {
    let text_norm = text.replace("\r\n", "\n");
    let rest = text_norm.strip_prefix("+++\n").ok_or_else(|| {
        err(
            1,
            "file must start with a +++ line opening TOML front matter",
        )
    })?;
    let end = rest
        .find("\n+++\n")
        .or_else(|| rest.ends_with("\n+++").then(|| rest.len() - 4))
        .ok_or_else(|| err(1, "front matter is not closed by a +++ line"))?;
    let front = rest[..end].to_string();
    let body = rest.get(end + 5..).unwrap_or("").to_string();
    let table: toml::Table = toml::from_str(&front).map_err(|e| {
        let line = e
            .span()
            .map(|s| front[..s.start.min(front.len())].matches('\n').count() + 2)
            .unwrap_or(1);
        let msg = e.message().trim();
        let msg = if msg.is_empty() {
            "the front matter is not valid TOML".to_string()
        } else {
            format!("front matter is not valid TOML: {msg}")
        };
        err(line, msg)
    })?;
    let kind = table
        .get("type")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            err(
                2,
                "front matter needs type = \"article\", \"page\", \"topic\" or \"author\"",
            )
        })?
        .to_string();
    Ok(Parsed {
        path: path.to_path_buf(),
        text,
        table,
        front,
        body,
        kind,
    })
}

impl Parsed {
    /// The line of `key = …` in the file, for error messages.
    fn line_of(&self, key: &str) -> usize {
        self.front
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
                    || l.starts_with(&format!("[{key}]"))
            })
            .map_or(1, |i| i + 2)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, FileError> {
        self.table.clone().try_into().map_err(|e: toml::de::Error| {
            let msg = e.message().to_string();
            // Point at the field the message names, when it names one.
            let line = msg
                .split('`')
                .nth(1)
                .map(|field| self.line_of(field))
                .unwrap_or(1);
            err(line, msg)
        })
    }

    fn body_line(&self) -> usize {
        self.front.matches('\n').count() + 3
    }
}

fn parse_time(
    p: &Parsed,
    key: &str,
    value: Option<&str>,
    shift: i64,
) -> Result<Option<i64>, FileError> {
    value
        .map(|v| {
            v.parse::<jiff::Timestamp>()
                .map(|t| t.as_second() + shift)
                .map_err(|e| {
                    err(
                        p.line_of(key),
                        format!("{key} must be an RFC 3339 time such as 2026-11-27T14:05:00Z: {e}"),
                    )
                })
        })
        .transpose()
}

/// Resolves a path relative to the file, refusing anything outside `root`.
fn inside(root: &Path, file: &Path, rel: &str) -> Result<PathBuf, String> {
    let base = file.parent().unwrap_or(root);
    let joined = base.join(rel);
    let real = joined
        .canonicalize()
        .map_err(|e| format!("image {rel:?} cannot be read: {e}"))?;
    if !real.starts_with(root) {
        return Err(format!("image {rel:?} is outside the import directory"));
    }
    Ok(real)
}

pub struct Importer<'a> {
    pub db: &'a Db,
    pub storage: &'a dyn MediaStorage,
    pub processor: &'a MediaProcessor,
    pub options: ImportOptions,
    /// Already-stored images by source path, so an image shared by several
    /// files is processed once per run.
    images: HashMap<PathBuf, (i64, String)>,
    /// Slugs skipped in this run as conflicts.
    conflicts: Vec<String>,
}

impl<'a> Importer<'a> {
    pub fn new(
        db: &'a Db,
        storage: &'a dyn MediaStorage,
        processor: &'a MediaProcessor,
        options: ImportOptions,
    ) -> Importer<'a> {
        Importer {
            db,
            storage,
            processor,
            options,
            images: HashMap::new(),
            conflicts: Vec::new(),
        }
    }

    pub async fn import_dir(&mut self, dir: &Path) -> anyhow::Result<ImportReport> {
        let root = dir
            .canonicalize()
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", dir.display()))?;
        let mut files = Vec::new();
        collect_md(&root, &mut files)?;
        files.sort();
        let mut report = ImportReport::default();
        let mut parsed = Vec::new();
        for path in files {
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    report.errors.push(format!("{shown}:1: cannot read: {e}"));
                    continue;
                }
            };
            match parse_file(&path, text) {
                Ok(p) => parsed.push((shown, p)),
                Err(e) => report
                    .errors
                    .push(format!("{shown}:{}: {}", e.line, e.reason)),
            }
        }
        // Topics and authors first: articles refer to them.
        let order = |k: &str| match k {
            "topic" => 0,
            "author" => 1,
            "page" | "plan" | "newsletter" => 2,
            _ => 3,
        };
        parsed.sort_by_key(|(_, p)| order(&p.kind));
        let bar = if self.options.progress {
            indicatif::ProgressBar::new(parsed.len() as u64)
        } else {
            indicatif::ProgressBar::hidden()
        };
        for (shown, p) in &parsed {
            bar.set_message(shown.clone());
            let result = self.import_one(&root, p).await;
            for slug in self.conflicts.drain(..) {
                report.conflicts.push(format!("{shown}: {slug}"));
            }
            match result {
                Ok(Upserted::Created(_)) => report.created += 1,
                Ok(Upserted::Updated(_)) => report.updated += 1,
                Ok(Upserted::Unchanged(_)) => report.unchanged += 1,
                Err(e) => report
                    .errors
                    .push(format!("{shown}:{}: {}", e.line, e.reason)),
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        if report.created + report.updated > 0 {
            // Keep the planner's statistics in step with a bulk load.
            masthead_store::analyze(self.db).await?;
            if let Some(actor) = &self.options.actor {
                let detail = report.summary();
                let name = root
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let audit = actor.audit("import.markdown", "directory", &name, &detail);
                let now = jiff::Timestamp::now().as_second();
                masthead_store::newsroom::record(self.db, &audit, now).await?;
            }
        }
        Ok(report)
    }

    async fn import_one(&mut self, root: &Path, p: &Parsed) -> Result<Upserted, FileError> {
        let now = jiff::Timestamp::now().as_second();
        let db_err = |e: masthead_store::StoreError| err(1, e.to_string());
        match p.kind.as_str() {
            "topic" => {
                let f: TopicFront = p.decode()?;
                let slug =
                    Slug::parse(&f.slug).map_err(|e| err(p.line_of("slug"), e.to_string()))?;
                let existed = store::find_topic_id(self.db, slug.as_str())
                    .await
                    .map_err(db_err)?;
                let id = store::upsert_topic(
                    self.db,
                    &NewTopic {
                        slug: &slug,
                        name: &f.name,
                        description: markdown::plain_text(
                            &markdown::render_blocks(&p.body)
                                .map_err(|e| err(p.body_line(), e.to_string()))?
                                .join(" "),
                        )
                        .as_str(),
                    },
                    None,
                    now,
                )
                .await
                .map_err(db_err)?;
                Ok(if existed.is_some() {
                    Upserted::Updated(id)
                } else {
                    Upserted::Created(id)
                })
            }
            "author" => {
                let f: AuthorFront = p.decode()?;
                let slug =
                    Slug::parse(&f.slug).map_err(|e| err(p.line_of("slug"), e.to_string()))?;
                let avatar = match &f.avatar {
                    Some(rel) => Some(self.image(root, p, rel, "avatar").await?.0),
                    None => None,
                };
                let existed = store::find_author_id(self.db, slug.as_str())
                    .await
                    .map_err(db_err)?;
                let id = store::upsert_author(
                    self.db,
                    &NewAuthor {
                        slug: &slug,
                        name: &f.name,
                        bio_html: &markdown::render_blocks(&p.body)
                            .map_err(|e| err(p.body_line(), e.to_string()))?
                            .join("\n"),
                        avatar_media_id: avatar,
                    },
                    None,
                    now,
                )
                .await
                .map_err(db_err)?;
                Ok(if existed.is_some() {
                    Upserted::Updated(id)
                } else {
                    Upserted::Created(id)
                })
            }
            "page" => {
                let f: PageFront = p.decode()?;
                let slug =
                    Slug::parse(&f.slug).map_err(|e| err(p.line_of("slug"), e.to_string()))?;
                let hash = hex::encode(Sha256::digest(p.text.as_bytes()));
                let html = markdown::render_blocks(&p.body)
                    .map_err(|e| err(p.body_line(), e.to_string()))?
                    .join("\n");
                let (id, version, changed) = store::upsert_page(
                    self.db,
                    &NewPage {
                        slug: &slug,
                        title: &f.title,
                        body_html: &html,
                        body_markdown: Some(&p.body),
                        source_hash: Some(&hash),
                    },
                    None,
                    now,
                )
                .await
                .map_err(db_err)?;
                Ok(match (changed, version) {
                    (false, _) => Upserted::Unchanged(id),
                    (true, 1) => Upserted::Created(id),
                    (true, _) => Upserted::Updated(id),
                })
            }
            "article" => self.import_article(root, p).await,
            "plan" => {
                let f: PlanFront = p.decode()?;
                Slug::parse(&f.slug).map_err(|e| err(p.line_of("slug"), e.to_string()))?;
                let interval = match f.interval.as_str() {
                    "month" => masthead_core::billing::Interval::Month,
                    "year" => masthead_core::billing::Interval::Year,
                    other => {
                        return Err(err(
                            p.line_of("interval"),
                            format!("interval must be month or year, got {other:?}"),
                        ))
                    }
                };
                let currency = masthead_core::billing::Currency::parse(&f.currency)
                    .map_err(|e| err(p.line_of("currency"), e.to_string()))?;
                let price = masthead_core::billing::Money::new(f.amount, currency)
                    .map_err(|e| err(p.line_of("amount"), e.to_string()))?;
                let id = masthead_store::offers::upsert_plan(
                    self.db,
                    &masthead_store::offers::NewPlan {
                        slug: &f.slug,
                        name: &f.name,
                        interval,
                        price,
                        trial_days: f.trial_days,
                        includes: &f.includes,
                        position: f.position,
                    },
                    None,
                    now,
                )
                .await
                .map_err(db_err)?;
                Ok(Upserted::Updated(id))
            }
            "newsletter" => {
                let f: NewsletterFront = p.decode()?;
                Slug::parse(&f.slug).map_err(|e| err(p.line_of("slug"), e.to_string()))?;
                let description = markdown::plain_text(
                    &markdown::render_blocks(&p.body)
                        .map_err(|e| err(p.body_line(), e.to_string()))?
                        .join(" "),
                );
                let id = masthead_store::offers::upsert_newsletter(
                    self.db,
                    &masthead_store::offers::NewNewsletter {
                        slug: &f.slug,
                        name: &f.name,
                        description: &description,
                        sender_name: &f.sender_name,
                        sender_email: &f.sender_email,
                        reply_to: &f.reply_to,
                        audience: &f.audience,
                        on_signup: f.on_signup,
                        position: f.position,
                    },
                    None,
                    now,
                )
                .await
                .map_err(|e| err(p.line_of("audience"), e.to_string()))?;
                Ok(Upserted::Updated(id))
            }
            other => Err(err(
                p.line_of("type"),
                format!(
                    "unknown type {other:?}; use article, page, topic, author, plan or newsletter"
                ),
            )),
        }
    }

    async fn import_article(&mut self, root: &Path, p: &Parsed) -> Result<Upserted, FileError> {
        let f: ArticleFront = p.decode()?;
        let shift = self.options.shift_seconds;
        let slug =
            Slug::parse_article(&f.slug).map_err(|e| err(p.line_of("slug"), e.to_string()))?;
        // Import updates an article only if import wrote it last: a
        // newsroom save clears the stored source hash.
        if !self.options.force {
            let source = store::find_article_source(self.db, slug.as_str())
                .await
                .map_err(|e| err(1, e.to_string()))?;
            if let Some((id, None)) = source {
                self.conflicts.push(slug.as_str().to_string());
                return Ok(Upserted::Unchanged(id));
            }
        }
        let content_type = ContentType::parse(&f.content_type)
            .map_err(|e| err(p.line_of("content_type"), e.to_string()))?;
        let access_level =
            AccessLevel::parse(&f.access).map_err(|e| err(p.line_of("access"), e.to_string()))?;
        let status =
            ArticleStatus::parse(&f.status).map_err(|e| err(p.line_of("status"), e.to_string()))?;
        let published_at = parse_time(p, "published_at", f.published_at.as_deref(), shift)?;
        let updated_at = parse_time(p, "updated_at", f.updated_at.as_deref(), shift)?;
        if status == ArticleStatus::Scheduled && published_at.is_none() {
            return Err(err(
                p.line_of("status"),
                "a scheduled article needs published_at",
            ));
        }
        if f.headline.trim().is_empty() {
            return Err(err(p.line_of("headline"), "headline must not be empty"));
        }
        let mut author_ids = Vec::new();
        for a in &f.authors {
            match store::find_author_id(self.db, a)
                .await
                .map_err(|e| err(1, e.to_string()))?
            {
                Some(id) => author_ids.push(id),
                None => return Err(err(p.line_of("authors"), format!("unknown author {a:?}"))),
            }
        }
        let mut topic_ids = Vec::new();
        for t in &f.topics {
            match store::find_topic_id(self.db, t)
                .await
                .map_err(|e| err(1, e.to_string()))?
            {
                Some(id) => topic_ids.push(id),
                None => return Err(err(p.line_of("topics"), format!("unknown topic {t:?}"))),
            }
        }
        let mut previous = Vec::new();
        for s in &f.previous_slugs {
            previous.push(
                Slug::parse_article(s)
                    .map_err(|e| err(p.line_of("previous_slugs"), e.to_string()))?,
            );
        }
        let mut hasher = Sha256::new();
        hasher.update(p.text.as_bytes());
        hasher.update(shift.to_le_bytes());
        let lead = match &f.lead_image {
            Some(l) => {
                let (media_id, hash) = self.image(root, p, &l.file, "lead_image").await?;
                hasher.update(hash.as_bytes());
                Some(NewLead {
                    media_id,
                    alt: l.alt.clone(),
                    caption: l.caption.clone(),
                    credit: l.credit.clone(),
                })
            }
            None => None,
        };
        let markdown::SplitBody {
            preview: divider,
            blocks,
        } = markdown::split_body(&p.body).map_err(|e| err(p.body_line(), e.to_string()))?;
        // A divider in the body and `preview_blocks` in the front matter:
        // the shorter preview wins.
        let preview_blocks = match (f.preview_blocks, divider) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if blocks.is_empty() && status != ArticleStatus::Draft {
            return Err(err(p.body_line(), "the body is empty"));
        }
        let search = super::search::search_text(
            &blocks,
            access_level,
            content_type,
            preview_blocks,
            &self.options.policy,
        );
        let new = NewArticle {
            slug,
            headline: f.headline.trim().to_string(),
            standfirst: f.standfirst.trim().to_string(),
            dateline: f.dateline.trim().to_string(),
            content_type,
            access_level,
            preview_blocks,
            status,
            published_at,
            updated_at,
            body_markdown: Some(p.body.clone()),
            blocks,
            search,
            lead,
            author_ids,
            topic_ids,
            previous_slugs: previous,
            source_hash: Some(hex::encode(hasher.finalize())),
        };
        // The article, its version and its lead image's words: one use case.
        store::upsert_article(self.db, &new, jiff::Timestamp::now().as_second())
            .await
            .map_err(|e| err(1, e.to_string()))
    }

    /// Stores an image referenced by a file; returns its media id and hash.
    async fn image(
        &mut self,
        root: &Path,
        p: &Parsed,
        rel: &str,
        key: &str,
    ) -> Result<(i64, String), FileError> {
        let line = p.line_of(key).max(p.line_of("file"));
        let path = inside(root, &p.path, rel).map_err(|e| err(line, e))?;
        if let Some(found) = self.images.get(&path) {
            return Ok(found.clone());
        }
        let bytes = std::fs::read(&path).map_err(|e| err(line, format!("image {rel:?}: {e}")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (id, hash) = store_image(self.db, self.storage, self.processor, bytes, &name, None)
            .await
            .map_err(|e| err(line, format!("image {rel:?}: {e}")))?;
        self.images.insert(path, (id, hash.clone()));
        Ok((id, hash))
    }
}

/// Processes an image and stores its files, then its row (with the words
/// and audit entry of a newsroom upload, `described`) in one transaction.
/// Returns (id, hash).
pub async fn store_image(
    db: &Db,
    storage: &dyn MediaStorage,
    processor: &MediaProcessor,
    bytes: Vec<u8>,
    original_name: &str,
    described: Option<&masthead_store::media::Described<'_>>,
) -> anyhow::Result<(i64, String)> {
    let size = bytes.len() as u64;
    let hash = hex::encode(&Sha256::digest(&bytes)[..16]);
    if let Some(existing) = masthead_store::media::find_media_by_hash(db, &hash).await? {
        if let Some(d) = described {
            let now = jiff::Timestamp::now().as_second();
            let object = existing.id.to_string();
            let audit = d.by.audit("media.upload", "media", &object, d.name);
            masthead_store::media::update_media_text(db, existing.id, d.words, &audit, now).await?;
        }
        return Ok((existing.id, hash));
    }
    let processed = processor.process(bytes).await?;
    storage.put(
        &format!("{}.{}", processed.hash, processed.ext),
        &processed.original,
    )?;
    for (v, data) in &processed.variants {
        storage.put(
            &crate::media::variant_name(&processed.hash, v.width, &v.ext),
            data,
        )?;
    }
    let id = masthead_store::media::insert_media(
        db,
        &masthead_store::media::NewMedia {
            hash: &processed.hash,
            mime: processed.mime,
            ext: processed.ext,
            width: processed.width,
            height: processed.height,
            bytes: size,
            original_name,
            variants: processed.variants.iter().map(|v| v.0.clone()).collect(),
            variant_bytes: processed
                .variants
                .iter()
                .map(|v| v.1.len() as u64)
                .collect(),
        },
        described,
        jiff::Timestamp::now().as_second(),
    )
    .await?;
    Ok((id, processed.hash))
}

pub(crate) fn collect_md(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        let path = entry.path();
        if ft.is_dir() {
            collect_md(&path, out)?;
        } else if ft.is_file()
            && path.extension().is_some_and(|e| e == "md")
            && path.file_name().is_some_and(|n| n != "README.md")
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_errors_name_the_line() {
        let e = parse_file(
            Path::new("x.md"),
            "+++\ntype = \"article\"\nslug = \n+++\nbody".into(),
        )
        .err()
        .map(|e| e.line);
        assert_eq!(e, Some(3));
        let e = parse_file(Path::new("x.md"), "no front matter".into())
            .err()
            .map(|e| e.line);
        assert_eq!(e, Some(1));
    }

    #[test]
    fn unknown_fields_point_at_their_line() {
        let p = parse_file(
            Path::new("x.md"),
            "+++\ntype = \"topic\"\nslug = \"a\"\nname = \"A\"\ncolour = \"red\"\n+++\n".into(),
        )
        .unwrap_or_else(|e| panic!("{}", e.reason));
        let e = p
            .decode::<TopicFront>()
            .err()
            .unwrap_or_else(|| panic!("must fail"));
        assert_eq!(e.line, 5, "{}", e.reason);
    }
}
