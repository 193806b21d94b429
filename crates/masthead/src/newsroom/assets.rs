//! The rich-text editor's bundle, built by `build.rs` from `editor/` and
//! embedded in the binary (no CDN, nothing fetched at run time). Empty when
//! Node.js was absent at build time: the editor page then says so and
//! offers the Markdown editor.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

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

/// `GET /admin/assets/{name}`: the bundle and its stylesheet.
pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "editor.js" if editor_built() => (JS, "text/javascript; charset=utf-8"),
        "editor.css" if editor_built() => (CSS, "text/css; charset=utf-8"),
        _ => return crate::http::AppError::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
