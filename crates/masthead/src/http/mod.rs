//! The HTTP layer shared by every route: errors, the response finisher
//! (security headers, cache policy, ETag, compression, conditional GET,
//! themed error pages) and request logging; answers and parameters
//! (`respond`) and forms with their CSRF tokens (`forms`). Domain modules
//! take their web plumbing from here, never from each other.

pub mod forms;
mod respond;
mod routes;

pub use respond::{html, page_param, query_param, render_error, see_other, urlencode};
pub use routes::{CacheClass, Carries, Route, RouteInfo, RouteTable};

use crate::app::AppState;
use crate::cache::CachedPage;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The one error type of the HTTP layer. Handlers return it; the finisher
/// renders it as a themed page. A 5xx never shows its cause to the reader;
/// the cause is logged with the request id.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Gone(String),
    /// The change conflicts with what is stored (taken, changed since).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; the value is the seconds to wait.
    #[error("too many attempts; please wait a few minutes and try again")]
    TooMany(i64),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// Store errors keep their meaning: not found is a 404, a conflict with
/// what is stored a 409 with its reason; anything else is our bug (500).
/// Routes where a conflict would tell whether an address has an account
/// never let one reach here (their inserts do nothing on conflict).
impl From<masthead_store::StoreError> for AppError {
    fn from(e: masthead_store::StoreError) -> Self {
        match e {
            masthead_store::StoreError::NotFound(_) => AppError::NotFound,
            masthead_store::StoreError::Conflict(why) => AppError::Conflict(why),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<minijinja::Error> for AppError {
    fn from(e: minijinja::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("template: {e:#}"))
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Marks a response as an error page for the finisher to theme.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message: String,
    /// The logged cause of a 5xx; never shown.
    pub cause: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, cause) = match &self {
            AppError::Internal(e) => (
                "Something went wrong on our side. Please try again in a moment.".to_string(),
                Some(format!("{e:#}")),
            ),
            other => (other.to_string(), None),
        };
        let mut res = status.into_response();
        if let AppError::TooMany(secs) = &self {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(ErrorPage {
            status,
            message,
            cause,
        });
        res
    }
}

pub type AppResult<T = Response> = Result<T, AppError>;

/// A strong validator over the exact bytes of a representation.
pub fn etag_for(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..12]))
}

pub fn etag_with_suffix(etag: &str, suffix: &str) -> String {
    format!("{}-{suffix}\"", etag.trim_end_matches('"'))
}

/// Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110
/// asks for GET).
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    if_none_match_value(headers.get(header::IF_NONE_MATCH), etag)
}

fn if_none_match_value(value: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(v) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let want = etag.trim_start_matches("W/");
    v.split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == want)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// Picks br over gzip when the client accepts it (q > 0).
pub fn negotiate(headers: &HeaderMap) -> Encoding {
    negotiate_value(headers.get(header::ACCEPT_ENCODING))
}

fn negotiate_value(value: Option<&HeaderValue>) -> Encoding {
    let Some(v) = value.and_then(|v| v.to_str().ok()) else {
        return Encoding::Identity;
    };
    let mut gzip = false;
    let mut br = false;
    for part in v.split(',') {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        match name.as_str() {
            "br" => br = true,
            "gzip" | "x-gzip" => gzip = true,
            _ => {}
        }
    }
    if br {
        Encoding::Brotli
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

pub fn gzip(bytes: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    Bytes::from(enc.finish().unwrap_or_default())
}

pub fn brotli(bytes: &[u8], quality: u32) -> Bytes {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 16 * 1024, quality, 22);
        let _ = w.write_all(bytes);
    }
    Bytes::from(out)
}

/// A handler that says `public` answers the same whoever asks (the
/// stylesheet, media files, the editor bundle): cookies on the request do
/// not make its answer private.
fn declared_public(v: Option<&HeaderValue>) -> bool {
    v.and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("public"))
}

/// A JSON answer written for a script (the editor's autosave) keeps its body.
fn is_json(v: Option<&HeaderValue>) -> bool {
    v.and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}

fn is_html(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

fn compressible(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("text/")
                || ct.starts_with("application/json")
                || ct.starts_with("application/xml")
                || ct.starts_with("application/rss+xml")
                || ct.starts_with("application/atom+xml")
                || ct.starts_with("application/javascript")
        })
}

/// The client address: the peer, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
/// Several header lines form one list (RFC 9110 §5.3): a proxy that adds
/// its own line after the client's forged one is read last line first.
/// An entry that is not an address stops the walk at the last proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let lines: Vec<&HeaderValue> = headers.get_all("x-forwarded-for").iter().collect();
    let mut addr = peer;
    for value in lines.into_iter().rev() {
        let Ok(s) = value.to_str() else { return addr };
        for part in s.rsplit(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) if trusted.contains(&ip) => addr = ip,
                Ok(ip) => return ip,
                Err(_) => return addr,
            }
        }
    }
    addr
}

