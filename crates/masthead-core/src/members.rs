//! Readers with accounts and newsroom staff: the rules that need no I/O.
//! Email addresses are parsed once at the edge; return-to addresses are
//! checked to be same-origin paths; session lifetimes are decided here.

use serde::Serialize;

/// A syntactically plausible email address. The original spelling is kept
/// for sending; `lower()` is the form accounts are matched on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter an email address like name@example.com")]
pub struct BadEmail;

impl Email {
    pub fn parse(input: &str) -> Result<Email, BadEmail> {
        let s = input.trim();
        if s.len() < 3 || s.len() > 254 {
            return Err(BadEmail);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(BadEmail)?;
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c);
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || local.chars().any(bad_char)
            || domain.is_empty()
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || !domain.contains('.')
            || domain.chars().any(|c| bad_char(c) || c == '@')
        {
            return Err(BadEmail);
        }
        Ok(Email(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form stored in `email_lower` and used for every lookup: ASCII
    /// letters lower-cased, every other character kept as written. Full
    /// Unicode case folding would make distinct mailboxes collide (the
    /// Kelvin sign `\u{212A}` folds to `k`, so `\u{212A}ate@` would match
    /// `kate@`); the local part's meaning belongs to the receiving server.
    pub fn lower(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// When complimentary access given "until" `last_day` ends: the start of
/// the next day in the publication's time zone (access lasts through the
/// whole of the last day). Refused when that moment is not after `now`.
/// The one rule for the newsroom and the command line.
pub fn complimentary_until(
    last_day: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
    now: i64,
) -> Result<i64, String> {
    let end = last_day
        .tomorrow()
        .and_then(|d| d.to_zoned(tz.clone()))
        .map(|z| z.timestamp().as_second())
        .map_err(|e| format!("that date cannot be used: {e}"))?;
    if end <= now {
        return Err("That day is in the past: choose a later one.".into());
    }
    Ok(end)
}

/// A same-origin path to go back to after signing up or logging in:
/// starts with exactly one `/`, no backslash, no control characters, no
/// scheme trick (`//evil`, `/\evil`). Anything else becomes `fallback`.
pub fn safe_return_to(input: &str, fallback: &str) -> String {
    let ok = input.len() <= 2000
        && input.starts_with('/')
        && !input.starts_with("//")
        && !input.contains('\\')
        && !input.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        input.to_string()
    } else {
        fallback.to_string()
    }
}

/// Newsroom roles, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Administrator,
    Editor,
    Author,
    Contributor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Administrator,
        Role::Editor,
        Role::Author,
        Role::Contributor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Administrator => "administrator",
            Role::Editor => "editor",
            Role::Author => "author",
            Role::Contributor => "contributor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How long sessions live, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    /// Ends after this long without a request.
    pub idle: i64,
    /// Ends this long after log-in, however active.
    pub absolute: i64,
    /// `last_seen` is written at most this often.
    pub touch_every: i64,
}

pub const MEMBER_SESSION: SessionLifetime = SessionLifetime {
    idle: 30 * 86_400,
    absolute: 180 * 86_400,
    touch_every: 300,
};

pub const STAFF_SESSION: SessionLifetime = SessionLifetime {
    idle: 12 * 3_600,
    absolute: 14 * 86_400,
    touch_every: 300,
};

/// Sensitive changes (export, deletion, email or password) need a log-in
/// this recent.
pub const RECENT_AUTH_SECS: i64 = 10 * 60;

/// Emailed log-in links expire after 15 minutes.
pub const LOGIN_LINK_SECS: i64 = 15 * 60;

impl SessionLifetime {
    /// Whether a session is still valid at `now`.
    pub fn alive(&self, created_at: i64, last_seen_at: i64, now: i64) -> bool {
        now < created_at + self.absolute && now < last_seen_at + self.idle
    }

    /// Whether this request should record `last_seen`.
    pub fn should_touch(&self, last_seen_at: i64, now: i64) -> bool {
        now >= last_seen_at + self.touch_every
    }
}

/// Whether the session logged in recently enough for a sensitive change.
pub fn recently_authenticated(authenticated_at: i64, now: i64) -> bool {
    now - authenticated_at <= RECENT_AUTH_SECS && authenticated_at <= now + 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complimentary_access_lasts_through_the_last_day() {
        let tz = jiff::tz::TimeZone::fixed(jiff::tz::offset(-8));
        let day = jiff::civil::date(2027, 6, 30);
        let end = complimentary_until(day, &tz, 0).unwrap_or_default();
        let next_midnight: jiff::Timestamp = "2027-07-01T08:00:00Z".parse().unwrap_or_default();
        assert_eq!(
            end,
            next_midnight.as_second(),
            "midnight at -08:00 after the last day"
        );
        assert!(
            complimentary_until(day, &tz, end).is_err(),
            "past at the very moment it ends"
        );
        assert!(complimentary_until(day, &tz, end - 1).is_ok());
    }

    #[test]
    fn distinct_mailboxes_never_match() {
        let lower = |s: &str| Email::parse(s).map(|e| e.lower()).unwrap_or_default();
        assert_eq!(lower("Kate@Example.ORG"), "kate@example.org");
        assert_ne!(
            lower("\u{212A}ate@example.org"),
            lower("kate@example.org"),
            "Kelvin sign"
        );
        assert_ne!(
            lower("\u{0130}nci@example.org"),
            lower("i\u{0307}nci@example.org")
        );
        assert_ne!(
            lower("stra\u{00DF}e@example.org"),
            lower("strasse@example.org")
        );
        assert_eq!(
            lower("J\u{00F6}rg@Example.org"),
            "j\u{00F6}rg@example.org",
            "non-ASCII kept as written"
        );
        assert_ne!(lower("\u{00D6}@example.org"), lower("\u{00F6}@example.org"));
    }

    #[test]
    fn emails_are_parsed_and_lowered() {
        let e = Email::parse("  Reader.One@Example.ORG ").unwrap();
        assert_eq!(e.as_str(), "Reader.One@Example.ORG");
        assert_eq!(e.lower(), "reader.one@example.org");
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@",
            "a@b",
            "a@.org",
            "a@b..org",
            "a b@example.org",
            "a@exa mple.org",
            "a\r\nBcc: x@y.org@example.org",
            "<a@example.org>",
            &format!("{}@example.org", "a".repeat(65)),
            &format!("a@{}.org", "b".repeat(260)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn return_to_stays_on_this_site() {
        assert_eq!(safe_return_to("/some-article", "/"), "/some-article");
        assert_eq!(safe_return_to("/search?q=a", "/"), "/search?q=a");
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "relative",
            "/a\nb",
            "/a b",
        ] {
            assert_eq!(safe_return_to(bad, "/"), "/", "{bad:?}");
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("god"), None);
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let l = MEMBER_SESSION;
        assert!(l.alive(0, 0, 10));
        assert!(!l.alive(0, 0, l.idle), "idle too long");
        assert!(l.alive(0, l.absolute - 100, l.absolute - 1));
        assert!(!l.alive(0, l.absolute - 100, l.absolute), "too old");
        assert!(!l.should_touch(1000, 1000 + l.touch_every - 1));
        assert!(l.should_touch(1000, 1000 + l.touch_every));
    }

    #[test]
    fn recent_authentication_is_ten_minutes() {
        assert!(recently_authenticated(1000, 1000 + 600));
        assert!(!recently_authenticated(1000, 1000 + 601));
        assert!(!recently_authenticated(10_000, 1000), "from the future");
    }
}
