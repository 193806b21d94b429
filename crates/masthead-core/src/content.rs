//! The content model's vocabulary: slugs, content types, access levels and
//! article status.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContentError {
    #[error("slug must be 1 to 120 characters of a-z, 0-9 and single hyphens, got {0:?}")]
    BadSlug(String),
    #[error("slug {0:?} is reserved for a site route; choose another")]
    ReservedSlug(String),
    #[error("unknown content type {0:?}; use news, analysis, memo, report or event")]
    BadContentType(String),
    #[error("unknown access level {0:?}; use default, free, metered, registered or subscribers")]
    BadAccessLevel(String),
    #[error("unknown status {0:?}; use draft, scheduled or published")]
    BadStatus(String),
}

/// Words of the reader site's route map. An article slug lives at `/{slug}`,
/// so none of these may ever be one.
pub const RESERVED_SLUGS: &[&str] = &[
    "topics",
    "authors",
    "sections",
    "search",
    "feeds",
    "rss",
    "sitemap.xml",
    "sitemaps",
    "robots.txt",
    "media",
    "static",
    "login",
    "logout",
    "signup",
    "account",
    "newsletters",
    "email",
    "unsubscribe",
    "webhooks",
    "admin",
    "healthz",
    "pages",
    "api",
    "checkout",
    "favicon.ico",
    "news-sitemap.xml",
    "subscribe",
    "preview",
    "password",
    // Planned: the Ghost-compatible APIs live under /ghost.
    "ghost",
];

