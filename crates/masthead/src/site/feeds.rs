//! RSS 2.0 and Atom feeds, sitemaps and the Google News sitemap. Written
//! directly (not through templates): the formats are small and strict.
//! Article text in feeds comes through the same gate as the page.

use super::shared::{audience, serve};
use crate::access::reader::{self, Viewer};
use crate::app::AppState;
use crate::cache::Audience;
use crate::http::page_param;
use crate::http::{AppError, AppResult};
use axum::extract::{Path, State};
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use masthead_core::content::{ArticleSummary, ContentType};
use masthead_store::content::{self as store, Listing};
use std::fmt::Write;

const FEED_ITEMS: u32 = 20;
const SITEMAP_PART: u32 = 10_000;

/// Escapes text for XML content and attribute values.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn xml_response(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The bodies a feed may carry for its articles, each through the access
/// gate, in one query.
async fn feed_bodies(
    state: &AppState,
    viewer: &Viewer,
    items: &[ArticleSummary],
) -> Result<Vec<String>, AppError> {
    let asked: Vec<_> = items
        .iter()
        .map(|a| {
            let facts = a.facts();
            (facts, reader::decision(state, viewer, &facts))
        })
        .collect();
    let bodies = store::find_bodies(state.db(), &asked).await?;
    Ok(items
        .iter()
        .zip(bodies)
        .map(|(a, body)| {
            let mut html = body.blocks.join("\n");
            if !body.is_complete() {
                let url = state.config().base_url.join(&format!("/{}", a.slug));
                let _ = write!(
                    html,
                    "\n<p><a href=\"{}\">Continue reading on the site</a></p>",
                    xml(&url)
                );
            }
            html
        })
        .collect())
}

struct FeedInfo {
    title: String,
    self_path: String,
    page_path: String,
    listing: Listing,
}

