//! The reader-facing site: routes, the shared page context and the few
//! small endpoints (static files, media, health, robots).
//!
//! Route map (the words are reserved as article slugs, see
//! `masthead_core::content::RESERVED_SLUGS`): `/`, `/{article-slug}`,
//! `/topics`, `/topics/{slug}`, `/authors`, `/authors/{slug}`,
//! `/sections/{type}`, `/search`, `/pages/{slug}`, `/feeds/rss.xml`,
//! `/feeds/atom.xml`, `/topics/{slug}/rss.xml`, `/topics/{slug}/atom.xml`,
//! `/rss`, `/sitemap.xml`, `/sitemaps/…`, `/news-sitemap.xml`,
//! `/robots.txt`, `/media/…`, `/static/…`, `/healthz`; the account routes
//! (`/signup`, `/login…`, `/logout`, `/account…`, `/password/reset…`,
//! `/subscribe`, see `members::web`) and the staff's (`/admin…`, see
//! `staff`). Reserved for later issues: `/newsletters`, `/email/…`,
//! `/unsubscribe/…`, `/webhooks/…`.

mod article;
mod feeds;
mod lists;
pub mod view;

use crate::app::AppState;
use crate::http::{AppError, AppResult};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;

/// Whether a route's responses can carry article text (body, headline and
/// standfirst of unpublished articles included). The leak suite requests
/// every route marked `Text` as every kind of reader; a route cannot be
/// added without saying which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carries {
    /// Can carry article text: page, lists, feeds, search, sitemaps.
    Text,
    /// Never carries article text (static files, media, health, robots).
    NoText,
    /// Carries any article text, drafts included, but only to a staff
    /// session (the newsroom's editor and previews): the leak suite checks
    /// that every reader who is not staff gets none of it.
    StaffText,
}

/// Every route of the reader site with its declaration. The router is
/// built from this list and nothing else.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>, Carries)> {
    use Carries::{NoText, Text};
    vec![
        ("/", get(lists::home), Text),
        ("/healthz", get(healthz), NoText),
        ("/robots.txt", get(robots), NoText),
        ("/static/style.css", get(stylesheet), NoText),
        ("/media/{name}", get(media), NoText),
        ("/topics", get(lists::topics_index), Text),
        ("/topics/{slug}", get(lists::topic), Text),
        ("/topics/{slug}/rss.xml", get(feeds::topic_rss), Text),
        ("/topics/{slug}/atom.xml", get(feeds::topic_atom), Text),
        ("/authors", get(lists::authors_index), Text),
        ("/authors/{slug}", get(lists::author), Text),
        ("/sections/{kind}", get(lists::section), Text),
        ("/search", get(lists::search), Text),
        ("/pages/{slug}", get(lists::page), Text),
        ("/feeds/rss.xml", get(feeds::rss), Text),
        ("/feeds/atom.xml", get(feeds::atom), Text),
        (
            "/rss",
            get(|| async { axum::response::Redirect::permanent("/feeds/rss.xml") }),
            NoText,
        ),
        ("/sitemap.xml", get(feeds::sitemap_index), Text),
        ("/sitemaps/pages.xml", get(feeds::sitemap_pages), Text),
        ("/sitemaps/{part}", get(feeds::sitemap_articles), Text),
        ("/news-sitemap.xml", get(feeds::news_sitemap), Text),
        ("/{slug}", get(article::show), Text),
    ]
    .into_iter()
    .chain(crate::members::web::routes())
    .chain(crate::staff::routes())
    .chain(crate::billing::webhook::routes())
    .chain(crate::billing::checkout::routes())
    .chain(crate::billing::account::routes())
    .chain(crate::newsletters::web::routes())
    .chain(crate::newsroom::routes())
    .collect()
}

pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for (path, handler, _) in routes() {
        router = router.route(path, handler);
    }
    router.fallback(not_found)
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db().ping().await {
        Ok(_) => ([(header::CACHE_CONTROL, "no-store")], "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CACHE_CONTROL, "no-store")],
                "database unavailable\n",
            )
                .into_response()
        }
    }
}

async fn robots(State(state): State<AppState>) -> Response {
    let base = &state.config().base_url;
    let body = format!(
        "User-agent: *\nDisallow: /admin\nDisallow: /account\nDisallow: /search\n\n\
         Sitemap: {}\nSitemap: {}\n",
        base.join("/sitemap.xml"),
        base.join("/news-sitemap.xml")
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The theme's stylesheet, with the publication's accent colour (light
/// mode; validated as `#rrggbb` readable on white) when one is set.
async fn stylesheet(State(state): State<AppState>) -> Response {
    let accent = state.settings().get().publication.accent_colour.clone();
    let mut css = state.theme().css.clone();
    if !accent.is_empty() {
        css.extend_from_slice(
            format!("\n@media not all and (prefers-color-scheme: dark) {{ :root {{ --accent: {accent}; }} }}\n")
                .as_bytes(),
        );
    }
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        css,
    )
        .into_response()
}

async fn media(State(state): State<AppState>, Path(name): Path<String>) -> AppResult {
    use crate::media::MediaStorage;
    let path = state.media().path(&name).ok_or(AppError::NotFound)?;
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    // The type comes from what was stored (always re-encoded by us), never
    // from the request.
    let mime = if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}

/// A themed error page. Used by the response finisher for every error.
pub fn render_error(state: &AppState, status: StatusCode, message: &str) -> Response {
    let ctx = minijinja::context! {
        site => view::site(state),
        status => status.as_u16(),
        title => status.canonical_reason().unwrap_or("Error"),
        message => message,
    };
    let html = state.theme().render("error.html", ctx).unwrap_or_else(|e| {
        tracing::error!(error = %e, "error template failed");
        format!(
            "<!doctype html><title>{}</title><p>{}</p>",
            status.as_u16(),
            status
        )
    });
    let mut res = (status, html).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

/// An HTML response.
pub fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// A query parameter, decoded leniently (bad UTF-8 becomes U+FFFD rather
/// than an error page).
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let q = uri.query()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// `?page=N`: absent means 1; anything but 1..=10000 is a clear 400.
pub fn page_param(uri: &Uri) -> Result<u32, AppError> {
    match query_param(uri, "page") {
        None => Ok(1),
        Some(p) => match p.trim().parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(
                "the page number must be a whole number from 1 to 10000".into(),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every first word of every route is refused as an article slug, so no
    /// article can sit at a URL a route answers (unreachable, yet listed).
    #[test]
    fn every_route_word_is_a_reserved_slug() {
        for (path, _, _) in routes() {
            let Some(word) = path.trim_start_matches('/').split('/').next() else {
                continue;
            };
            if word.is_empty() || word.starts_with('{') {
                continue;
            }
            assert!(
                masthead_core::content::Slug::parse_article(word).is_err(),
                "{path}: an article could take the slug {word:?}"
            );
        }
    }

    #[test]
    fn page_numbers_are_bounded() {
        let uri = |s: &str| s.parse::<Uri>().unwrap_or_default();
        assert_eq!(page_param(&uri("/x")).ok(), Some(1));
        assert_eq!(page_param(&uri("/x?page=3")).ok(), Some(3));
        for bad in [
            "/x?page=0",
            "/x?page=1000000000000000000000000000000",
            "/x?page=-1",
            "/x?page=a",
        ] {
            assert!(page_param(&uri(bad)).is_err(), "{bad}");
        }
    }
}
