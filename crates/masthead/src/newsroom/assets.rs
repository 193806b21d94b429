//! The rich-text editor's bundle, built by `build.rs` from `editor/` and
//! embedded in the binary (no CDN, nothing fetched at run time). Empty when
//! Node.js was absent at build time: the editor page then says so and
//! offers the Markdown editor.

use crate::cache::CachedPage;
use axum::body::Body;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::{Arc, OnceLock};

static JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/editor.js"));
static CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/editor.css"));

/// Whether this binary carries the rich-text editor.
pub fn editor_built() -> bool {
    !JS.is_empty()
}

/// A version for asset URLs: a digest of the bundle, so a new build is
/// fetched at once and an old one can be cached for good.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(JS);
        h.update(CSS);
        hex::encode(&h.finalize()[..6])
    })
}

/// The two assets as cached pages: validators made once, each compressed
/// form made on first request and kept.
fn cached(js: bool) -> Arc<CachedPage> {
    static PAGES: OnceLock<[Arc<CachedPage>; 2]> = OnceLock::new();
    let pages = PAGES.get_or_init(|| {
        [
            Arc::new(CachedPage::new(Bytes::from_static(JS))),
            Arc::new(CachedPage::new(Bytes::from_static(CSS))),
        ]
    });
    pages[usize::from(!js)].clone()
}

/// `GET /admin/assets/{name}`: the bundle and its stylesheet, the same for
/// everyone, cached for good under their versioned URLs.
pub async fn serve(Path(name): Path<String>) -> Response {
    let (js, kind) = match name.as_str() {
        "editor.js" if editor_built() => (true, "text/javascript; charset=utf-8"),
        "editor.css" if editor_built() => (false, "text/css; charset=utf-8"),
        _ => return crate::http::AppError::NotFound.into_response(),
    };
    let mut res = (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        Body::empty(),
    )
        .into_response();
    res.extensions_mut().insert(cached(js));
    res
}
