//! Who is reading: the reader state behind a request's cookies, and the
//! access decision for it. Handlers take a `Viewer` as an extractor and
//! ask `outcome` (article page) or `decision` (every other channel).

use super::meter::{self, MeterState};
use crate::app::AppState;
use crate::http::AppError;
use crate::members::tokens::{self, SESSION_COOKIE, STAFF_COOKIE};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use masthead_core::access::Policy;
use masthead_core::access::{decide, ArticleFacts, Channel, Outcome, Reader, ReaderKind};
use masthead_core::members::{MEMBER_SESSION, STAFF_SESSION};
use masthead_core::{AccessLevel, Decision};
use masthead_store::members::{MemberMeter, Session};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a session read from the database is trusted before it is read
/// again: the backstop for the member meter (views counted by another
/// process). Changes to sessions, members, staff and grants do not wait for
/// it: the store bumps the `sessions` counter in the transaction of the
/// change, so this process drops what it holds at once
/// (`masthead_store::settings::sessions_generation`) and every other
/// process at its next poll of the counter (a second).
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
const SESSION_CACHE_MAX: usize = 20_000;

/// A session and its signed-in meter, as last read.
pub struct CachedSession {
    loaded: Instant,
    /// The cache's generation when the read began.
    generation: i64,
    pub session: Session,
    meter: Mutex<Option<MemberMeter>>,
}

impl CachedSession {
    fn meter(&self) -> Option<MemberMeter> {
        match self.meter.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set_meter(&self, m: MemberMeter) {
        match self.meter.lock() {
            Ok(mut g) => *g = Some(m),
            Err(p) => *p.into_inner() = Some(m),
        }
    }

    /// Records a view this process just counted in the database.
    pub fn counted(&self, article_id: i64, at: i64) {
        let mut g = match self.meter.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(m) = g.as_mut() {
            m.counted.retain(|(id, _)| *id != article_id);
            m.counted.push((article_id, at));
        }
    }
}

/// Sessions by (kind, token hash), bounded; see `SESSION_CACHE_TTL`.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<(bool, String), Arc<CachedSession>>>,
    /// Moves of the stored `sessions` counter seen by the poll (changes by
    /// any process).
    polled: std::sync::atomic::AtomicI64,
    /// The stored counter's value at the last poll.
    seen: std::sync::atomic::AtomicI64,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(bool, String), Arc<CachedSession>>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The generation entries must have been read in to be used: this
    /// process's writes to sessions plus the poll's sightings of others'.
    pub fn generation(&self) -> i64 {
        use std::sync::atomic::Ordering;
        masthead_store::settings::sessions_generation() + self.polled.load(Ordering::Acquire)
    }

