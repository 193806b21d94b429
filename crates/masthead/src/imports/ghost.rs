//! `masthead import --from ghost EXPORT.json [--members members.csv]`: a
//! Ghost export (Ghost 4, 5 and 6; with or without the `{"db": […]}`
//! wrapper) into articles, pages, topics, authors, newsletters and the
//! media library; then, with the members CSV, its readers and, through
//! Stripe, its paying subscribers (`members`, `carry_over`).
//!
//! Only the fields used here are read from the file: Ghost users become
//! bylines and nothing else (no staff, no emails, no password hashes);
//! the editors' sources (mobiledoc, lexical) are skipped for the rendered
//! `html`, which is what readers saw. Email-only posts (sent as a
//! newsletter, never on the site) are not put on the site.

use super::images::{hosts_of, Images, LocalCopy};
use super::{count, ghost_body, inline_text, slug_for, Report};
use crate::app::AppState;
use crate::content::markdown;
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType};
use masthead_store::content::{NewArticle, NewAuthor, NewLead, NewPage, NewTopic};
use masthead_store::imports::{self as store, Origin};
use masthead_store::newsroom::Actor;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;

/// The identity every Ghost object is recorded under. Ghost ids are
/// 24-hex ObjectIds, unique across sites, and an export does not say the
/// site's address, so the address is not part of it.
pub const SOURCE: &str = "ghost";

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    pub file: PathBuf,
    /// Ghost's members CSV.
    pub members: Option<PathBuf>,
    /// A copy of the old site's `content/` folder (its images).
    pub content: Option<PathBuf>,
    /// The old site's address: what `__GHOST_URL__` stands for.
    pub old_url: Option<String>,
    /// Newsletters here (slugs) an opted-in member joins; by default the
    /// Ghost newsletters marked `subscribe_on_signup`.
    pub newsletters: Vec<String>,
    pub dry_run: bool,
    pub force: bool,
    pub allow_private_fetch: bool,
    pub replace_pages: bool,
    pub progress: bool,
}

impl Options {
    pub fn new(file: PathBuf) -> Options {
        Options {
            file,
            members: None,
            content: None,
            old_url: None,
            newsletters: Vec::new(),
            dry_run: false,
            force: false,
            allow_private_fetch: false,
            replace_pages: false,
            progress: false,
        }
    }
}

/// The file is not a Ghost export Masthead can read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GhostError(pub String);

/// A string or a number (Ghost 0.x used integer ids).
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = id(d)?;
    Ok((!s.is_empty()).then_some(s))
}

/// true/false, 1/0, "true", or null (false).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        serde_json::Value::String(s) => s == "true" || s == "1",
        _ => false,
    })
}

/// An ISO date, Ghost's older `YYYY-MM-DD HH:MM:SS`, or milliseconds.
fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => super::members::parse_time(&s),
        serde_json::Value::Number(n) => n.as_i64().map(|ms| ms.div_euclid(1000)),
        _ => None,
    })
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    db: Vec<Export>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Debug, Default, Deserialize)]
struct Export {
    #[serde(default)]
    data: Data,
}

#[derive(Debug, Default, Deserialize)]
struct Data {
    #[serde(default)]
    posts: Vec<Post>,
    #[serde(default)]
    posts_meta: Vec<PostMeta>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    posts_tags: Vec<PostTag>,
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    posts_authors: Vec<PostAuthor>,
    #[serde(default)]
    newsletters: Vec<Newsletter>,
}

