//! `masthead import --from wordpress FILE.xml`: a WordPress export (WXR)
//! into articles, pages, topics, authors and the media library. Two
//! passes over the file (attachments come after the posts that use
//! them); the second streams items from a parsing thread one at a time.
//! Bodies go through `wp_body` and the site's sanitizer; images are read
//! from a copy of `wp-content/uploads` or fetched through the guard.

use super::images::{self, old_path, Images, LocalCopy};
use super::{count, inline_text, slug_for, wp_body, wxr, Report};
use crate::app::AppState;
use crate::content::markdown;
use masthead_core::content::{AccessLevel, ArticleStatus, ContentType};
use masthead_store::content::{NewArticle, NewAuthor, NewLead, NewPage, NewTopic};
use masthead_store::imports::{self as store, Origin};
use masthead_store::newsroom::Actor;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    pub file: PathBuf,
    /// A copy of the old site's `wp-content/uploads`.
    pub uploads: Option<PathBuf>,
    /// The old site's address, when the export's is not the public one.
    pub old_url: Option<String>,
    pub dry_run: bool,
    /// Overwrite articles edited in the newsroom since their import.
    pub force: bool,
    /// Fetch images from private and loopback addresses too.
    pub allow_private_fetch: bool,
    /// Password-protected posts become subscribers-only (else drafts).
    pub protected_as_subscribers: bool,
    /// Let an old page replace the page of the same slug here (terms,
    /// privacy: the pages readers consented to).
    pub replace_pages: bool,
    /// For drafts, whose GMT date WordPress leaves empty.
    pub timezone: jiff::tz::TimeZone,
    pub progress: bool,
}

impl Options {
    pub fn new(file: PathBuf) -> Options {
        Options {
            file,
            uploads: None,
            old_url: None,
            dry_run: false,
            force: false,
            allow_private_fetch: false,
            protected_as_subscribers: false,
            replace_pages: false,
            timezone: jiff::tz::TimeZone::UTC,
            progress: false,
        }
    }
}

fn open(path: &Path) -> anyhow::Result<BufReader<std::fs::File>> {
    let f = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    Ok(BufReader::with_capacity(256 * 1024, f))
}

fn parse_date(gmt: &str, local: &str, tz: &jiff::tz::TimeZone) -> Option<i64> {
    let ok = |s: &str| !s.is_empty() && !s.starts_with("0000-00-00");
    if ok(gmt) {
        let dt: jiff::civil::DateTime = gmt.parse().ok()?;
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_second());
    }
    if ok(local) {
        let dt: jiff::civil::DateTime = local.parse().ok()?;
        return dt
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp().as_second());
    }
    None
}

struct Run<'a> {
    source: String,
    images: Images<'a>,
    /// Shared with the body converter's blocking threads, never copied.
    attachments: std::sync::Arc<HashMap<String, wxr::Attachment>>,
    report: Report,
}

