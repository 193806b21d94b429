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
use masthead_core::access::{decide, ArticleFacts, Channel, Outcome, Reader, ReaderKind};
use masthead_core::members::{MEMBER_SESSION, STAFF_SESSION};
use masthead_core::{AccessLevel, Decision};
use masthead_store::members::Session;

/// A reader-facing summary that varies a cached page's chrome: whether the
/// header offers "Log in" or "Your account", and the newsroom link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nav {
    pub signed_in: bool,
    pub staff: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// A member session (`masthead_session`) and its raw token.
    pub session: Option<(Session, String)>,
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

    /// The key of the server-side meter: the member, or the session for a
    /// session without an account.
    pub fn reader_key(&self) -> Option<String> {
        let (s, _) = self.session.as_ref()?;
        Some(match &s.member {
            Some(m) => format!("m{}", m.id),
            None => format!("s{}", s.id),
        })
    }

    /// The form token of a signed-in reader.
    pub fn csrf(&self) -> Option<String> {
        self.session.as_ref().map(|(_, t)| tokens::csrf_token(t))
    }

    pub fn member(&self) -> Option<&masthead_store::members::Member> {
        self.session.as_ref().and_then(|(s, _)| s.member.as_ref())
    }

    /// Resolves the cookies of a request. No cookie, no query.
    pub async fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
        let mut v = Viewer::default();
        let now = jiff::Timestamp::now().as_second();
        let db = state.db();
        if let Some(t) =
            tokens::read_cookie(headers, STAFF_COOKIE).filter(|t| tokens::well_formed(t))
        {
            if let Some(s) =
                masthead_store::members::find_session(db, &tokens::hash_token(t), "staff", now)
                    .await?
            {
                if STAFF_SESSION.alive(s.created_at, s.last_seen_at, now) {
                    if STAFF_SESSION.should_touch(s.last_seen_at, now) {
                        masthead_store::members::touch_session(db, s.id, now).await?;
                    }
                    v.staff = Some(s);
                }
            }
        }
        if let Some(t) =
            tokens::read_cookie(headers, SESSION_COOKIE).filter(|t| tokens::well_formed(t))
        {
            if let Some(s) =
                masthead_store::members::find_session(db, &tokens::hash_token(t), "member", now)
                    .await?
            {
                if MEMBER_SESSION.alive(s.created_at, s.last_seen_at, now) {
                    if MEMBER_SESSION.should_touch(s.last_seen_at, now) {
                        masthead_store::members::touch_session(db, s.id, now).await?;
                    }
                    v.session = Some((s, t.to_string()));
                }
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

/// The decision on the article page, with the meter: reads the signed-in
/// meter (one query, only for a metered article and a reader who is not
/// entitled).
pub async fn outcome(
    state: &AppState,
    viewer: &Viewer,
    article: &ArticleFacts,
) -> Result<Outcome, AppError> {
    let policy = state.settings().get().publication.policy.clone();
    let now = jiff::Timestamp::now().as_second();
    let kind = viewer.kind();
    let metered = policy.resolve(article.level, article.content_type) == AccessLevel::Metered;
    let (unlocked, counted) = match (&viewer.session, kind) {
        (Some((s, _)), ReaderKind::Member) if metered && !s.entitled => {
            let key = viewer.reader_key().unwrap_or_default();
            masthead_store::members::find_meter(
                state.db(),
                s.id,
                &key,
                article.id,
                now - policy.window_secs,
            )
            .await?
        }
        (None, ReaderKind::Anonymous) if metered => {
            (false, viewer.meter.counted(now, policy.window_secs))
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
        &policy,
        Channel::ArticlePage,
    ))
}