/// The path as it may appear in a log: no query string, and any long
/// token-like segment masked.
pub fn loggable_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if crate::members::tokens::well_formed(seg)
                || seg.len() >= 24
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
                    && seg.bytes().any(|b| b.is_ascii_digit())
                    && seg.contains(|c: char| c.is_ascii_uppercase() || c == '_')
            {
                ":token"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

/// The Content-Security-Policy. The reader site runs no script at all;
/// the newsroom (`admin`) runs only its own bundled scripts (the editor)
/// and may talk to its own origin (autosave). `form-action` also lists
/// Stripe's Checkout and Billing Portal origins when Stripe is configured:
/// browsers apply it to the redirect that follows a form POST.
pub fn csp(stripe: &crate::config::StripeConfig, admin: bool) -> HeaderValue {
    let mut form_action = String::from("'self'");
    if stripe.secret_key.is_some() {
        if stripe.api_base == crate::config::STRIPE_API_BASE {
            form_action.push_str(" https://checkout.stripe.com https://billing.stripe.com");
        } else {
            // A stand-in serves its own checkout pages.
            form_action.push(' ');
            form_action.push_str(origin_of(&stripe.api_base));
        }
    }
    // The reader site runs no script, so `connect-src 'self'` costs
    // nothing and lets audit tools (Lighthouse) read robots.txt.
    let scripts = if admin {
        "script-src 'self'; connect-src 'self'"
    } else {
        "script-src 'none'; connect-src 'self'"
    };
    let text = format!(
        "default-src 'none'; img-src 'self' data:; style-src 'self'; {scripts}; \
         font-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("default-src 'none'"))
}

/// Cookies that make a response reader-specific.
const READER_COOKIES: &[&str] = &["masthead_session", "masthead_meter", "masthead_staff"];

fn has_reader_cookie(headers: &HeaderMap) -> bool {
    headers.get_all(header::COOKIE).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(';').any(|c| {
                let name = c.trim().split('=').next().unwrap_or("");
                READER_COOKIES.contains(&name)
            })
        })
    })
}

/// Whether a request may proceed: every request that is not GET, HEAD or
/// OPTIONS must come from this site, as told by `Sec-Fetch-Site` (sent by
/// every current browser) or, failing that, `Origin`. Requests with
/// neither (command-line clients) pass here; signed-in forms also carry a
/// session-bound token checked by their handlers. Routes that authenticate
/// another way (a signed webhook, one-click unsubscribe) are listed in
/// `CROSS_SITE_ALLOWED`. Called by `finish`, so it costs no extra layer.
fn same_origin(base: &str, req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let headers = req.headers();
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    match site.as_deref() {
        Some("same-origin") | Some("none") => true,
        Some(_) => false,
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            Some(origin) => origin == origin_of(base),
            None => true,
        },
    }
}

/// The client's address as a handler argument: the peer, or, behind a
/// trusted proxy, the address it reports (`client_ip`). For rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no peer address on the request")))?;
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.config().trusted_proxies,
        )))
    }
}

/// `scheme://host[:port]` of a base URL.
pub fn origin_of(base: &str) -> &str {
    let after = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[after..].find('/') {
        Some(i) => &base[..after + i],
        None => base,
    }
}

