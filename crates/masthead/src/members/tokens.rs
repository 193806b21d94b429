//! Random tokens for sessions and emailed links, and the cookies that carry
//! sessions. Only a token's SHA-256 is ever stored.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "masthead_session";
pub const STAFF_COOKIE: &str = "masthead_staff";

/// A new random 256-bit token: (what the browser or the email holds, what
/// the database stores).
pub fn new_token() -> (String, String) {
    let raw: [u8; 32] = rand::random();
    let token = B64.encode(raw);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a string could be one of our tokens (43 base64url characters);
/// anything else is refused before touching the database.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The form token bound to a session: derived from the session's secret,
/// so a page from another site cannot know it.
pub fn csrf_token(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"masthead-csrf\0");
    h.update(session_token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// A cookie's value from the request, if present once and well formed.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    // The staff cookie is never sent on a request started by another site
    // (Strict); readers' cookies follow links from elsewhere (Lax).
    let same_site = if name == STAFF_COOKIE {
        "Strict"
    } else {
        "Lax"
    };
    format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(well_formed(&a));
        assert_eq!(ha, hash_token(&a));
        assert_ne!(ha, a);
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}!", &a[..42])));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("masthead_sessionx=1; masthead_session=abc; other=2"),
        );
        assert_eq!(read_cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(read_cookie(&h, STAFF_COOKIE), None);
        let c = set_cookie(SESSION_COOKIE, "v", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a"), csrf_token("a"));
    }
}
