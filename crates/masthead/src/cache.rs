//! The in-process render cache for reader pages.
//!
//! Article pages are keyed by (article id, revision, access-decision
//! variant, settings version), never by URL alone, so a reader can only
//! ever be served bytes rendered for the same decision; a second map
//! resolves slugs to (id, revision) without a query. The pages many
//! readers share (home, sections, topics, authors, feeds, sitemaps, the
//! static pages) are keyed by (path, page number, audience, settings
//! version): any other query string maps to the same entry.
//!
//! Both kinds live in one store bounded in bytes (`[server] page_cache_mb`,
//! 16 by default), evicted one entry at a time by CLOCK (an entry read
//! since the hand last passed gets a second chance), so a crawler walking
//! `?page=1…10000` never pushes out the front page. Everything is dropped
//! when the content counter moves: a write readers can see (drafts and
//! autosaves do not move it).

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
    /// Its Content-Type (an HTML page unless made `typed`).
    pub content_type: HeaderValue,
    /// The validators of the identity, gzip and brotli forms, ready to send.
    pub etag_values: [HeaderValue; 3],
    pub gzip: OnceLock<Bytes>,
    pub brotli: OnceLock<Bytes>,
}

impl CachedPage {
    pub fn new(body: Bytes) -> CachedPage {
        CachedPage::typed(body, HeaderValue::from_static("text/html; charset=utf-8"))
    }

    pub fn typed(body: Bytes, content_type: HeaderValue) -> CachedPage {
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
            content_type,
            etag_values,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }
}

/// Which readers a shared page was built for: the inputs of its access
/// decision, never anything about one reader. Pages without gated text
/// are the same for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    Everyone,
    Anonymous,
    /// Signed in, without a grant.
    Member,
    /// Signed in, with a grant.
    Entitled,
    Staff,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedKey {
    /// The route's path as asked (`/topics/harbour`), without the query.
    pub path: String,
    pub page: u32,
    pub audience: Audience,
    pub settings_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Article(PageKey),
    Shared(SharedKey),
}

/// The default byte bound of the page store.
pub const DEFAULT_BUDGET: usize = 16 * 1024 * 1024;
/// The most slugs the slug map remembers (facts only: a few dozen bytes
/// each); past it the map starts afresh, costing one query per article.
const MAX_SLUGS: usize = 20_000;

impl CachedPage {
    /// What an entry counts against the budget: its bytes, room for its
    /// compressed forms (made on first use), and the entry itself.
    fn cost(&self) -> usize {
        self.body.len() + self.body.len() / 2 + 256
    }
}

struct Slot {
    key: Key,
    page: Arc<CachedPage>,
    cost: usize,
    referenced: bool,
}

/// Pages bounded in bytes, evicted by CLOCK.
struct Clock {
    slots: Vec<Slot>,
    index: HashMap<Key, usize>,
    hand: usize,
    bytes: usize,
    budget: usize,
}

impl Clock {
    fn new(budget: usize) -> Clock {
        Clock {
            slots: Vec::new(),
            index: HashMap::new(),
            hand: 0,
            bytes: 0,
            budget,
        }
    }

    fn get(&mut self, key: &Key) -> Option<Arc<CachedPage>> {
        let i = *self.index.get(key)?;
        let slot = &mut self.slots[i];
        slot.referenced = true;
        Some(slot.page.clone())
    }

    fn insert(&mut self, key: Key, page: Arc<CachedPage>) {
        let cost = page.cost();
        // One page never takes more than an eighth of the store.
        if cost > self.budget / 8 {
            return;
        }
        if let Some(&i) = self.index.get(&key) {
            let slot = &mut self.slots[i];
            self.bytes = self.bytes - slot.cost + cost;
            slot.page = page;
            slot.cost = cost;
            return;
        }
        while self.bytes + cost > self.budget && !self.slots.is_empty() {
            self.evict_one();
        }
        self.index.insert(key.clone(), self.slots.len());
        self.slots.push(Slot {
            key,
            page,
            cost,
            referenced: false,
        });
        self.bytes += cost;
    }

    /// Advances the hand to the first entry not read since it last
    /// passed, clearing the marks on the way, and drops it. Ends within
    /// two turns: the first clears every mark.
    fn evict_one(&mut self) {
        loop {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let slot = &mut self.slots[self.hand];
            if slot.referenced {
                slot.referenced = false;
                self.hand += 1;
                continue;
            }
            let gone = self.slots.swap_remove(self.hand);
            self.index.remove(&gone.key);
            self.bytes -= gone.cost;
            if let Some(moved) = self.slots.get(self.hand) {
                self.index.insert(moved.key.clone(), self.hand);
            }
            return;
        }
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
        self.hand = 0;
        self.bytes = 0;
    }
}

struct Maps {
    slugs: HashMap<String, (ArticleFacts, i64)>,
    pages: Clock,
    /// The content counter the maps were filled under.
    content_version: i64,
}

pub struct RenderCache {
    maps: Mutex<Maps>,
    /// Shared pages being rendered now: the first reader to miss renders,
    /// the others wait for it instead of rendering the same page at once
    /// (the moment after a change drops every page).
    rendering: Mutex<HashMap<SharedKey, Arc<tokio::sync::Mutex<()>>>>,
    /// The newest content counter seen by this process.
    content_version: AtomicI64,
}

impl Default for RenderCache {
    fn default() -> RenderCache {
        RenderCache::new(DEFAULT_BUDGET)
    }
}

impl RenderCache {
    /// A cache holding at most `budget` bytes of pages.
    pub fn new(budget: usize) -> RenderCache {
        RenderCache {
            maps: Mutex::new(Maps {
                slugs: HashMap::new(),
                pages: Clock::new(budget),
                content_version: 0,
            }),
            content_version: AtomicI64::new(0),
            rendering: Mutex::new(HashMap::new()),
        }
    }

