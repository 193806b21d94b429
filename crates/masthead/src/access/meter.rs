//! The anonymous reader's meter: a signed cookie holding the metered
//! articles counted in the current window and when.
//!
//! Format: `v1.<key id>.<payload>.<signature>`, payload and signature
//! base64url; the payload is `id:time` pairs joined by `,`. Anything that
//! does not verify — forged, truncated, oversized, signed with an unknown
//! key — is read as a fresh meter, never as an error. Clearing cookies
//! resets it; it carries nothing but article ids and times.

use super::keys::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

pub const COOKIE: &str = "masthead_meter";
/// Cookies longer than this are ignored unread.
pub const MAX_COOKIE_LEN: usize = 1024;
/// Entries kept at most (the oldest drop first).
pub const MAX_ENTRIES: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterState {
    /// (article id, counted at) in the window, oldest first.
    pub entries: Vec<(i64, i64)>,
}

impl MeterState {
    /// The ids counted within the window ending at `now`.
    pub fn counted(&self, now: i64, window: i64) -> Vec<i64> {
        self.entries
            .iter()
            .filter(|(_, at)| *at > now - window && *at <= now + 60)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Records a counted view, forgetting what has left the window.
    pub fn count(&mut self, article_id: i64, now: i64, window: i64) {
        self.entries
            .retain(|(_, at)| *at > now - window && *at <= now + 60);
        if !self.entries.iter().any(|(id, _)| *id == article_id) {
            self.entries.push((article_id, now));
        }
        if self.entries.len() > MAX_ENTRIES {
            let excess = self.entries.len() - MAX_ENTRIES;
            self.entries.drain(..excess);
        }
    }

    pub fn encode(&self, keys: &KeyRing) -> Option<String> {
        let payload = self
            .entries
            .iter()
            .map(|(id, at)| format!("{id}:{at}"))
            .collect::<Vec<_>>()
            .join(",");
        let payload = B64.encode(payload.as_bytes());
        let (kid, sig) = keys.sign(payload.as_bytes())?;
        Some(format!("v1.{kid}.{payload}.{}", B64.encode(sig)))
    }

    /// Reads a cookie value; anything invalid is a fresh meter.
    pub fn decode(value: &str, keys: &KeyRing) -> MeterState {
        Self::try_decode(value, keys).unwrap_or_default()
    }

    fn try_decode(value: &str, keys: &KeyRing) -> Option<MeterState> {
        if value.len() > MAX_COOKIE_LEN {
            return None;
        }
        let mut parts = value.split('.');
        let (version, kid, payload, sig) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "v1" || parts.next().is_some() {
            return None;
        }
        let sig = B64.decode(sig).ok()?;
        if !keys.verify(kid, payload.as_bytes(), &sig) {
            return None;
        }
        let text = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let mut entries = Vec::new();
        for pair in text.split(',').filter(|p| !p.is_empty()) {
            let (id, at) = pair.split_once(':')?;
            entries.push((id.parse().ok()?, at.parse().ok()?));
            if entries.len() > MAX_ENTRIES {
                return None;
            }
        }
        Some(MeterState { entries })
    }
}

/// The `Set-Cookie` value for a meter.
pub fn set_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: i64 = 30 * 86_400;

    fn keys() -> KeyRing {
        KeyRing::new(
            "meter",
            vec![("k1".into(), b"0123456789abcdef0123456789abcdef".to_vec())],
        )
    }

    #[test]
    fn a_meter_round_trips_through_its_cookie() {
        let mut m = MeterState::default();
        m.count(7, 1_000_000, WINDOW);
        m.count(9, 1_000_100, WINDOW);
        m.count(7, 1_000_200, WINDOW);
        let cookie = m.encode(&keys()).unwrap();
        assert_eq!(MeterState::decode(&cookie, &keys()), m);
        assert_eq!(m.counted(1_000_300, WINDOW), vec![7, 9]);
    }

    #[test]
    fn forged_truncated_oversized_or_foreign_cookies_read_as_fresh() {
        let mut m = MeterState::default();
        m.count(7, 1_000_000, WINDOW);
        let cookie = m.encode(&keys()).unwrap();
        let forged_payload = B64.encode(b"");
        let mut parts: Vec<&str> = cookie.split('.').collect();
        parts[2] = &forged_payload;
        let forged = parts.join(".");
        let other = KeyRing::new(
            "meter",
            vec![("k1".into(), b"another key entirely".to_vec())],
        );
        for bad in [
            forged.as_str(),
            &cookie[..cookie.len() - 3],
            &format!("{cookie}.x"),
            &"a".repeat(5000),
            "",
            "v1...",
            "v2.k1.x.y",
            "v1.k1.%%%.***",
        ] {
            assert_eq!(
                MeterState::decode(bad, &keys()),
                MeterState::default(),
                "{bad:?}"
            );
        }
        assert_eq!(MeterState::decode(&cookie, &other), MeterState::default());
    }

    #[test]
    fn the_window_forgets_old_views_and_the_cookie_stays_small() {
        let mut m = MeterState::default();
        m.count(1, 0, WINDOW);
        assert_eq!(m.counted(WINDOW + 1, WINDOW), Vec::<i64>::new());
        for id in 0..100 {
            m.count(id, WINDOW + id, WINDOW);
        }
        assert_eq!(m.entries.len(), MAX_ENTRIES);
        let cookie = m.encode(&keys()).unwrap();
        assert!(cookie.len() < MAX_COOKIE_LEN, "{}", cookie.len());
        assert_eq!(MeterState::decode(&cookie, &keys()), m);
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_on_https() {
        let c = set_cookie("v", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"));
        assert!(!set_cookie("v", 60, false).contains("Secure"));
    }
}
