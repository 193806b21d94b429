//! The pages many readers share (home, sections, topics, authors, the
//! indexes, feeds, sitemaps, robots.txt, the static pages), served from
//! the render cache (`crate::cache`) or rendered and kept.
//!
//! Only a 200 without a cookie is kept, with its body and Content-Type
//! (the finisher adds everything else); a 4xx or 5xx never is. The key is
//! the path, the page number and the audience (the inputs of the page's
//! access decision), so `?utm=…` or any other query string finds the same
//! entry.

use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::cache::{Audience, CachedPage, SharedKey};
use crate::http::{AppError, AppResult, ErrorPage};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use masthead_core::access::ReaderKind;
use std::future::Future;
use std::sync::Arc;

/// How long a reader waits for another's render of the same page.
const WAIT_FOR_RENDER: std::time::Duration = std::time::Duration::from_secs(5);

/// The most a rendered page is read into memory (the finisher's own bound).
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// A response whose bytes (or a compressed form) the finisher sends from
/// the cached page.
pub(crate) fn cached_response(page: Arc<CachedPage>) -> Response {
    let mut res = Response::new(axum::body::Body::empty());
    // Room for every header the finisher adds: one allocation, no regrowth.
    res.headers_mut().reserve(16);
    res.headers_mut()
        .insert(header::CONTENT_TYPE, page.content_type.clone());
    res.extensions_mut().insert(page);
    res
}

/// Who a page that carries article text is for, as its access decision
/// sees them.
pub(super) fn audience(viewer: &Viewer) -> Audience {
    match viewer.kind() {
        ReaderKind::Staff => Audience::Staff,
        ReaderKind::Member if viewer.entitled() => Audience::Entitled,
        ReaderKind::Member => Audience::Member,
        ReaderKind::Anonymous => Audience::Anonymous,
    }
}

/// Serves the page at `uri` (page `page`) for `audience` from the cache,
/// or renders it with `render` and keeps it.
pub(super) async fn serve<Fut>(
    state: &AppState,
    uri: &Uri,
    page: u32,
    audience: Audience,
    render: impl FnOnce() -> Fut,
) -> AppResult
where
    Fut: Future<Output = AppResult>,
{
    let key = SharedKey {
        path: uri.path().to_string(),
        page,
        audience,
        settings_version: state.settings().get().version,
    };
    serve_key(state, key, render).await
}

/// Serves the answer kept under `key`, or renders it with `render` and
/// keeps it (a 200 without a cookie only). The Content API keys its
/// answers by every parameter that shapes them.
pub(crate) async fn serve_key<Fut>(
    state: &AppState,
    key: SharedKey,
    render: impl FnOnce() -> Fut,
) -> AppResult
where
    Fut: Future<Output = AppResult>,
{
    if let Some(found) = state.cache().find_shared(&key) {
        return Ok(cached_response(found));
    }
    // One render per page at a time: the others wait for it (at most a
    // few seconds), then take what it kept, or render it themselves when
    // it kept nothing (an error page).
    let _claim = match state.cache().claim(&key) {
        Ok(claim) => Some(claim),
        Err(busy) => {
            let _ = tokio::time::timeout(WAIT_FOR_RENDER, busy.lock()).await;
            if let Some(found) = state.cache().find_shared(&key) {
                return Ok(cached_response(found));
            }
            None
        }
    };
    // Read before rendering: a write during the render keeps the page out.
    let version = state.cache().content_version();
    let res = render().await?;
    if res.status() != StatusCode::OK
        || res.headers().contains_key(header::SET_COOKIE)
        || res.extensions().get::<ErrorPage>().is_some()
    {
        return Ok(res);
    }
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_PAGE_BYTES)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading a rendered page: {e}")))?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("text/html; charset=utf-8"));
    let page = Arc::new(CachedPage::typed(bytes, content_type));
    state.cache().insert_shared(version, key, page.clone());
    Ok(cached_response(page))
}