    /// Claims the render of `key`: `Ok` for the one reader who renders it
    /// (the claim ends when the guard drops), `Err` with the lock to wait
    /// on for everyone else.
    pub fn claim(&self, key: &SharedKey) -> Result<RenderClaim<'_>, Arc<tokio::sync::Mutex<()>>> {
        let mut map = match self.rendering.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(busy) = map.get(key) {
            return Err(busy.clone());
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let Ok(guard) = lock.clone().try_lock_owned() else {
            // A lock made just now is free; never reached.
            return Err(lock);
        };
        map.insert(key.clone(), lock);
        Ok(RenderClaim {
            cache: self,
            key: key.clone(),
            _guard: guard,
        })
    }

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
        maps.pages.get(&Key::Article(key.clone()))
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
        if maps.slugs.len() >= MAX_SLUGS && !maps.slugs.contains_key(slug) {
            maps.slugs.clear();
        }
        maps.slugs.insert(slug.to_string(), (facts, key.revision));
        maps.pages.insert(Key::Article(key), page);
    }

    /// The shared page for this key, if cached.
    pub fn find_shared(&self, key: &SharedKey) -> Option<Arc<CachedPage>> {
        let mut g = self.lock();
        let maps = self.current(&mut g);
        maps.pages.get(&Key::Shared(key.clone()))
    }

    /// Stores a shared page rendered while the content counter was
    /// `version`.
    pub fn insert_shared(&self, version: i64, key: SharedKey, page: Arc<CachedPage>) {
        let mut g = self.lock();
        let maps = self.current(&mut g);
        if maps.content_version == version {
            maps.pages.insert(Key::Shared(key), page);
        }
    }

    /// Bytes held and entries, for the benchmark and the tests.
    pub fn usage(&self) -> (usize, usize) {
        let g = self.lock();
        (g.pages.bytes, g.pages.slots.len())
    }
}

/// The right to render one shared page; waiting readers go on when it
/// drops.
pub struct RenderClaim<'a> {
    cache: &'a RenderCache,
    key: SharedKey,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for RenderClaim<'_> {
    fn drop(&mut self) {
        let mut map = match self.cache.rendering.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        map.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(len: usize) -> Arc<CachedPage> {
        Arc::new(CachedPage::new(Bytes::from(vec![b'x'; len])))
    }

    fn key(path: &str, page: u32) -> SharedKey {
        SharedKey {
            path: path.to_string(),
            page,
            audience: Audience::Everyone,
            settings_version: 1,
        }
    }

    #[test]
    fn a_crawler_walking_the_pages_never_evicts_the_front_page() {
        // Room for about fifty pages of 10 kB.
        let cache = RenderCache::new(50 * (15_000 + 256));
        cache.insert_shared(0, key("/", 1), page(10_000));
        for n in 2..10_000 {
            cache.insert_shared(0, key("/", n), page(10_000));
            if n % 10 == 0 {
                assert!(cache.find_shared(&key("/", 1)).is_some(), "evicted at {n}");
            }
            let (bytes, _) = cache.usage();
            assert!(bytes <= 50 * (15_000 + 256), "over the bound at {n}");
        }
        let (_, entries) = cache.usage();
        assert!((40..=50).contains(&entries), "{entries}");
        // A page nobody reads again is gone.
        assert!(cache.find_shared(&key("/", 2)).is_none());
    }

    #[test]
    fn variants_and_versions_never_meet() {
        let cache = RenderCache::new(DEFAULT_BUDGET);
        let anonymous = SharedKey {
            audience: Audience::Anonymous,
            ..key("/feeds/rss.xml", 1)
        };
        let entitled = SharedKey {
            audience: Audience::Entitled,
            ..anonymous.clone()
        };
        cache.insert_shared(0, entitled.clone(), page(100));
        assert!(cache.find_shared(&anonymous).is_none());
        assert!(cache.find_shared(&entitled).is_some());
        // A page rendered before a newer write is not stored, and the
        // write drops what was.
        cache.saw_content_version(1);
        assert!(cache.find_shared(&entitled).is_none());
        cache.insert_shared(0, entitled.clone(), page(100));
        assert!(cache.find_shared(&entitled).is_none());
        cache.insert_shared(1, entitled.clone(), page(100));
        assert!(cache.find_shared(&entitled).is_some());
    }

    #[test]
    fn one_reader_renders_a_page_the_others_wait() {
        let cache = RenderCache::new(DEFAULT_BUDGET);
        let first = cache.claim(&key("/", 1));
        assert!(first.is_ok());
        let Err(busy) = cache.claim(&key("/", 1)) else {
            panic!("the page is being rendered: a second claim must wait");
        };
        assert!(busy.try_lock().is_err(), "a waiter waits");
        assert!(
            cache.claim(&key("/", 2)).is_ok(),
            "another page is not held up"
        );
        drop(first);
        assert!(busy.try_lock().is_ok(), "the waiter goes on");
        assert!(cache.claim(&key("/", 1)).is_ok());
    }

    #[test]
    fn a_page_too_big_for_the_store_is_not_kept_and_replacing_counts_once() {
        let cache = RenderCache::new(80_000);
        cache.insert_shared(0, key("/big", 1), page(20_000));
        assert_eq!(cache.usage(), (0, 0));
        cache.insert_shared(0, key("/a", 1), page(1000));
        cache.insert_shared(0, key("/a", 1), page(2000));
        assert_eq!(cache.usage(), (2000 + 1000 + 256, 1));
    }
}
