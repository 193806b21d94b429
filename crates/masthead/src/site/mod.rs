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
pub(crate) mod shared;
pub mod view;

use crate::app::AppState;
use crate::http::{AppError, AppResult, Carries, Route};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The reader site's routes with their declarations (the app's table,
/// `crate::app::routes`, adds every other module's).
pub fn routes() -> Vec<Route> {
    use Carries::{NoText, Text};
    vec![
        Route::new("/", get(lists::home), Text),
        Route::new("/healthz", get(healthz), NoText),
        Route::new("/robots.txt", get(robots), NoText),
        Route::new("/static/style.css", get(stylesheet), NoText),
        Route::new("/favicon.svg", get(favicon), NoText),
        Route::new(
            "/favicon.ico",
            get(|| async { axum::response::Redirect::permanent("/favicon.svg") }),
            NoText,
        ),
        Route::new("/media/{name}", get(media), NoText)
            .streams()
            .cors(),
        Route::new("/topics", get(lists::topics_index), Text),
        Route::new("/topics/{slug}", get(lists::topic), Text),
        Route::new("/topics/{slug}/rss.xml", get(feeds::topic_rss), Text),
        Route::new("/topics/{slug}/atom.xml", get(feeds::topic_atom), Text),
        Route::new("/authors", get(lists::authors_index), Text),
        Route::new("/authors/{slug}", get(lists::author), Text),
        Route::new("/sections/{kind}", get(lists::section), Text),
        Route::new("/search", get(lists::search), Text),
        Route::new("/pages/{slug}", get(lists::page), Text),
        Route::new("/feeds/rss.xml", get(feeds::rss), Text),
        Route::new("/feeds/atom.xml", get(feeds::atom), Text),
        Route::new(
            "/rss",
            get(|| async { axum::response::Redirect::permanent("/feeds/rss.xml") }),
            NoText,
        ),
        Route::new("/sitemap.xml", get(feeds::sitemap_index), Text),
        Route::new("/sitemaps/pages.xml", get(feeds::sitemap_pages), Text),
        Route::new("/sitemaps/{part}", get(feeds::sitemap_articles), Text),
        Route::new("/news-sitemap.xml", get(feeds::news_sitemap), Text),
        Route::new("/{slug}", get(article::show), Text),
    ]
}

/// A path no route takes: an imported item's old address answers 301 to
/// where it lives now (`masthead_store::imports`); anything else is a 404.
pub(crate) async fn not_found(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    old_address(&state, &uri)
        .await
        .unwrap_or_else(|| AppError::NotFound.into_response())
}

/// The 301 for an imported item's old address, when `uri` is one.
pub(crate) async fn old_address(state: &AppState, uri: &axum::http::Uri) -> Option<Response> {
    let asked = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    match masthead_store::imports::find_path_redirect(state.db(), asked).await {
        // Never to itself.
        Ok(Some(to)) if to == uri.path() => None,
        // `/slug/` (Ghost's and WordPress's form) for the article `/slug`.
        Ok(None) if uri.path().len() > 1 && uri.path().ends_with('/') => {
            let slug = uri.path().trim_matches('/');
            if slug.is_empty() || slug.contains('/') {
                return None;
            }
            match masthead_store::content::find_article(state.db(), slug, state.now()).await {
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => return Some(AppError::from(e).into_response()),
            }
            let mut to = format!("/{slug}");
            if let Some(q) = uri.query() {
                to.push('?');
                to.push_str(q);
            }
            axum::http::HeaderValue::from_str(&to)
                .ok()
                .map(|to| (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response())
        }
        // 301, as the old site's links and search engines expect.
        // (Targets are our own slug paths, so always a valid header.)
        Ok(Some(to)) => axum::http::HeaderValue::from_str(&to)
            .ok()
            .map(|to| (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()),
        Ok(None) => None,
        Err(e) => Some(AppError::from(e).into_response()),
    }
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

async fn robots(State(state): State<AppState>, uri: axum::http::Uri) -> AppResult {
    shared::serve(
        &state,
        &uri,
        1,
        crate::cache::Audience::Everyone,
        || async { Ok(robots_txt(&state)) },
    )
    .await
}

fn robots_txt(state: &AppState) -> Response {
    let base = &state.config().base_url;
    let body = format!(
        "User-agent: *\nDisallow: /admin\nDisallow: /account\nDisallow: /search\n\n\
         Sitemap: {}\nSitemap: {}\n",
        base.join("/sitemap.xml"),
        base.join("/news-sitemap.xml")
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The publication's icon: its initial on its accent colour (the theme's
/// ink when none is set), drawn as SVG.
async fn favicon(State(state): State<AppState>) -> Response {
    let settings = state.settings().get();
    let p = &settings.publication;
    let initial: String = p
        .name
        .trim_start_matches("The ")
        .chars()
        .find(|c| c.is_alphanumeric())
        .unwrap_or('M')
        .to_uppercase()
        .collect();
    // Accent colours are validated as `#rrggbb` when set.
    let fill = if p.accent_colour.is_empty() {
        "#1a1a1a"
    } else {
        p.accent_colour.as_str()
    };
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">\
         <rect width=\"32\" height=\"32\" rx=\"6\" fill=\"{fill}\"/>\
         <text x=\"16\" y=\"23\" font-family=\"Georgia, serif\" font-size=\"20\" \
         font-weight=\"bold\" text-anchor=\"middle\" fill=\"#ffffff\">{}</text></svg>\n",
        crate::templates::escape_html(&initial)
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response()
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

/// A media file, streamed from disk in chunks (the route `streams`: the
/// finisher does not buffer it). Its name is its content's hash, so the
/// name is its ETag and it never changes.
async fn media(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
) -> AppResult {
    use crate::media::MediaStorage;
    let path = state.media().path(&name).ok_or(AppError::NotFound)?;
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let len = file
        .metadata()
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .len();
    // The type comes from what was stored (always re-encoded by us), never
    // from the request.
    let mime = if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let etag = format!("\"{name}\"");
    let cache = "public, max-age=31536000, immutable";
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if fresh {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag.as_str()),
                (header::CACHE_CONTROL, cache),
            ],
        )
            .into_response());
    }
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CACHE_CONTROL, cache.to_string()),
            (header::ETAG, etag),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    /// Every first word of every route is refused as an article slug, so no
    /// article can sit at a URL a route answers (unreachable, yet listed).
    #[test]
    fn every_route_word_is_a_reserved_slug() {
        for path in crate::app::routes().iter().map(|r| r.path) {
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
}