/// Finishes every response. See the module docs.
pub async fn finish(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let log = state.config().log_requests;
    // The clock is read only for the request log.
    let started = log.then(Instant::now);
    let id = REQUEST_SEQ.fetch_add(1, Ordering::Relaxed);
    let method = req.method().clone();
    // Keep only what the response needs from the request: cloning the
    // whole header map would cost more than serving a cached page.
    let path = if log {
        req.uri().path().to_string()
    } else {
        String::new()
    };
    let conditions = Conditions {
        if_none_match: req.headers().get(header::IF_NONE_MATCH).cloned(),
        accept_encoding: req.headers().get(header::ACCEPT_ENCODING).cloned(),
    };
    // The route's declaration (`http::Route`); a path no route takes is a
    // 404 page with the defaults.
    let route = state.route_table().find(req.uri().path());
    let cache_class = route.map_or(CacheClass::Shared, |r| r.cache);
    // Credentials make an answer one person's, whatever it says.
    let reader_specific =
        has_reader_cookie(req.headers()) || req.headers().contains_key(header::AUTHORIZATION);
    // Machine endpoints keep their plain answers (Stripe shows them).
    let machine = route.is_some_and(|r| r.machine);
    let cross_site_ok = route.is_some_and(|r| r.cross_site);
    let streams = route.is_some_and(|r| r.streams);
    let cors = route.is_some_and(|r| r.cors);
    let admin = req.uri().path().starts_with("/admin");
    if cors && method == Method::OPTIONS {
        return cors_preflight();
    }

    let mut res = if cross_site_ok || same_origin(state.config().base_url.as_str(), &req) {
        next.run(req).await
    } else {
        AppError::Forbidden(
            "this form was sent from another site, so it was refused; go back, reload the page and try again".into(),
        )
        .into_response()
    };

    if let Some(page) = res.extensions_mut().remove::<ErrorPage>() {
        if let Some(cause) = &page.cause {
            tracing::error!(request_id = id, path = %loggable_path(&path), cause = %cause, "request failed");
        }
        let retry = res.headers().get(header::RETRY_AFTER).cloned();
        res = crate::http::render_error(&state, page.status, &page.message);
        if let Some(retry) = retry {
            res.headers_mut().insert(header::RETRY_AFTER, retry);
        }
    } else if (res.status().is_client_error() || res.status().is_server_error())
        && !is_html(res.headers().get(header::CONTENT_TYPE))
        && !is_json(res.headers().get(header::CONTENT_TYPE))
        && !machine
    {
        // A rejection from the framework itself (a path or query that does
        // not decode, a method not allowed): theme it like any other error.
        let status = res.status();
        let message = match status {
            StatusCode::NOT_FOUND => "page not found",
            StatusCode::METHOD_NOT_ALLOWED => "this address does not accept that method",
            s if s.is_server_error() => {
                "Something went wrong on our side. Please try again in a moment."
            }
            _ => "the request could not be understood; check the address and try again",
        };
        let allow = res.headers().get(header::ALLOW).cloned();
        res = crate::http::render_error(&state, status, message);
        if let Some(allow) = allow {
            res.headers_mut().insert(header::ALLOW, allow);
        }
    }

    let status = res.status();
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, state.csp(admin));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if cors {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    if state.config().base_url.is_https() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        let shared = status.is_success()
            && cache_class == CacheClass::Shared
            && !reader_specific
            && !h.contains_key(header::SET_COOKIE);
        let policy = if shared {
            "public, max-age=60"
        } else if status.is_success() || status.is_redirection() {
            "private, no-cache"
        } else {
            "no-store"
        };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    } else if h.get(header::CACHE_CONTROL) != Some(&HeaderValue::from_static("no-store"))
        && (h.contains_key(header::SET_COOKIE)
            || cache_class == CacheClass::Private
            || (reader_specific && !declared_public(h.get(header::CACHE_CONTROL))))
    {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }

    let res = if status == StatusCode::OK
        && (method == Method::GET || method == Method::HEAD)
        && !streams
    {
        encode_and_validate(res, &conditions).await
    } else {
        res
    };
    if log {
        tracing::info!(
            request_id = id,
            method = %method,
            path = %loggable_path(&path),
            status = res.status().as_u16(),
            micros = started.map_or(0, |t| t.elapsed().as_micros() as u64),
            "request"
        );
    }
    res
}

/// The answer to a CORS preflight on a route that answers CORS: reads
/// only, no credentials, remembered for a day.
fn cors_preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD"),
            // Ghost's clients send Accept-Version, which needs a preflight.
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Accept-Version, Content-Type",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
    )
        .into_response()
}

/// Adds the ETag, picks an encoding, and answers 304 when the client's copy
/// is current. The ETag names the bytes actually sent: each encoding has its
/// own.
/// The request headers that shape the response body.
struct Conditions {
    if_none_match: Option<HeaderValue>,
    accept_encoding: Option<HeaderValue>,
}