/// Runs a WordPress import; `actor` is audited with the run's counts.
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
    // Pass 1: the site, its authors and terms, every attachment.
    let file = opts.file.clone();
    let (scan, attachments) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        Ok(wxr::attachments_and_channel(open(&file)?)?)
    })
    .await??;
    let channel = scan.channel.clone();
    let site = opts
        .old_url
        .clone()
        .or_else(|| (!channel.base_site_url.is_empty()).then(|| channel.base_site_url.clone()))
        .unwrap_or_else(|| channel.link.clone());
    let site = site.trim_end_matches('/').to_string();
    let hosts = images::hosts_of([
        site.as_str(),
        &channel.base_site_url,
        &channel.base_blog_url,
        &channel.link,
    ]);
    let local = opts.uploads.clone().map(|dir| LocalCopy {
        dir,
        marker: "/wp-content/uploads/",
    });
    let mut run = Run {
        source: format!("wordpress:{site}"),
        images: Images::new(
            state,
            &format!("wordpress:{site}"),
            &site,
            hosts,
            local,
            opts.allow_private_fetch,
            opts.dry_run,
        ),
        attachments: std::sync::Arc::new(attachments),
        report: Report {
            dry_run: opts.dry_run,
            dropped_characters: scan.dropped_characters,
            ..Report::default()
        },
    };
    let now = state.now();
    let db = state.db();
    let source = run.source.clone();

    // Authors: the export's, and Co-Authors Plus guest authors.
    let mut authors: HashMap<String, i64> = HashMap::new();
    let mut people: Vec<(String, String)> = channel
        .authors
        .iter()
        .map(|a| {
            (
                a.login.clone(),
                if a.display_name.is_empty() {
                    a.login.clone()
                } else {
                    a.display_name.clone()
                },
            )
        })
        .collect();
    for t in channel.terms.iter().filter(|t| t.taxonomy == "author") {
        let login = t.slug.trim_start_matches("cap-").to_string();
        if !people.iter().any(|(l, _)| *l == login) {
            people.push((login, t.name.clone()));
        }
    }
    for (login, name) in &people {
        let Some(slug) = slug_for(login, name, "author", false) else {
            run.report
                .skip("author", login, name, "no usable short name");
            continue;
        };
        let origin = Origin {
            source: &source,
            kind: "author",
            source_id: login,
        };
        if opts.dry_run {
            count(
                &mut run.report.authors,
                store::find_item(db, origin).await?.is_some(),
            );
            continue;
        }
        let paths = vec![format!("/author/{login}")];
        let new = NewAuthor {
            slug: &slug,
            name,
            bio_html: "",
            avatar_media_id: None,
        };
        let (id, created) = store::import_author(db, origin, &new, &paths, now).await?;
        count(&mut run.report.authors, !created);
        authors.insert(login.clone(), id);
    }

    // Categories and tags → topics (a term named like a content type
    // sets the article's content type instead).
    let mut topics: HashMap<(String, String), i64> = HashMap::new();
    let mut types: HashMap<(String, String), ContentType> = HashMap::new();
    let by_slug: HashMap<&str, &wxr::Term> = channel
        .terms
        .iter()
        .filter(|t| t.taxonomy == "category")
        .map(|t| (t.slug.as_str(), t))
        .collect();
    for t in channel
        .terms
        .iter()
        .filter(|t| t.taxonomy == "category" || t.taxonomy == "post_tag")
    {
        let key = (t.taxonomy.clone(), t.slug.clone());
        if let Ok(ct) = ContentType::parse(&t.name.to_ascii_lowercase()) {
            types.insert(key, ct);
            continue;
        }
        let source_id = format!("{}:{}", t.taxonomy, t.slug);
        let origin = Origin {
            source: &source,
            kind: "term",
            source_id: &source_id,
        };
        if opts.dry_run {
            count(
                &mut run.report.topics,
                store::find_item(db, origin).await?.is_some(),
            );
            continue;
        }
        // The archive address: categories by their parents' path.
        let path = if t.taxonomy == "category" {
            let mut chain = vec![t.slug.clone()];
            let mut parent = t.parent.clone();
            while let Some(p) = by_slug.get(parent.as_str()).filter(|_| chain.len() < 16) {
                chain.insert(0, p.slug.clone());
                parent = p.parent.clone();
            }
            format!("/category/{}", chain.join("/"))
        } else {
            format!("/tag/{}", t.slug)
        };
        let Some(slug) = slug_for(&t.slug, &t.name, "topic", false) else {
            run.report
                .skip("term", &source_id, &t.name, "no usable short name");
            continue;
        };
        let name = if t.name.is_empty() {
            t.slug.clone()
        } else {
            t.name.clone()
        };
        let new = NewTopic {
            slug: &slug,
            name: &name,
            description: "",
        };
        let (id, created) = store::import_topic(db, origin, &new, &[path], now).await?;
        count(&mut run.report.topics, !created);
        topics.insert(key, id);
    }

    // Pass 2: the posts and pages, streamed from a parsing thread.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<wxr::Item>(8);
    let file = opts.file.clone();
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        wxr::scan(open(&file)?, |item| {
            if item.post_type == "post" || item.post_type == "page" {
                return tx.blocking_send(item).is_ok();
            }
            true
        })?;
        Ok(())
    });
    let bar = if opts.progress {
        indicatif::ProgressBar::new(scan.items as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let policy = state.settings().get().publication.policy.clone();
    let mut sticky = Vec::new();
    let mut seen = 0u64;
    while let Some(item) = rx.recv().await {
        bar.inc(1);
        seen += 1;
        progress.tick(state, seen, scan.items as u64).await?;
        let kind = item.post_type.clone();
        let title = item.title.trim().to_string();
        let status = match item.status.as_str() {
            "publish" => ArticleStatus::Published,
            "future" => ArticleStatus::Scheduled,
            "draft" | "pending" | "private" | "auto-draft" => ArticleStatus::Draft,
            other => {
                run.report.skip(
                    &kind,
                    &item.post_id,
                    &title,
                    format!("status {other:?} (trash, revisions) is not imported"),
                );
                continue;
            }
        };
        let depth = markdown::nesting_depth(&item.content);
        if depth > markdown::MAX_NESTING {
            run.report.skip(
                &kind,
                &item.post_id,
                &title,
                format!("the body is nested {depth} levels deep"),
            );
            continue;
        }
        // The item as exported (and how it is imported): unchanged since
        // the last run, it is not converted and its images not fetched.
        let mut hasher = Sha256::new();
        hasher.update(
            format!("{item:?}|{}|{}", opts.protected_as_subscribers, run.source).as_bytes(),
        );
        let hash = hex::encode(hasher.finalize());
        let origin = Origin {
            source: &source,
            kind: if kind == "page" { "page" } else { "post" },
            source_id: &item.post_id,
        };
        if !opts.dry_run
            && store::find_source_hash(db, origin)
                .await?
                .flatten()
                .as_deref()
                == Some(hash.as_str())
        {
            let c = if kind == "page" {
                &mut run.report.pages
            } else {
                &mut run.report.articles
            };
            c.unchanged += 1;
            continue;
        }
        let mut old_paths: Vec<String> = old_path(&item.link, &run.images.hosts)
            .into_iter()
            .collect();
        let content = item.content.clone();
        let attachments = run.attachments.clone();
        let converted = markdown::off_thread(move || {
            wp_body::convert(&content, &|id| {
                attachments.get(id).map(|a| (a.url.clone(), a.alt.clone()))
            })
        })
        .await?;
        for name in &converted.unknown_shortcodes {
            run.report.partly(
                &kind,
                &item.post_id,
                &title,
                format!("unknown shortcode [{name}] kept as text"),
            );
        }
        let blocks = run
            .images
            .localise(
                converted.blocks,
                &mut run.report,
                (&kind, &item.post_id, &title),
            )
            .await;
        let blocks: Vec<String> = blocks
            .iter()
            .map(|b| markdown::sanitize(&run.images.relink(b)).trim().to_string())
            .filter(|b| !b.is_empty())
            .collect();

        if kind == "page" {
            old_paths.push(format!("/?page_id={}", item.post_id));
            if status != ArticleStatus::Published {
                run.report.skip(
                    "page",
                    &item.post_id,
                    &title,
                    "a page that is not published",
                );
                continue;
            }
            if opts.dry_run {
                count(
                    &mut run.report.pages,
                    store::find_item(db, origin).await?.is_some(),
                );
                continue;
            }
            let Some(slug) = slug_for(&item.post_name, &title, "page", false) else {
                run.report
                    .skip("page", &item.post_id, &title, "no usable slug");
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
            match store::import_page(db, origin, &new, &old_paths, opts.replace_pages, now).await {
                Ok(p) => {
                    if p.slug != slug.as_str() {
                        run.report.partly(
                            "page",
                            &item.post_id,
                            &title,
                            format!(
                                "the slug {:?} is taken here; imported as {:?}",
                                slug.as_str(),
                                p.slug
                            ),
                        );
                    }
                    let c = &mut run.report.pages;
                    match (p.created, p.changed) {
                        (true, _) => c.created += 1,
                        (false, true) => c.updated += 1,
                        (false, false) => c.unchanged += 1,
                    }
                }
                Err(e) => run
                    .report
                    .skip("page", &item.post_id, &title, e.to_string()),
            }
            continue;
        }

        old_paths.push(format!("/?p={}", item.post_id));
        if opts.dry_run {
            count(
                &mut run.report.articles,
                store::find_item(db, origin).await?.is_some(),
            );
            continue;
        }
        let (mut status, mut access) = (status, AccessLevel::Default);
        if !item.post_password.is_empty() {
            if opts.protected_as_subscribers {
                access = AccessLevel::Subscribers;
                run.report.partly(
                    "post",
                    &item.post_id,
                    &title,
                    "password-protected: imported for subscribers only",
                );
            } else {
                status = ArticleStatus::Draft;
                run.report.partly(
                    "post",
                    &item.post_id,
                    &title,
                    "password-protected: imported as a draft",
                );
            }
        }
        let mut content_type = ContentType::News;
        let mut topic_ids = Vec::new();
        let mut author_ids: Vec<i64> = authors.get(&item.creator).copied().into_iter().collect();
        for (domain, nicename, _) in &item.categories {
            let key = (domain.clone(), nicename.clone());
            if let Some(ct) = types.get(&key) {
                content_type = *ct;
            } else if let Some(id) = topics.get(&key) {
                if !topic_ids.contains(id) {
                    topic_ids.push(*id);
                }
            } else if domain == "author" {
                if let Some(id) = authors.get(nicename.trim_start_matches("cap-")) {
                    if !author_ids.contains(id) {
                        author_ids.push(*id);
                    }
                }
            }
        }
        let lead = match item
            .meta("_thumbnail_id")
            .and_then(|id| run.attachments.get(id))
            .cloned()
        {
            Some(att) => match run.images.copy(&att.url).await {
                Ok((media_id, _)) => Some(NewLead {
                    media_id,
                    alt: att.alt.clone(),
                    caption: inline_text(&att.caption),
                    credit: String::new(),
                }),
                Err(why) => {
                    run.report.partly(
                        "post",
                        &item.post_id,
                        &title,
                        format!("featured image not copied: {why}"),
                    );
                    None
                }
            },
            None => None,
        };
        let published_at = parse_date(&item.post_date_gmt, &item.post_date, &opts.timezone);
        if status == ArticleStatus::Scheduled && published_at.is_none() {
            status = ArticleStatus::Draft;
        }
        if blocks.is_empty() && status != ArticleStatus::Draft {
            run.report
                .skip("post", &item.post_id, &title, "the body is empty");
            continue;
        }
        let preview = converted
            .more
            .map(|m| m.min(u32::try_from(blocks.len()).unwrap_or(u32::MAX)));
        let search =
            crate::content::search::search_text(&blocks, access, content_type, preview, &policy);
        let mut source = blocks.clone();
        if let Some(p) = preview {
            source.insert(p as usize, "<!-- paywall -->".into());
        }
        let Some(slug) = slug_for(&item.post_name, &title, "post", true) else {
            run.report
                .skip("post", &item.post_id, &title, "no usable slug");
            continue;
        };
        let new = NewArticle {
            slug: slug.clone(),
            headline: if title.is_empty() {
                "Untitled".into()
            } else {
                title.clone()
            },
            standfirst: markdown::plain_text(&item.excerpt).trim().to_string(),
            dateline: String::new(),
            content_type,
            access_level: access,
            preview_blocks: preview,
            status,
            published_at,
            updated_at: None,
            body_markdown: Some(source.join("\n\n")),
            blocks,
            search,
            lead,
            author_ids,
            topic_ids,
            previous_slugs: Vec::new(),
            source_hash: Some(hash),
        };
        let seo_title = yoast(item.meta("_yoast_wpseo_title").unwrap_or(""), &title);
        let seo_description = yoast(item.meta("_yoast_wpseo_metadesc").unwrap_or(""), &title);
        let seo = store::Seo {
            title: &seo_title,
            description: &seo_description,
        };
        match store::import_article(db, origin, &new, seo, &old_paths, opts.force, now).await {
            Ok(done) => {
                let written = run
                    .report
                    .post_done(&item.post_id, &title, slug.as_str(), &done);
                if let (Some(id), true) =
                    (written, item.sticky && status == ArticleStatus::Published)
                {
                    sticky.push(id);
                }
            }
            Err(e) => run
                .report
                .skip("post", &item.post_id, &title, e.to_string()),
        }
    }
    bar.finish_and_clear();
    reader.await??;

    run.report.images = run.images.count;
    if !opts.dry_run {
        // Sticky posts lead the home page, ahead of what it had.
        if !sticky.is_empty() {
            let mut ids = sticky.clone();
            for (_, id) in masthead_store::content::find_front_slots(db, "home").await? {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let detail = format!("{} sticky posts from WordPress", sticky.len());
            let audit = actor.audit("front.save", "front", "home", &detail);
            masthead_store::content::set_front_slots(db, "home", &ids, &audit, now).await?;
        }
        super::finish_run(state, actor, "import.wordpress", &opts.file, &run.report).await?;
    }
    Ok(run.report)
}

/// A Yoast SEO field with its common variables filled in (`%%title%%`,
/// `%%sep%%`; the site's name is this site's now, so it goes); a field
/// with any other variable is dropped rather than shown raw.
fn yoast(field: &str, title: &str) -> String {
    let out = field
        .replace("%%title%%", title)
        .replace("%%sep%%", "—")
        .replace("%%sitename%%", "")
        .replace("%%page%%", "");
    let out = out.trim().trim_end_matches('—').trim();
    if out.contains("%%") {
        return String::new();
    }
    out.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drafts_empty_gmt_date_falls_back_to_the_local_one() {
        let tz = jiff::tz::TimeZone::get("Europe/Lisbon").unwrap();
        assert_eq!(parse_date("2024-05-17 08:30:00", "", &tz), Some(1715934600));
        assert_eq!(
            parse_date("0000-00-00 00:00:00", "2024-01-10 12:00:00", &tz),
            Some(1704888000)
        );
        assert_eq!(
            parse_date("0000-00-00 00:00:00", "0000-00-00 00:00:00", &tz),
            None
        );
    }
}
