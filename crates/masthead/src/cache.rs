//! The in-process render cache for article pages.
//!
//! An entry is keyed by (article id, revision, access-decision variant,
//! settings version, theme version), never by URL alone, so a reader can
//! only ever be served bytes rendered for the same decision. A second map
//! resolves slugs to (id, revision) without a query; both are dropped
//! whenever the content counter moves.

use axum::http::HeaderValue;
use bytes::Bytes;
use masthead_core::access::{ArticleFacts, Gate};
use masthead_core::Decision;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub article_id: i64,
    pub revision: i64,
    pub variant: Variant,
    pub settings_version: i64,
}

/// What a rendered article page depends on besides the article: the
/// decision, the offer it shows, and whether the reader is signed in (a
/// signed-in reader is not offered a sign-up). A handful of values, never
/// anything about one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    pub decision: Decision,
    pub gate: Option<Gate>,
    pub signed_in: bool,
}

/// A rendered page with its validator and lazily compressed forms.
#[derive(Debug)]
pub struct CachedPage {
    pub body: Bytes,
    /// The validators of the identity, gzip and brotli forms, ready to send.
    pub etag_values: [HeaderValue; 3],
    pub gzip: OnceLock<Bytes>,
    pub brotli: OnceLock<Bytes>,
}

impl CachedPage {
    pub fn new(body: Bytes) -> CachedPage {
        let etag = crate::http::etag_for(&body);
        let value = |suffix: &str| {
            let tag = if suffix.is_empty() {
                etag.clone()
            } else {
                crate::http::etag_with_suffix(&etag, suffix)
            };
            HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"x\""))
        };
        let etag_values = [value(""), value("gz"), value("br")];
        CachedPage {
            body,
            etag_values,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }
}

const MAX_ENTRIES: usize = 2048;

#[derive(Default)]
struct Maps {
    slugs: HashMap<String, (ArticleFacts, i64)>,
    pages: HashMap<PageKey, Arc<CachedPage>>,
    /// The content counter the maps were filled under.
    content_version: i64,
}

#[derive(Default)]
pub struct RenderCache {
    maps: Mutex<Maps>,
    /// The newest content counter seen by this process.
    content_version: AtomicI64,
}

impl RenderCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        match self.maps.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Records a newer content counter; the next lookup starts afresh.
    pub fn saw_content_version(&self, v: i64) {
        self.content_version.fetch_max(v, Ordering::AcqRel);
    }

    pub fn content_version(&self) -> i64 {
        self.content_version.load(Ordering::Acquire)
    }

    fn current<'a>(&self, maps: &'a mut Maps) -> &'a mut Maps {
        let v = self.content_version();
        if maps.content_version != v {
            maps.slugs.clear();
            maps.pages.clear();
            maps.content_version = v;
        }
        maps
    }

    /// What the access decision needs about the article at `slug`, and
    /// its revision, if cached: no query on the hot path.
    pub fn lookup(&self, slug: &str) -> Option<(ArticleFacts, i64)> {
        let mut g = self.lock();
        let maps = self.current(&mut g);
        maps.slugs.get(slug).copied()
    }

    /// The page rendered for this key, if cached.
    pub fn find(&self, key: &PageKey) -> Option<Arc<CachedPage>> {
        let mut g = self.lock();
        let maps = self.current(&mut g);
        maps.pages.get(key).cloned()
    }

    /// Stores a page rendered while the content counter was `version`; a
    /// page rendered before a newer write is not stored.
    pub fn insert(
        &self,
        version: i64,
        slug: &str,
        facts: ArticleFacts,
        key: PageKey,
        page: Arc<CachedPage>,
    ) {
        let mut g = self.lock();
        let maps = self.current(&mut g);
        if maps.content_version != version {
            return;
        }
        if maps.pages.len() >= MAX_ENTRIES {
            maps.pages.clear();
            maps.slugs.clear();
        }
        maps.slugs.insert(slug.to_string(), (facts, key.revision));
        maps.pages.insert(key, page);
    }
}