    /// The poll saw the stored `sessions` counter at `value`: entries read
    /// before a move are dropped.
    pub fn saw_counter(&self, value: i64) {
        use std::sync::atomic::Ordering;
        if self.seen.swap(value, Ordering::AcqRel) != value {
            self.polled.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn get(&self, staff: bool, hash: &str) -> Option<Arc<CachedSession>> {
        let current = self.generation();
        let map = self.lock();
        let e = map.get(&(staff, hash.to_string()))?;
        (e.generation == current && e.loaded.elapsed() < SESSION_CACHE_TTL).then(|| e.clone())
    }

    fn put(
        &self,
        staff: bool,
        hash: &str,
        session: Session,
        generation: i64,
    ) -> Arc<CachedSession> {
        let entry = Arc::new(CachedSession {
            generation,
            loaded: Instant::now(),
            session,
            meter: Mutex::new(None),
        });
        let mut map = self.lock();
        if map.len() >= SESSION_CACHE_MAX {
            map.retain(|_, e| e.loaded.elapsed() < SESSION_CACHE_TTL);
            if map.len() >= SESSION_CACHE_MAX {
                map.clear();
            }
        }
        map.insert((staff, hash.to_string()), entry.clone());
        entry
    }

    /// Forgets every cached session (a test that writes to the database
    /// behind the store's back).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

async fn load_session(
    state: &AppState,
    token: &str,
    staff: bool,
    now: i64,
) -> Result<Option<Arc<CachedSession>>, AppError> {
    let hash = tokens::hash_token(token);
    let cache = state.sessions();
    if let Some(e) = cache.get(staff, &hash) {
        return Ok(Some(e));
    }
    // Taken before the read: a change committed while reading leaves this
    // entry stale, never the cache fresh with old state.
    let generation = cache.generation();
    let db = state.db();
    let kind = if staff { "staff" } else { "member" };
    let life = if staff { STAFF_SESSION } else { MEMBER_SESSION };
    let Some(s) = masthead_store::members::find_session(db, &hash, kind, now).await? else {
        return Ok(None);
    };
    if !life.alive(s.created_at, s.last_seen_at, now) {
        return Ok(None);
    }
    if life.should_touch(s.last_seen_at, now) {
        masthead_store::members::touch_session(db, s.id, now).await?;
    }
    Ok(Some(cache.put(staff, &hash, s, generation)))
}

/// A reader-facing summary that varies a cached page's chrome: whether the
/// header offers "Log in" or "Your account", and the newsroom link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nav {
    pub signed_in: bool,
    pub staff: bool,
}

#[derive(Clone, Default)]
pub struct Viewer {
    /// A member session (`masthead_session`) and its raw token.
    pub session: Option<(Session, String)>,
    /// The cache entry behind `session`, holding its meter.
    pub cached: Option<Arc<CachedSession>>,
    /// A staff session (`masthead_staff`).
    pub staff: Option<Session>,
    /// The anonymous meter (empty when signed in).
    pub meter: MeterState,
    /// The request carried a meter cookie.
    pub had_meter: bool,
}

impl Viewer {
    pub fn kind(&self) -> ReaderKind {
        if self.staff.is_some() {
            ReaderKind::Staff
        } else if self.session.is_some() {
            ReaderKind::Member
        } else {
            ReaderKind::Anonymous
        }
    }

    pub fn nav(&self) -> Nav {
        Nav {
            signed_in: self.session.is_some(),
            staff: self.staff.is_some(),
        }
    }

    pub fn entitled(&self) -> bool {
        self.session.as_ref().is_some_and(|(s, _)| s.entitled)
    }

    /// The key of the server-side meter: the member, or the session while
    /// it is pending (see `member`).
    pub fn reader_key(&self) -> Option<String> {
        let (s, _) = self.session.as_ref()?;
        Some(match self.member() {
            Some(m) => format!("m{}", m.id),
            None => format!("s{}", s.id),
        })
    }

    /// The form token of a signed-in reader.
    pub fn csrf(&self) -> Option<String> {
        self.session.as_ref().map(|(_, t)| tokens::csrf_token(t))
    }

    /// The member behind the session, once their address is proved. A
    /// session from a sign-up whose address is not yet proved, or from a
    /// sign-up with an address that already has an account, is *pending*:
    /// it reads the article it signed up from and the member meter, and
    /// every other page treats it alike, so neither kind can be told from
    /// the other (no enumeration) and nothing of an account is reachable
    /// before its address is proved (no pre-registration).
    pub fn member(&self) -> Option<&masthead_store::members::Member> {
        self.session
            .as_ref()
            .and_then(|(s, _)| s.member.as_ref())
            .filter(|m| m.verified)
    }

    /// A signed-in reader whose session is pending (see `member`).
    pub fn pending(&self) -> bool {
        self.session.is_some() && self.member().is_none()
    }

    /// The id of the member session, pending or not.
    pub fn session_id(&self) -> Option<i64> {
        self.session.as_ref().map(|(s, _)| s.id)
    }

    /// Resolves the cookies of a request. No cookie, no query; a known
    /// session, no query for a few seconds.
    pub async fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
        let mut v = Viewer::default();
        let now = state.now();
        if let Some(t) =
            tokens::read_cookie(headers, STAFF_COOKIE).filter(|t| tokens::well_formed(t))
        {
            v.staff = load_session(state, t, true, now)
                .await?
                .map(|e| e.session.clone());
        }
        if let Some(t) =
            tokens::read_cookie(headers, SESSION_COOKIE).filter(|t| tokens::well_formed(t))
        {
            if let Some(e) = load_session(state, t, false, now).await? {
                let mut session = e.session.clone();
                // A cached session stays entitled only until its grants end.
                session.entitled = session.entitled_until.is_some_and(|u| u > now);
                v.session = Some((session, t.to_string()));
                v.cached = Some(e);
            }
        }
        if v.session.is_none() {
            if let Some(c) = tokens::read_cookie(headers, meter::COOKIE) {
                v.had_meter = true;
                v.meter = MeterState::decode(c, &state.meter_keys());
            }
        }
        Ok(v)
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Viewer::from_headers(state, &parts.headers).await
    }
}

/// The decision for any channel but the article page: no meter, no
/// per-article unlocks; a metered article is for entitled readers only.
pub fn decision(state: &AppState, viewer: &Viewer, article: &ArticleFacts) -> Decision {
    let policy = &state.settings().get().publication.policy;
    decide(
        article,
        &Reader {
            kind: viewer.kind(),
            entitled: viewer.entitled(),
            unlocked: false,
            counted: &[],
        },
        policy,
        Channel::Other,
    )
    .decision
}

/// The decision for a reader nobody knows, whoever asks: the Content API
/// is anonymous by design (its key ships in front-end code) and spends no
/// meter, so a metered, registered or subscriber article shows its preview.
pub fn anonymous_decision(state: &AppState, article: &ArticleFacts) -> Decision {
    let policy = &state.settings().get().publication.policy;
    decide(
        article,
        &Reader {
            kind: ReaderKind::Anonymous,
            entitled: false,
            unlocked: false,
            counted: &[],
        },
        policy,
        Channel::Other,
    )
    .decision
}

/// The decision on the article page for a reader without a member session
/// (anonymous, or staff): the meter is the cookie's, no I/O.
pub fn anonymous_outcome(
    policy: &Policy,
    viewer: &Viewer,
    article: &ArticleFacts,
    now: i64,
) -> Outcome {
    let counted = if viewer.staff.is_none()
        && policy.resolve(article.level, article.content_type) == AccessLevel::Metered
    {
        viewer.meter.counted(now, policy.window_secs)
    } else {
        Vec::new()
    };
    decide(
        article,
        &Reader {
            kind: viewer.kind(),
            entitled: false,
            unlocked: false,
            counted: &counted,
        },
        policy,
        Channel::ArticlePage,
    )
}

/// The decision on the article page, with the meter: the signed-in meter
/// is read once per session and kept with it in the session cache.
pub async fn outcome(
    state: &AppState,
    policy: &Policy,
    viewer: &Viewer,
    article: &ArticleFacts,
) -> Result<Outcome, AppError> {
    if viewer.session.is_none() {
        return Ok(anonymous_outcome(policy, viewer, article, state.now()));
    }
    let now = state.now();
    let kind = viewer.kind();
    let metered = policy.resolve(article.level, article.content_type) == AccessLevel::Metered;
    let since = now - policy.window_secs;
    let (unlocked, counted) = match (&viewer.session, kind) {
        (Some((s, _)), ReaderKind::Member) if metered && !s.entitled => {
            let m = match viewer.cached.as_ref().and_then(|c| c.meter()) {
                Some(m) => m,
                None => {
                    let key = viewer.reader_key().unwrap_or_default();
                    let m =
                        masthead_store::members::find_meter(state.db(), s.id, &key, since).await?;
                    if let Some(c) = &viewer.cached {
                        c.set_meter(m.clone());
                    }
                    m
                }
            };
            let counted: Vec<i64> = m
                .counted
                .iter()
                .filter(|(_, at)| *at > since)
                .map(|(id, _)| *id)
                .collect();
            (m.unlocked.contains(&article.id), counted)
        }
        _ => (false, Vec::new()),
    };
    Ok(decide(
        article,
        &Reader {
            kind,
            entitled: viewer.entitled(),
            unlocked,
            counted: &counted,
        },
        policy,
        Channel::ArticlePage,
    ))
}