async fn encode_and_validate(res: Response, req: &Conditions) -> Response {
    let (mut parts, body) = res.into_parts();
    let cached = parts.extensions.remove::<Arc<CachedPage>>();
    let bytes = match &cached {
        Some(page) => page.body.clone(),
        None => match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
            Ok(b) => b,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    // A cached page carries its validators ready-made; anything else gets
    // one over its identity bytes (or keeps the handler's).
    let identity_etag = match (&cached, parts.headers.get(header::ETAG)) {
        (Some(_), _) => None,
        (None, Some(e)) => Some(e.to_str().unwrap_or_default().to_string()),
        (None, None) => Some(etag_for(&bytes)),
    };
    let can_compress = compressible(parts.headers.get(header::CONTENT_TYPE)) && bytes.len() > 512;
    let encoding = if can_compress {
        negotiate_value(req.accept_encoding.as_ref())
    } else {
        Encoding::Identity
    };
    let (sent, slot, suffix) = match encoding {
        Encoding::Identity => (bytes, 0, None),
        Encoding::Gzip => {
            let b = match &cached {
                Some(p) => p.gzip.get_or_init(|| gzip(&p.body)).clone(),
                None => gzip(&bytes),
            };
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (b, 1, Some("gz"))
        }
        Encoding::Brotli => {
            let b = match &cached {
                Some(p) => p.brotli.get_or_init(|| brotli(&p.body, 9)).clone(),
                None => brotli(&bytes, 5),
            };
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            (b, 2, Some("br"))
        }
    };
    // The body depends on the reader's cookies (the access decision) and,
    // when compressible, on Accept-Encoding: say so to shared caches.
    parts.headers.insert(
        header::VARY,
        HeaderValue::from_static(if can_compress {
            "Accept-Encoding, Cookie"
        } else {
            "Cookie"
        }),
    );
    let etag_value = match (&cached, identity_etag) {
        (Some(page), _) => Some(page.etag_values[slot].clone()),
        (None, Some(tag)) => {
            let tag = match suffix {
                Some(s) => etag_with_suffix(&tag, s),
                None => tag,
            };
            HeaderValue::from_str(&tag).ok()
        }
        (None, None) => None,
    };
    let current = etag_value
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tag| if_none_match_value(req.if_none_match.as_ref(), tag));
    if let Some(v) = etag_value {
        parts.headers.insert(header::ETAG, v);
    }
    if current {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [
            header::ETAG,
            header::CACHE_CONTROL,
            header::VARY,
            header::CONTENT_SECURITY_POLICY,
            header::X_CONTENT_TYPE_OPTIONS,
            header::EXPIRES,
        ] {
            if let Some(v) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        return not_modified;
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                *k,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn brotli_wins_over_gzip_and_q0_refuses() {
        assert_eq!(
            negotiate(&headers(&[("accept-encoding", "gzip, br")])),
            Encoding::Brotli
        );
        assert_eq!(
            negotiate(&headers(&[("accept-encoding", "gzip, br;q=0")])),
            Encoding::Gzip
        );
        assert_eq!(
            negotiate(&headers(&[("accept-encoding", "deflate")])),
            Encoding::Identity
        );
        assert_eq!(negotiate(&headers(&[])), Encoding::Identity);
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists() {
        let h = headers(&[("if-none-match", "\"a\", W/\"b\"")]);
        assert!(if_none_match(&h, "\"b\""));
        assert!(!if_none_match(&h, "\"c\""));
        assert!(if_none_match(&headers(&[("if-none-match", "*")]), "\"x\""));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.1")]);
        assert_eq!(client_ip(proxy, &h, &[proxy]).to_string(), "203.0.113.9");
        assert_eq!(client_ip(proxy, &h, &[]), proxy);
        let spoof = headers(&[("x-forwarded-for", "nonsense")]);
        assert_eq!(client_ip(proxy, &spoof, &[proxy]), proxy);
        // HAProxy's `option forwardfor` appends its own line after the
        // client's forged one: the proxy's line is the one believed.
        let two_lines = headers(&[
            ("x-forwarded-for", "198.51.100.66"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_ip(proxy, &two_lines, &[proxy]).to_string(),
            "203.0.113.9"
        );
        let merged = headers(&[("x-forwarded-for", "198.51.100.66, 203.0.113.9")]);
        assert_eq!(
            client_ip(proxy, &merged, &[proxy]).to_string(),
            "203.0.113.9"
        );
        // A chain of trusted proxies is skipped, line by line.
        let inner: IpAddr = "10.0.0.2".parse().unwrap_or(proxy);
        let chain = headers(&[
            ("x-forwarded-for", "198.51.100.66, 203.0.113.9"),
            ("x-forwarded-for", "10.0.0.2"),
        ]);
        assert_eq!(
            client_ip(proxy, &chain, &[proxy, inner]).to_string(),
            "203.0.113.9"
        );
    }

    #[test]
    fn store_errors_keep_their_meaning() {
        use masthead_store::StoreError;
        let status = |e: StoreError| AppError::from(e).status().as_u16();
        assert_eq!(status(StoreError::NotFound("article")), 404);
        assert_eq!(status(StoreError::Conflict("slug taken".into())), 409);
        assert_eq!(status(StoreError::Corrupt("bad row".into())), 500);
        assert_eq!(
            status(StoreError::Database(sqlx::Error::RowNotFound)),
            500,
            "a query's own failure is our bug"
        );
    }

    #[test]
    fn logs_never_show_tokens() {
        assert_eq!(
            loggable_path("/unsubscribe/AbC123_def456GHI789jkl012mno"),
            "/unsubscribe/:token"
        );
        assert_eq!(
            loggable_path("/council-approves-harbour-seawall-plan-2026"),
            "/council-approves-harbour-seawall-plan-2026"
        );
    }

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin_of("https://news.example.com/x"),
            "https://news.example.com"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn compressed_representations_have_their_own_etags() {
        assert_eq!(etag_with_suffix("\"abc\"", "br"), "\"abc-br\"");
    }
}
