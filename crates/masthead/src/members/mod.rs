//! Reader accounts: sign-up, log-in (password or emailed link), sessions,
//! verification, password reset, change of email, the account page with
//! export and deletion, rate limits.
//!
//! No-enumeration rule: sign-up, log-in links, password reset and
//! change-of-email requests answer the same status, cookies and page
//! whether or not an account holds the address; what differs is only the
//! email that address receives.

pub mod account;
pub mod email_change;
pub mod passwords;
pub mod ratelimit;
pub mod signup;
pub mod tokens;
pub mod web;

use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::{see_other, AppError};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use masthead_core::members::MEMBER_SESSION;
use std::net::IpAddr;

/// Counts one request of `action` from the client at `ip` (its /64 for
/// IPv6). Called once per request, before the form is read.
pub fn limit_address(state: &AppState, action: &str, ip: IpAddr) -> Result<(), AppError> {
    limit_address_to(state, action, ip, ratelimit::PER_ADDRESS)
}

/// `limit_address` with its own budget.
pub fn limit_address_to(
    state: &AppState,
    action: &str,
    ip: IpAddr,
    limit: ratelimit::Limit,
) -> Result<(), AppError> {
    let now = state.now();
    let key = format!("{action}|ip|{}", ratelimit::client_key(ip));
    state
        .limiter()
        .check(&key, limit, now)
        .map_err(AppError::TooMany)
}

/// Counts one message of `action` sent to (or about) `email`.
pub fn limit_email(state: &AppState, action: &str, email: &str) -> Result<(), AppError> {
    let now = state.now();
    state
        .limiter()
        .check(
            &format!("{action}|email|{email}"),
            ratelimit::PER_EMAIL,
            now,
        )
        .map_err(AppError::TooMany)
}

/// Refuses when `who` (an email, a staff id) has spent its budget of
/// failed `action`s; counts nothing. Pair with `failed`.
pub fn limit_failures(state: &AppState, action: &str, who: &str) -> Result<(), AppError> {
    let now = state.now();
    state
        .limiter()
        .peek(&format!("{action}|email|{who}"), ratelimit::PER_EMAIL, now)
        .map_err(AppError::TooMany)
}

/// Counts one failed `action` (a wrong password or code) for `who`.
pub fn failed(state: &AppState, action: &str, who: &str) {
    let now = state.now();
    state
        .limiter()
        .record(&format!("{action}|email|{who}"), ratelimit::PER_EMAIL, now);
}

pub fn user_agent(headers: &HeaderMap) -> String {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ua.chars().take(200).collect()
}

/// Opens a new member session for `member_id` (`account::open_session_in`
/// in its own transaction) and answers with the response that sets the
/// cookie and goes to `return_to`.
pub async fn sign_in(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    member_id: i64,
    return_to: &str,
) -> Result<Response, AppError> {
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let token =
        account::open_session_in(&mut tx, viewer, &user_agent(headers), member_id, now).await?;
    masthead_store::commit(tx).await?;
    Ok(redirect_with_session(state, return_to, &token))
}

/// A 303 to `to` that sets the session cookie and clears the meter.
pub fn redirect_with_session(state: &AppState, to: &str, token: &str) -> Response {
    let secure = state.config().base_url.is_https();
    let mut res = see_other(to);
    let h = res.headers_mut();
    for c in [
        tokens::set_cookie(
            tokens::SESSION_COOKIE,
            token,
            MEMBER_SESSION.absolute,
            secure,
        ),
        tokens::clear_cookie(crate::access::meter::COOKIE, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    res
}

/// Checks the session-bound form token of a signed-in reader.
pub fn check_csrf(viewer: &Viewer, sent: &str) -> Result<(), AppError> {
    match viewer.csrf() {
        Some(t) if !sent.is_empty() && t.as_bytes() == sent.as_bytes() => Ok(()),
        _ => Err(AppError::Forbidden(
            "this form has expired; go back, reload the page and try again".into(),
        )),
    }
}

/// A handler argument: the signed-in member (a proved address), with the
/// viewer it came from; anyone else is sent to log in and come back to
/// their account.
pub struct Member {
    pub viewer: Viewer,
    pub member: masthead_store::members::Member,
}

impl axum::extract::FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let viewer = Viewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match viewer.member().cloned() {
            Some(member) => Ok(Member { viewer, member }),
            None => Err(see_other("/login?return_to=%2Faccount")),
        }
    }
}