/// A URL-safe identifier: lowercase ASCII letters, digits and single hyphens,
/// neither starting nor ending with a hyphen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug for any kind of object (topic, author, page).
    pub fn parse(s: &str) -> Result<Slug, ContentError> {
        let ok = !s.is_empty()
            && s.len() <= 120
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Slug(s.to_owned()))
        } else {
            Err(ContentError::BadSlug(s.to_owned()))
        }
    }

    /// Parses a slug for an article, which also must not shadow a site route.
    pub fn parse_article(s: &str) -> Result<Slug, ContentError> {
        let slug = Slug::parse(s)?;
        if RESERVED_SLUGS.contains(&s) {
            return Err(ContentError::ReservedSlug(s.to_owned()));
        }
        Ok(slug)
    }

    /// Builds a slug from free text ("Port Alder's budget" → "port-alder-s-budget").
    pub fn from_title(title: &str) -> Option<Slug> {
        let mut out = String::new();
        for c in title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            if out.len() >= 80 {
                break;
            }
        }
        let trimmed = out.trim_end_matches('-');
        Slug::parse(trimmed).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $err:ident, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<$name, ContentError> {
                match s { $($text => Ok($name::$variant),)+ other => Err(ContentError::$err(other.to_owned())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What kind of journalism an article is; each has a section page.
    ContentType, BadContentType, {
        News => "news",
        Analysis => "analysis",
        Memo => "memo",
        Report => "report",
        Event => "event",
    }
);

string_enum!(
    /// Who may read an article in full. `Default` is resolved from the
    /// publication's per-content-type policy at decision time.
    AccessLevel, BadAccessLevel, {
        Default => "default",
        Free => "free",
        Metered => "metered",
        Registered => "registered",
        Subscribers => "subscribers",
    }
);

string_enum!(
    /// Where an article is in its life. A scheduled article becomes
    /// published at its publish time, by the job worker.
    ArticleStatus, BadStatus, {
        Draft => "draft",
        Scheduled => "scheduled",
        Published => "published",
    }
);

impl ContentType {
    /// The plural used for section titles ("Analysis", "Memos").
    pub fn section_title(self) -> &'static str {
        match self {
            ContentType::News => "News",
            ContentType::Analysis => "Analysis",
            ContentType::Memo => "Memos",
            ContentType::Report => "Reports",
            ContentType::Event => "Events",
        }
    }

    /// The singular label shown on article pages.
    pub fn label(self) -> &'static str {
        match self {
            ContentType::News => "News",
            ContentType::Analysis => "Analysis",
            ContentType::Memo => "Memo",
            ContentType::Report => "Report",
            ContentType::Event => "Event",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_lowercase_words_joined_by_single_hyphens() {
        assert!(Slug::parse("council-votes-2026").is_ok());
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "A",
            "a b",
            "a/b",
            "..",
            "é",
            &"a".repeat(121),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn article_slugs_cannot_shadow_routes() {
        assert_eq!(
            Slug::parse_article("search"),
            Err(ContentError::ReservedSlug("search".into()))
        );
        assert!(
            Slug::parse("search").is_ok(),
            "a topic may be called search"
        );
    }

    #[test]
    fn slugs_are_derived_from_titles() {
        assert_eq!(
            Slug::from_title("Port Alder's  budget: 2027!").map(|s| s.0),
            Some("port-alder-s-budget-2027".to_string())
        );
        assert_eq!(Slug::from_title("!!!"), None);
    }

    #[test]
    fn enums_round_trip_through_text() {
        for t in ContentType::ALL {
            assert_eq!(ContentType::parse(t.as_str()), Ok(*t));
        }
        for a in AccessLevel::ALL {
            assert_eq!(AccessLevel::parse(a.as_str()), Ok(*a));
        }
        for s in ArticleStatus::ALL {
            assert_eq!(ArticleStatus::parse(s.as_str()), Ok(*s));
        }
        assert!(ContentType::parse("opinion").is_err());
    }
}

/// A stored image and its responsive variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Media {
    pub id: i64,
    pub hash: String,
    pub mime: String,
    pub ext: String,
    pub width: u32,
    pub height: u32,
    /// Widths ascending; each is served as `/media/{hash}-{width}.{ext}`.
    pub variants: Vec<MediaVariant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaVariant {
    pub width: u32,
    pub height: u32,
    pub ext: String,
}

/// An article's lead image: the media plus this use's alt text, caption and
/// photo credit (the same image may be captioned differently elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadImage {
    pub media: Media,
    pub alt: String,
    pub caption: String,
    pub credit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// Everything about an article except its body, which is only ever fetched
/// through an access decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Article {
    pub id: i64,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub dateline: String,
    pub content_type: ContentType,
    pub access_level: AccessLevel,
    pub preview_blocks: Option<u32>,
    pub status: ArticleStatus,
    pub published_at: Option<jiff::Timestamp>,
    pub updated_at: jiff::Timestamp,
    pub revision: i64,
    pub block_count: u32,
    pub lead_image: Option<LeadImage>,
    pub authors: Vec<AuthorRef>,
    pub topics: Vec<TopicRef>,
    /// The title and description for search engines, when they differ
    /// from the headline and standfirst (kept from an imported site).
    pub seo_title: String,
    pub seo_description: String,
}

/// An article as it appears in a list (home, sections, topics, feeds).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleSummary {
    pub id: i64,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub content_type: ContentType,
    pub access_level: AccessLevel,
    pub preview_blocks: Option<u32>,
    pub block_count: u32,
    pub published_at: Option<jiff::Timestamp>,
    pub updated_at: jiff::Timestamp,
    pub lead_image: Option<LeadImage>,
    pub authors: Vec<AuthorRef>,
}

impl Article {
    /// What the access decision needs to know about this article.
    pub fn facts(&self) -> crate::access::ArticleFacts {
        crate::access::ArticleFacts {
            id: self.id,
            level: self.access_level,
            content_type: self.content_type,
            preview_blocks: self.preview_blocks,
            block_count: self.block_count,
        }
    }
}

impl ArticleSummary {
    /// What the access decision needs to know about this article.
    pub fn facts(&self) -> crate::access::ArticleFacts {
        crate::access::ArticleFacts {
            id: self.id,
            level: self.access_level,
            content_type: self.content_type,
            preview_blocks: self.preview_blocks,
            block_count: self.block_count,
        }
    }
}

/// The part of a body a decision lets through: `blocks.len()` of `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Body {
    pub blocks: Vec<String>,
    pub total: u32,
}

impl Body {
    pub fn is_complete(&self) -> bool {
        self.blocks.len() as u64 >= u64::from(self.total)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topic {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub updated_at: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Author {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub bio_html: String,
    pub avatar: Option<Media>,
    pub updated_at: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub version: i64,
    pub body_html: String,
    pub updated_at: jiff::Timestamp,
}

/// A search result: only what any reader may see (headline, standfirst).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub content_type: ContentType,
    pub published_at: Option<jiff::Timestamp>,
}