#[derive(Debug, Default, Deserialize)]
struct Post {
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    feature_image: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    featured: bool,
    /// Ghost 2+: post or page.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// Ghost 1: a page flag.
    #[serde(default, deserialize_with = "flag")]
    page: bool,
    #[serde(default)]
    status: String,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "date")]
    published_at: Option<i64>,
    #[serde(default, deserialize_with = "date")]
    updated_at: Option<i64>,
    #[serde(default)]
    custom_excerpt: Option<String>,
    /// Ghost before 4 kept these on the post.
    #[serde(default)]
    meta_title: Option<String>,
    #[serde(default)]
    meta_description: Option<String>,
    /// Ghost 1's single author.
    #[serde(default, deserialize_with = "opt_id")]
    author_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PostMeta {
    #[serde(deserialize_with = "id")]
    post_id: String,
    #[serde(default)]
    feature_image_alt: Option<String>,
    #[serde(default)]
    feature_image_caption: Option<String>,
    #[serde(default)]
    meta_title: Option<String>,
    #[serde(default)]
    meta_description: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    email_only: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Tag {
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PostTag {
    #[serde(deserialize_with = "id")]
    post_id: String,
    #[serde(deserialize_with = "id")]
    tag_id: String,
    #[serde(default)]
    sort_order: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct User {
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    bio: Option<String>,
    #[serde(default)]
    profile_image: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PostAuthor {
    #[serde(deserialize_with = "id")]
    post_id: String,
    #[serde(deserialize_with = "id")]
    author_id: String,
    #[serde(default)]
    sort_order: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct Newsletter {
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    sender_name: Option<String>,
    #[serde(default)]
    sender_email: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    subscribe_on_signup: bool,
    #[serde(default)]
    sort_order: Option<i64>,
}

/// Reads an export (on a blocking thread: it is parsed whole, but only
/// the fields above are kept, so memory follows the rendered HTML).
fn read(path: &std::path::Path) -> Result<Data, GhostError> {
    let f = std::fs::File::open(path)
        .map_err(|e| GhostError(format!("cannot open {}: {e}", path.display())))?;
    parse(std::io::BufReader::with_capacity(256 * 1024, f))
}

/// Parses an export and converts every post's body, keeping nothing;
/// returns how many posts it holds (the fuzz target calls this).
pub fn check(input: impl std::io::Read) -> Result<usize, GhostError> {
    let data = parse(input)?;
    for post in &data.posts {
        let html = post.html.as_deref().unwrap_or("");
        if markdown::nesting_depth(html) <= markdown::MAX_NESTING {
            let _ = ghost_body::convert(html);
        }
    }
    Ok(data.posts.len())
}

fn parse(input: impl std::io::Read) -> Result<Data, GhostError> {
    let file: File = serde_json::from_reader(input)
        .map_err(|e| GhostError(format!("not a Ghost export (JSON): {e}")))?;
    let data = match (file.db.into_iter().next(), file.data) {
        (Some(e), _) => e.data,
        (None, Some(d)) => d,
        (None, None) => {
            return Err(GhostError(
                "not a Ghost export: no \"db\" or \"data\" in the file".into(),
            ))
        }
    };
    if data.posts.is_empty() && data.tags.is_empty() && data.users.is_empty() {
        return Err(GhostError(
            "the Ghost export holds no posts, tags or users".into(),
        ));
    }
    Ok(data)
}

/// Ghost's visibility → the access level here.
fn access(visibility: Option<&str>) -> AccessLevel {
    match visibility.unwrap_or("public") {
        "public" => AccessLevel::Free,
        "members" => AccessLevel::Registered,
        // paid, tiers, and anything newer: the strictest.
        _ => AccessLevel::Subscribers,
    }
}

fn some(s: &Option<String>) -> &str {
    s.as_deref().map_or("", str::trim)
}

/// Runs a Ghost import; `actor` is audited with the run's counts.
pub async fn run(state: &AppState, opts: &Options, actor: Actor<'_>) -> anyhow::Result<Report> {
    run_with(state, opts, actor, &mut super::Progress::none()).await
}

/// `run`, reporting its progress (the newsroom's import job).
pub async fn run_with(
    state: &AppState,
    opts: &Options,
    actor: Actor<'_>,
    progress: &mut super::Progress<'_>,
) -> anyhow::Result<Report> {
    let file = opts.file.clone();
    let data = tokio::task::spawn_blocking(move || read(&file)).await??;
    // Read the members file before writing anything: a bad one fails the
    // run before it starts.
    let members_text = match &opts.members {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| GhostError(format!("cannot read {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let site = opts
        .old_url
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let local = opts.content.clone().map(|dir| LocalCopy {
        dir,
        marker: "/content/",
    });
    let mut images = Images::new(
        state,
        SOURCE,
        &site,
        hosts_of([site.as_str()]),
        local,
        opts.allow_private_fetch,
        opts.dry_run,
    );
    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };
    let db = state.db();
    let now = state.now();
    let url = |s: &str| ghost_body::resolve_url(s, &site);

    // Newsletters: the active ones.
    let mut newsletters: HashMap<String, i64> = HashMap::new();
    let mut on_signup = Vec::new();
    let mut list = data.newsletters.iter().collect::<Vec<_>>();
    list.sort_by_key(|n| n.sort_order.unwrap_or(0));
    for (i, n) in list.into_iter().enumerate() {
        if some(&n.status) == "archived" {
            report.skip("newsletter", &n.id, &n.name, "archived on the old site");
            continue;
        }
        let origin = Origin {
            source: SOURCE,
            kind: "newsletter",
            source_id: &n.id,
        };
        if opts.dry_run {
            count(
                &mut report.newsletters,
                store::find_item(db, origin).await?.is_some(),
            );
            continue;
        }
        let Some(slug) = slug_for(&n.slug, &n.name, "newsletter", false) else {
            report.skip("newsletter", &n.id, &n.name, "no usable slug");
            continue;
        };
        let sender_email = some(&n.sender_email);
        let new = masthead_store::offers::NewNewsletter {
            slug: slug.as_str(),
            name: if n.name.trim().is_empty() {
                slug.as_str()
            } else {
                n.name.trim()
            },
            description: some(&n.description),
            sender_name: some(&n.sender_name),
            sender_email: if sender_email.contains('@') {
                sender_email
            } else {
                ""
            },
            reply_to: "",
            audience: if some(&n.visibility) == "paid" {
                "subscribers"
            } else {
                "members"
            },
            on_signup: n.subscribe_on_signup,
            position: 100 + i as i64,
        };
        let (id, created) = store::import_newsletter(db, origin, &new, now).await?;
        count(&mut report.newsletters, !created);
        newsletters.insert(n.id.clone(), id);
        if n.subscribe_on_signup {
            on_signup.push(id);
        }
    }

    // Users → bylines (only their public profile).
    let mut authors: HashMap<String, i64> = HashMap::new();
    for u in &data.users {
        let origin = Origin {
            source: SOURCE,
            kind: "author",
            source_id: &u.id,
        };
        if opts.dry_run {
            count(
                &mut report.authors,
                store::find_item(db, origin).await?.is_some(),
            );
            continue;
        }
        let name = if u.name.trim().is_empty() {
            u.slug.clone()
        } else {
            u.name.trim().to_string()
        };
        let Some(slug) = slug_for(&u.slug, &name, "author", false) else {
            report.skip("author", &u.id, &name, "no usable slug");
            continue;
        };
        let avatar = match some(&u.profile_image) {
            "" => None,
            img => match images.copy(&url(img)).await {
                Ok((id, _)) => Some(id),
                Err(why) => {
                    report.partly("author", &u.id, &name, format!("picture not copied: {why}"));
                    None
                }
            },
        };
        let bio = match some(&u.bio) {
            "" => String::new(),
            b => format!("<p>{}</p>", super::html::escape(b)),
        };
        let new = NewAuthor {
            slug: &slug,
            name: &name,
            bio_html: &bio,
            avatar_media_id: avatar,
        };
        let paths = vec![format!("/author/{}/", u.slug)];
        let (id, created) = store::import_author(db, origin, &new, &paths, now).await?;
        count(&mut report.authors, !created);
        authors.insert(u.id.clone(), id);
    }

    // Tags → topics; internal (#) tags are skipped unless named like a
    // content type, which any tag may set.
    let mut topics: HashMap<String, i64> = HashMap::new();
    let mut types: HashMap<String, ContentType> = HashMap::new();
    for t in &data.tags {
        let bare = t.name.trim().trim_start_matches('#').to_ascii_lowercase();
        if let Ok(ct) = ContentType::parse(&bare) {
            types.insert(t.id.clone(), ct);
            continue;
        }
        if t.name.starts_with('#') || some(&t.visibility) == "internal" {
            continue;
        }
        let origin = Origin {
            source: SOURCE,
            kind: "tag",
            source_id: &t.id,
        };
        if opts.dry_run {
            count(
                &mut report.topics,
                store::find_item(db, origin).await?.is_some(),
            );
            continue;
        }
        let Some(slug) = slug_for(&t.slug, &t.name, "topic", false) else {
            report.skip("tag", &t.id, &t.name, "no usable slug");
            continue;
        };
        let name = if t.name.trim().is_empty() {
            t.slug.as_str()
        } else {
            t.name.trim()
        };
        let new = NewTopic {
            slug: &slug,
            name,
            description: some(&t.description),
        };
        let paths = vec![format!("/tag/{}/", t.slug)];
        let (id, created) = store::import_topic(db, origin, &new, &paths, now).await?;
        count(&mut report.topics, !created);
        topics.insert(t.id.clone(), id);
    }

    // Each post's tags and authors, in their order.
    let mut post_tags: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for pt in &data.posts_tags {
        post_tags
            .entry(pt.post_id.as_str())
            .or_default()
            .push((pt.sort_order.unwrap_or(0), pt.tag_id.as_str()));
    }
    let mut post_authors: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for pa in &data.posts_authors {
        post_authors
            .entry(pa.post_id.as_str())
            .or_default()
            .push((pa.sort_order.unwrap_or(0), pa.author_id.as_str()));
    }
    let meta: HashMap<&str, &PostMeta> = data
        .posts_meta
        .iter()
        .map(|m| (m.post_id.as_str(), m))
        .collect();

    let bar = if opts.progress {
        indicatif::ProgressBar::new(data.posts.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let policy = state.settings().get().publication.policy.clone();
    let mut featured = Vec::new();
    let total = data.posts.len() as u64;
    for (n, post) in data.posts.iter().enumerate() {
        bar.inc(1);
        progress.tick(state, n as u64 + 1, total).await?;
        let page = post.kind.as_deref() == Some("page") || post.page;
        let kind = if page { "page" } else { "post" };
        let title = post.title.as_deref().unwrap_or("").trim().to_string();
        let m = meta.get(post.id.as_str()).copied();
        if m.is_some_and(|m| m.email_only) || post.status == "sent" {
            report.skip(
                kind,
                &post.id,
                &title,
                "sent only as an email: there is no newsletter archive here yet, so it is not put on the site",
            );
            continue;
        }
        let mut status = match post.status.as_str() {
            "published" => ArticleStatus::Published,
            "scheduled" => ArticleStatus::Scheduled,
            "draft" => ArticleStatus::Draft,
            other => {
                report.skip(
                    kind,
                    &post.id,
                    &title,
                    format!("status {other:?} is not imported"),
                );
                continue;
            }
        };
        let html = url(post.html.as_deref().unwrap_or(""));
        let depth = markdown::nesting_depth(&html);
        if depth > markdown::MAX_NESTING {
            report.skip(
                kind,
                &post.id,
                &title,
                format!("the body is nested {depth} levels deep"),
            );
            continue;
        }
        let mut tags = post_tags.remove(post.id.as_str()).unwrap_or_default();
        tags.sort();
        let mut bylines = post_authors.remove(post.id.as_str()).unwrap_or_default();
        bylines.sort();
        if bylines.is_empty() {
            if let Some(a) = &post.author_id {
                bylines.push((0, a.as_str()));
            }
        }
        // The post as exported (with its meta, tags and bylines) and how
        // it is imported: unchanged since the last run, it is skipped.
        let mut hasher = Sha256::new();
        hasher.update(format!("{post:?}|{m:?}|{tags:?}|{bylines:?}|{site}").as_bytes());
        let hash = hex::encode(hasher.finalize());
        let origin = Origin {
            source: SOURCE,
            kind,
            source_id: &post.id,
        };
        if !opts.dry_run
            && store::find_source_hash(db, origin)
                .await?
                .flatten()
                .as_deref()
                == Some(hash.as_str())
        {
            let c = if page {
                &mut report.pages
            } else {
                &mut report.articles
            };
            c.unchanged += 1;
            continue;
        }
        if opts.dry_run {
            let c = if page {
                &mut report.pages
            } else {
                &mut report.articles
            };
            count(c, store::find_item(db, origin).await?.is_some());
            images.count += super::html::image_sources(&html).len();
            continue;
        }
        let converted = markdown::off_thread(move || ghost_body::convert(&html)).await?;
        let blocks = images
            .localise(converted.blocks, &mut report, (kind, &post.id, &title))
            .await;
        let blocks: Vec<String> = blocks
            .iter()
            .map(|b| markdown::sanitize(&images.relink(b)).trim().to_string())
            .filter(|b| !b.is_empty())
            .collect();
        let old = vec![format!("/{}/", post.slug)];

        if page {
            if status != ArticleStatus::Published {
                report.skip("page", &post.id, &title, "a page that is not published");
                continue;
            }
            let Some(slug) = slug_for(&post.slug, &title, "page", false) else {
                report.skip("page", &post.id, &title, "no usable slug");
                continue;
            };
            let html = blocks.join("\n");
            let source = blocks.join("\n\n");
            let new = NewPage {
                slug: &slug,
                title: if title.is_empty() { "Untitled" } else { &title },
                body_html: &html,
                body_markdown: Some(&source),
                source_hash: Some(&hash),
            };
            match store::import_page(db, origin, &new, &old, opts.replace_pages, now).await {
                Ok(p) => {
                    if p.slug != slug.as_str() {
                        report.partly(
                            "page",
                            &post.id,
                            &title,
                            format!(
                                "the slug {:?} is taken here; imported as {:?}",
                                slug.as_str(),
                                p.slug
                            ),
                        );
                    }
                    if let Some(uuid) = post.uuid.as_deref() {
                        let alias = Origin {
                            source: SOURCE,
                            kind: "page_uuid",
                            source_id: uuid,
                        };
                        store::remember_alias(db, alias, p.id, now).await?;
                    }
                    let c = &mut report.pages;
                    match (p.created, p.changed) {
                        (true, _) => c.created += 1,
                        (false, true) => c.updated += 1,
                        (false, false) => c.unchanged += 1,
                    }
                }
                Err(e) => report.skip("page", &post.id, &title, e.to_string()),
            }
            continue;
        }

        let access_level = access(post.visibility.as_deref());
        let mut content_type = ContentType::News;
        let mut topic_ids = Vec::new();
        for (_, tag) in &tags {
            if let Some(ct) = types.get(*tag) {
                content_type = *ct;
            } else if let Some(id) = topics.get(*tag) {
                if !topic_ids.contains(id) {
                    topic_ids.push(*id);
                }
            }
        }
        let mut author_ids = Vec::new();
        for (_, a) in &bylines {
            if let Some(id) = authors.get(*a) {
                if !author_ids.contains(id) {
                    author_ids.push(*id);
                }
            }
        }
        let lead = match post.feature_image.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(img) => match images.copy(&url(img)).await {
                Ok((media_id, _)) => Some(NewLead {
                    media_id,
                    alt: m.map_or("", |m| some(&m.feature_image_alt)).to_string(),
                    caption: inline_text(m.map_or("", |m| some(&m.feature_image_caption))),
                    credit: String::new(),
                }),
                Err(why) => {
                    report.partly(
                        "post",
                        &post.id,
                        &title,
                        format!("feature image not copied: {why}"),
                    );
                    None
                }
            },
        };
        let published_at = post.published_at;
        if status == ArticleStatus::Scheduled && published_at.is_none() {
            status = ArticleStatus::Draft;
        }
        if blocks.is_empty() && status != ArticleStatus::Draft {
            report.skip("post", &post.id, &title, "the body is empty");
            continue;
        }
        let preview = converted
            .preview
            .map(|p| p.min(u32::try_from(blocks.len()).unwrap_or(u32::MAX)));
        let search = crate::content::search::search_text(
            &blocks,
            access_level,
            content_type,
            preview,
            &policy,
        );
        let mut source = blocks.clone();
        if let Some(p) = preview {
            source.insert(p as usize, "<!-- paywall -->".into());
        }
        let Some(slug) = slug_for(&post.slug, &title, "post", true) else {
            report.skip("post", &post.id, &title, "no usable slug");
            continue;
        };
        let new = NewArticle {
            slug: slug.clone(),
            headline: if title.is_empty() {
                "Untitled".into()
            } else {
                title.clone()
            },
            standfirst: some(&post.custom_excerpt).to_string(),
            dateline: String::new(),
            content_type,
            access_level,
            preview_blocks: preview,
            status,
            published_at,
            updated_at: post
                .updated_at
                .filter(|u| published_at.is_some_and(|p| *u > p)),
            body_markdown: Some(source.join("\n\n")),
            blocks,
            search,
            lead,
            author_ids,
            topic_ids,
            previous_slugs: Vec::new(),
            source_hash: Some(hash),
        };
        let seo_title: String = m
            .map(|m| some(&m.meta_title))
            .filter(|s| !s.is_empty())
            .unwrap_or(some(&post.meta_title))
            .chars()
            .take(300)
            .collect();
        let seo_description: String = m
            .map(|m| some(&m.meta_description))
            .filter(|s| !s.is_empty())
            .unwrap_or(some(&post.meta_description))
            .chars()
            .take(300)
            .collect();
        let seo = store::Seo {
            title: &seo_title,
            description: &seo_description,
        };
        match store::import_article(db, origin, &new, seo, &old, opts.force, now).await {
            Ok(done) => {
                let written = report.post_done(&post.id, &title, slug.as_str(), &done);
                if let (Some(id), Some(uuid)) = (written, post.uuid.as_deref()) {
                    let alias = Origin {
                        source: SOURCE,
                        kind: "post_uuid",
                        source_id: uuid,
                    };
                    store::remember_alias(db, alias, id, now).await?;
                }
                if let (Some(id), true) =
                    (written, post.featured && status == ArticleStatus::Published)
                {
                    featured.push(id);
                }
            }
            Err(e) => report.skip("post", &post.id, &title, e.to_string()),
        }
    }
    bar.finish_and_clear();
    report.images = images.count;

    if !opts.dry_run && !featured.is_empty() {
        let mut ids = featured.clone();
        for (_, id) in masthead_store::content::find_front_slots(db, "home").await? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let detail = format!("{} featured posts from Ghost", featured.len());
        let audit = actor.audit("front.save", "front", "home", &detail);
        masthead_store::content::set_front_slots(db, "home", &ids, &audit, now).await?;
    }

    // Readers, then their subscriptions.
    if let Some(text) = members_text {
        let targets = if opts.newsletters.is_empty() {
            on_signup.clone()
        } else {
            let here = masthead_store::newsletters::list(db).await?;
            let mut ids = Vec::new();
            for slug in &opts.newsletters {
                match here.iter().find(|n| n.slug == *slug) {
                    Some(n) => ids.push(n.id),
                    None => {
                        return Err(GhostError(format!(
                            "--newsletters: no newsletter {slug:?} here"
                        ))
                        .into())
                    }
                }
            }
            ids
        };
        let parsed =
            tokio::task::spawn_blocking(move || super::members::parse_ghost_csv(&text, &targets))
                .await?
                .map_err(GhostError)?;
        if !parsed.opted_in.is_empty() {
            let names = masthead_store::newsletters::list(db)
                .await?
                .into_iter()
                .filter(|n| {
                    if opts.newsletters.is_empty() {
                        on_signup.contains(&n.id)
                    } else {
                        opts.newsletters.contains(&n.slug)
                    }
                })
                .map(|n| n.name)
                .collect::<Vec<_>>();
            report.partly(
                "members",
                "",
                "",
                format!(
                    "Ghost's CSV says only whether a member takes email, not which newsletters: {} members who do were opted in to {}",
                    parsed.opted_in.len(),
                    if names.is_empty() {
                        "none (no newsletter is marked subscribe on sign-up; name them with --newsletters)".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            );
        }
        let customers =
            super::members::import(state, SOURCE, &parsed, opts.dry_run, &mut report, progress)
                .await?;
        if !opts.dry_run {
            super::carry_over::carry_over(state, &customers, &mut report).await?;
        }
    }

    if !opts.dry_run {
        super::finish_run(state, actor, "import.ghost", &opts.file, &report).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_of_export_read() {
        let dir = std::env::temp_dir().join(format!("ghost-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inner = r#"{"meta":{"version":"5.80.0"},"data":{"posts":[{"id":"65a1","title":"T","slug":"t","html":"<p>x</p>","status":"published","featured":1,"published_at":"2024-05-17T08:30:00.000Z","lexical":"{\"root\":{}}"}],"users":[{"id":1,"name":"Ann","slug":"ann","email":"ann@old.example","password":"$2a$10$secret"}]}}"#;
        let wrapped = format!("{{\"db\":[{inner}]}}");
        for (name, text) in [("a.json", inner.to_string()), ("b.json", wrapped)] {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            let d = read(&p).unwrap();
            assert_eq!(d.posts.len(), 1);
            assert!(d.posts[0].featured);
            assert_eq!(d.posts[0].published_at, Some(1715934600));
            assert_eq!(d.users[0].id, "1");
        }
        for bad in [
            "",
            "{",
            "[1,2]",
            "{\"db\":[]}",
            "{\"data\":{}}",
            "{\"db\":[{\"data\":{\"posts\":[{\"id\":",
        ] {
            let p = dir.join("bad.json");
            std::fs::write(&p, bad).unwrap();
            assert!(read(&p).is_err(), "{bad:?}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn visibility_maps_to_access() {
        assert_eq!(access(None), AccessLevel::Free);
        assert_eq!(access(Some("public")), AccessLevel::Free);
        assert_eq!(access(Some("members")), AccessLevel::Registered);
        assert_eq!(access(Some("paid")), AccessLevel::Subscribers);
        assert_eq!(access(Some("tiers")), AccessLevel::Subscribers);
    }

    #[test]
    fn any_json_is_read_or_refused_without_panicking() {
        let parts = [
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"db\"",
            "\"data\"",
            "\"posts\"",
            "\"id\"",
            "\"html\"",
            "\"<p>x</p>\"",
            "1",
            "null",
            "true",
            "\"featured\"",
            "\"published_at\"",
            "\"2024\"",
        ];
        let dir = std::env::temp_dir().join(format!("ghost-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.json");
        let mut seed: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..1000 {
            let mut text = String::new();
            for _ in 0..(seed % 30) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(parts[(seed % parts.len() as u64) as usize]);
            }
            std::fs::write(&p, &text).unwrap();
            let _ = read(&p);
        }
        // Nesting deeper than the parser allows is refused, not a crash.
        std::fs::write(
            &p,
            format!("{{\"data\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000)),
        )
        .unwrap();
        assert!(read(&p).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