async fn build_rss(state: &AppState, viewer: &Viewer, f: FeedInfo) -> AppResult {
    let (items, _) =
        store::list_articles(state.db(), f.listing, state.now(), 0, FEED_ITEMS).await?;
    let base = &state.config().base_url;
    let settings = state.settings().get();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n",
    );
    let _ = writeln!(out, "<title>{}</title>", xml(&f.title));
    let _ = writeln!(out, "<link>{}</link>", xml(&base.join(&f.page_path)));
    let _ = writeln!(
        out,
        "<description>{}</description>",
        xml(&settings.publication.description)
    );
    let _ = writeln!(
        out,
        "<language>{}</language>",
        xml(&settings.publication.language)
    );
    let _ = writeln!(
        out,
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>",
        xml(&base.join(&f.self_path))
    );
    if let Some(first) = items.first() {
        let _ = writeln!(
            out,
            "<lastBuildDate>{}</lastBuildDate>",
            rfc2822(first.updated_at)
        );
    }
    let bodies = feed_bodies(state, viewer, &items).await?;
    for (a, body) in items.iter().zip(bodies) {
        let url = base.join(&format!("/{}", a.slug));
        out.push_str("<item>\n");
        let _ = writeln!(out, "<title>{}</title>", xml(&a.headline));
        let _ = writeln!(out, "<link>{}</link>", xml(&url));
        let _ = writeln!(out, "<guid isPermaLink=\"true\">{}</guid>", xml(&url));
        if let Some(p) = a.published_at {
            let _ = writeln!(out, "<pubDate>{}</pubDate>", rfc2822(p));
        }
        for au in &a.authors {
            let _ = writeln!(out, "<dc:creator>{}</dc:creator>", xml(&au.name));
        }
        let _ = writeln!(out, "<category>{}</category>", xml(a.content_type.label()));
        let _ = writeln!(out, "<description>{}</description>", xml(&a.standfirst));
        let _ = writeln!(out, "<content:encoded>{}</content:encoded>", xml(&body));
        out.push_str("</item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    Ok(xml_response("application/rss+xml; charset=utf-8", out))
}

async fn build_atom(state: &AppState, viewer: &Viewer, f: FeedInfo) -> AppResult {
    let (items, _) =
        store::list_articles(state.db(), f.listing, state.now(), 0, FEED_ITEMS).await?;
    let base = &state.config().base_url;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let lang = state.settings().get().publication.language.clone();
    let _ = writeln!(
        out,
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">",
        xml(&lang)
    );
    let _ = writeln!(out, "<title>{}</title>", xml(&f.title));
    let _ = writeln!(out, "<id>{}</id>", xml(&base.join(&f.self_path)));
    let _ = writeln!(
        out,
        "<link rel=\"self\" href=\"{}\"/>",
        xml(&base.join(&f.self_path))
    );
    let _ = writeln!(
        out,
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        xml(&base.join(&f.page_path))
    );
    let updated = items
        .iter()
        .map(|a| a.updated_at)
        .max()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let _ = writeln!(out, "<updated>{}</updated>", rfc3339(updated));
    let bodies = feed_bodies(state, viewer, &items).await?;
    for (a, body) in items.iter().zip(bodies) {
        let url = base.join(&format!("/{}", a.slug));
        out.push_str("<entry>\n");
        let _ = writeln!(out, "<title>{}</title>", xml(&a.headline));
        let _ = writeln!(out, "<id>{}</id>", xml(&url));
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            xml(&url)
        );
        if let Some(p) = a.published_at {
            let _ = writeln!(out, "<published>{}</published>", rfc3339(p));
        }
        let _ = writeln!(out, "<updated>{}</updated>", rfc3339(a.updated_at));
        if a.authors.is_empty() {
            let _ = writeln!(out, "<author><name>{}</name></author>", xml(&f.title));
        }
        for au in &a.authors {
            let _ = writeln!(
                out,
                "<author><name>{}</name><uri>{}</uri></author>",
                xml(&au.name),
                xml(&base.join(&format!("/authors/{}", au.slug)))
            );
        }
        let _ = writeln!(out, "<summary>{}</summary>", xml(&a.standfirst));
        let _ = writeln!(out, "<content type=\"html\">{}</content>", xml(&body));
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    Ok(xml_response("application/atom+xml; charset=utf-8", out))
}

fn rfc2822(t: jiff::Timestamp) -> String {
    jiff::fmt::rfc2822::to_string(&t.to_zoned(jiff::tz::TimeZone::UTC)).unwrap_or_default()
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn site_feed(state: &AppState, self_path: &str) -> FeedInfo {
    FeedInfo {
        title: state.settings().get().publication.name.clone(),
        self_path: self_path.to_string(),
        page_path: "/".to_string(),
        listing: Listing::All,
    }
}

pub async fn rss(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> AppResult {
    serve(&state, &uri, 1, audience(&viewer), || {
        build_rss(&state, &viewer, site_feed(&state, "/feeds/rss.xml"))
    })
    .await
}

pub async fn atom(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> AppResult {
    serve(&state, &uri, 1, audience(&viewer), || {
        build_atom(&state, &viewer, site_feed(&state, "/feeds/atom.xml"))
    })
    .await
}

async fn topic_feed(state: &AppState, slug: &str, file: &str) -> Result<FeedInfo, AppError> {
    let t = store::find_topic(state.db(), slug)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(FeedInfo {
        title: format!("{} — {}", t.name, state.settings().get().publication.name),
        self_path: format!("/topics/{}/{file}", t.slug),
        page_path: format!("/topics/{}", t.slug),
        listing: Listing::Topic(t.id),
    })
}

pub async fn topic_rss(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    uri: Uri,
) -> AppResult {
    serve(&state, &uri, 1, audience(&viewer), || async {
        let f = topic_feed(&state, &slug, "rss.xml").await?;
        build_rss(&state, &viewer, f).await
    })
    .await
}

pub async fn topic_atom(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    uri: Uri,
) -> AppResult {
    serve(&state, &uri, 1, audience(&viewer), || async {
        let f = topic_feed(&state, &slug, "atom.xml").await?;
        build_atom(&state, &viewer, f).await
    })
    .await
}

pub async fn sitemap_index(State(state): State<AppState>, uri: Uri) -> AppResult {
    serve(&state, &uri, 1, Audience::Everyone, || {
        render_sitemap_index(&state)
    })
    .await
}

async fn render_sitemap_index(state: &AppState) -> AppResult {
    let base = &state.config().base_url;
    let count = store::count_visible(state.db(), state.now()).await?;
    let parts = (count.max(1) as u64).div_ceil(u64::from(SITEMAP_PART));
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let _ = writeln!(
        out,
        "<sitemap><loc>{}</loc></sitemap>",
        xml(&base.join("/sitemaps/pages.xml"))
    );
    for n in 1..=parts {
        let _ = writeln!(
            out,
            "<sitemap><loc>{}</loc></sitemap>",
            xml(&base.join(&format!("/sitemaps/articles-{n}.xml")))
        );
    }
    out.push_str("</sitemapindex>\n");
    Ok(xml_response("application/xml; charset=utf-8", out))
}

pub async fn sitemap_pages(State(state): State<AppState>, uri: Uri) -> AppResult {
    serve(&state, &uri, 1, Audience::Everyone, || {
        render_sitemap_pages(&state)
    })
    .await
}

async fn render_sitemap_pages(state: &AppState) -> AppResult {
    let base = &state.config().base_url;
    let mut paths = vec![
        "/".to_string(),
        "/topics".to_string(),
        "/authors".to_string(),
    ];
    paths.extend(
        ContentType::ALL
            .iter()
            .map(|t| format!("/sections/{}", t.as_str())),
    );
    for t in store::list_topics(state.db()).await? {
        paths.push(format!("/topics/{}", t.slug));
    }
    for (slug, _) in store::list_authors(state.db()).await? {
        paths.push(format!("/authors/{slug}"));
    }
    for p in ["about", "terms", "privacy"] {
        if store::find_page(state.db(), p).await?.is_some() {
            paths.push(format!("/pages/{p}"));
        }
    }
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for p in paths {
        let _ = writeln!(out, "<url><loc>{}</loc></url>", xml(&base.join(&p)));
    }
    out.push_str("</urlset>\n");
    Ok(xml_response("application/xml; charset=utf-8", out))
}

pub async fn sitemap_articles(
    State(state): State<AppState>,
    Path(part): Path<String>,
    uri: Uri,
) -> AppResult {
    serve(&state, &uri, 1, Audience::Everyone, || {
        render_sitemap_articles(&state, &part)
    })
    .await
}

async fn render_sitemap_articles(state: &AppState, part: &str) -> AppResult {
    let n: u64 = part
        .strip_prefix("articles-")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|p| p.parse().ok())
        .filter(|n| (1..=100_000).contains(n))
        .ok_or(AppError::NotFound)?;
    let entries = store::list_sitemap_entries(
        state.db(),
        state.now(),
        None,
        (n - 1) * u64::from(SITEMAP_PART),
        SITEMAP_PART,
    )
    .await?;
    if entries.is_empty() && n > 1 {
        return Err(AppError::NotFound);
    }
    let base = &state.config().base_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for e in entries {
        let _ = writeln!(
            out,
            "<url><loc>{}</loc><lastmod>{}</lastmod></url>",
            xml(&base.join(&format!("/{}", e.slug))),
            rfc3339(e.updated_at)
        );
    }
    out.push_str("</urlset>\n");
    Ok(xml_response("application/xml; charset=utf-8", out))
}

/// Articles of the last two days, as Google News asks.
pub async fn news_sitemap(State(state): State<AppState>, uri: Uri) -> AppResult {
    let _ = page_param(&uri)?;
    // It changes with the clock too (two days back): kept for the hour.
    let hour = u32::try_from(state.now().div_euclid(3600)).unwrap_or(0);
    serve(&state, &uri, hour, Audience::Everyone, || {
        render_news_sitemap(&state)
    })
    .await
}

async fn render_news_sitemap(state: &AppState) -> AppResult {
    let since = state.now() - 2 * 86_400;
    let entries =
        store::list_sitemap_entries(state.db(), state.now(), Some(since), 0, 1000).await?;
    let base = &state.config().base_url;
    let settings = state.settings().get();
    let lang = settings
        .publication
        .language
        .split('-')
        .next()
        .unwrap_or("en")
        .to_string();
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
         xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\n",
    );
    for e in entries {
        let _ = writeln!(
            out,
            "<url><loc>{}</loc><news:news><news:publication><news:name>{}</news:name>\
             <news:language>{}</news:language></news:publication>\
             <news:publication_date>{}</news:publication_date><news:title>{}</news:title></news:news></url>",
            xml(&base.join(&format!("/{}", e.slug))),
            xml(&settings.publication.name),
            xml(&lang),
            rfc3339(e.published_at),
            xml(&e.headline)
        );
    }
    out.push_str("</urlset>\n");
    Ok(xml_response("application/xml; charset=utf-8", out))
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(xml("a<b>&\"'\u{1}c"), "a&lt;b&gt;&amp;&quot;&apos;c");
    }
}
