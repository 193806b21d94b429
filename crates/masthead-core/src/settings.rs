//! Publication settings: the values staff change at run time, validated.

use crate::access::Policy;
use crate::content::{AccessLevel, ContentType};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("unknown setting {0:?}")]
    UnknownKey(String),
    #[error("{key} {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// The publication's settings as the site reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationSettings {
    pub name: String,
    pub description: String,
    /// ISO 639-1 language code, optionally with a region ("en", "en-GB").
    pub language: String,
    /// IANA time zone used to show dates to readers.
    pub timezone: String,
    /// Path or absolute URL of the logo, empty for none.
    pub logo: String,
    /// The theme's accent colour (`#rrggbb`) for light mode; empty keeps
    /// the theme's own.
    #[serde(default)]
    pub accent_colour: String,
    /// The access policy: meter limits, window, preview length, and what
    /// `default` means per content type.
    pub policy: Policy,
}

impl Default for PublicationSettings {
    fn default() -> Self {
        PublicationSettings {
            name: "Masthead".to_string(),
            description: "An independent publication".to_string(),
            language: "en".to_string(),
            timezone: "UTC".to_string(),
            logo: String::new(),
            accent_colour: String::new(),
            policy: Policy::default(),
        }
    }
}

/// Every key a publication setting can have, in display order.
pub const KEYS: &[&str] = &[
    "name",
    "description",
    "language",
    "timezone",
    "logo",
    "accent_colour",
    "meter_anonymous_limit",
    "meter_member_limit",
    "meter_window_days",
    "preview_blocks",
    "access_news",
    "access_analysis",
    "access_memo",
    "access_report",
    "access_event",
];

fn number(key: &'static str, value: &str, max: u32) -> Result<u32, SettingsError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| SettingsError::Invalid {
            key,
            reason: format!("must be a whole number from 0 to {max}, got {value:?}"),
        })
}

fn level(key: &'static str, value: &str) -> Result<AccessLevel, SettingsError> {
    match AccessLevel::parse(value) {
        Ok(AccessLevel::Default) | Err(_) => Err(SettingsError::Invalid {
            key,
            reason: format!("must be free, metered, registered or subscribers, got {value:?}"),
        }),
        Ok(l) => Ok(l),
    }
}

impl PublicationSettings {
    /// Sets one value after validating it. Time zones are checked by the
    /// caller that owns a time zone database (see `validate_timezone`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SettingsError> {
        let value = value.trim();
        match key {
            "name" => {
                if value.is_empty() || value.chars().count() > 120 {
                    return Err(SettingsError::Invalid {
                        key: "name",
                        reason: "must be 1 to 120 characters".into(),
                    });
                }
                // It heads pages and email subjects: one line.
                if value.chars().any(char::is_control) {
                    return Err(SettingsError::Invalid {
                        key: "name",
                        reason: "must be one line, without control characters".into(),
                    });
                }
                self.name = value.to_string();
            }
            "description" => {
                if value.chars().count() > 300 {
                    return Err(SettingsError::Invalid {
                        key: "description",
                        reason: "must be at most 300 characters".into(),
                    });
                }
                self.description = value.to_string();
            }
            "language" => {
                if !is_language_tag(value) {
                    return Err(SettingsError::Invalid {
                        key: "language",
                        reason: format!(
                            "must be an ISO 639-1 code such as \"en\" or \"en-GB\", got {value:?}"
                        ),
                    });
                }
                self.language = value.to_string();
            }
            "timezone" => {
                if value.is_empty() || value.len() > 64 {
                    return Err(SettingsError::Invalid {
                        key: "timezone",
                        reason: "must be an IANA time zone such as \"Europe/Paris\"".into(),
                    });
                }
                self.timezone = value.to_string();
            }
            "logo" => {
                if value.len() > 500 || value.contains(['"', '<', '>']) {
                    return Err(SettingsError::Invalid {
                        key: "logo",
                        reason: "must be a path or URL of at most 500 characters".into(),
                    });
                }
                self.logo = value.to_string();
            }
            "accent_colour" => {
                if !value.is_empty() {
                    let Some(rgb) = parse_hex_colour(value) else {
                        return Err(SettingsError::Invalid {
                            key: "accent_colour",
                            reason: format!("must be a colour like #1a5fb4, got {value:?}"),
                        });
                    };
                    let ratio = contrast_ratio(rgb, [255, 255, 255]);
                    if ratio < 4.5 {
                        return Err(SettingsError::Invalid {
                            key: "accent_colour",
                            reason: format!(
                                "is too light to read on white ({ratio:.1}:1; links and buttons need at least 4.5:1): choose a darker colour"
                            ),
                        });
                    }
                }
                self.accent_colour = value.to_ascii_lowercase();
            }
            "meter_anonymous_limit" => {
                self.policy.anonymous_limit = number("meter_anonymous_limit", value, 1000)?
            }
            "meter_member_limit" => {
                self.policy.member_limit = number("meter_member_limit", value, 1000)?
            }
            "meter_window_days" => {
                let days = number("meter_window_days", value, 366)?;
                if days == 0 {
                    return Err(SettingsError::Invalid {
                        key: "meter_window_days",
                        reason: "must be at least 1 day".into(),
                    });
                }
                self.policy.window_secs = i64::from(days) * 86_400;
            }
            "preview_blocks" => {
                self.policy.preview_blocks = number("preview_blocks", value, 100)?.max(1)
            }
            "access_news" => self.policy.news = level("access_news", value)?,
            "access_analysis" => self.policy.analysis = level("access_analysis", value)?,
            "access_memo" => self.policy.memo = level("access_memo", value)?,
            "access_report" => self.policy.report = level("access_report", value)?,
            "access_event" => self.policy.event = level("access_event", value)?,
            other => return Err(SettingsError::UnknownKey(other.to_string())),
        }
        Ok(())
    }

    /// The level `default` stands for, for one content type.
    pub fn default_level(&self, t: ContentType) -> AccessLevel {
        self.policy.resolve(AccessLevel::Default, t)
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let p = &self.policy;
        Some(match key {
            "name" => self.name.clone(),
            "description" => self.description.clone(),
            "language" => self.language.clone(),
            "timezone" => self.timezone.clone(),
            "logo" => self.logo.clone(),
            "accent_colour" => self.accent_colour.clone(),
            "meter_anonymous_limit" => p.anonymous_limit.to_string(),
            "meter_member_limit" => p.member_limit.to_string(),
            "meter_window_days" => (p.window_secs / 86_400).to_string(),
            "preview_blocks" => p.preview_blocks.to_string(),
            "access_news" => p.news.to_string(),
            "access_analysis" => p.analysis.to_string(),
            "access_memo" => p.memo.to_string(),
            "access_report" => p.report.to_string(),
            "access_event" => p.event.to_string(),
            _ => return None,
        })
    }
}

/// `#rrggbb` as its three channels.
pub fn parse_hex_colour(s: &str) -> Option<[u8; 3]> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG 2 contrast ratio between two sRGB colours (1 to 21).
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    fn luminance(c: [u8; 3]) -> f64 {
        let lin = |v: u8| {
            let s = f64::from(v) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
    }
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// A two-letter ISO 639-1 code, optionally followed by `-` and a two-letter
/// region ("en", "fr", "en-GB").
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or_default();
    let region = parts.next();
    parts.next().is_none()
        && lang.len() == 2
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accent_colours_must_be_readable_on_white() {
        assert!((contrast_ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio([255, 255, 255], [255, 255, 255]) - 1.0).abs() < 1e-9);
        // #767676 is the lightest grey that passes AA on white.
        assert!(contrast_ratio([0x76, 0x76, 0x76], [255, 255, 255]) >= 4.5);
        assert!(contrast_ratio([0x77, 0x77, 0x77], [255, 255, 255]) < 4.5);
        let mut s = PublicationSettings::default();
        assert!(s.set("accent_colour", "#1A5FB4").is_ok());
        assert_eq!(s.get("accent_colour").as_deref(), Some("#1a5fb4"));
        assert!(
            s.set("accent_colour", "#ffd700").is_err(),
            "gold on white is unreadable"
        );
        for bad in ["1a5fb4", "#1a5fb", "#1a5fbz", "red", "#1a5fb4; color: red"] {
            assert!(s.set("accent_colour", bad).is_err(), "{bad}");
        }
        assert!(
            s.set("accent_colour", "").is_ok(),
            "empty keeps the theme's"
        );
        assert_eq!(s.accent_colour, "");
    }

    #[test]
    fn language_tags_are_iso_639_1_with_optional_region() {
        for ok in ["en", "fr", "en-GB", "pt-BR"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "eng", "EN", "en-gb", "en-GB-x", "e1"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn setting_validates_and_names_the_key() {
        let mut s = PublicationSettings::default();
        assert!(s.set("language", "de").is_ok());
        assert_eq!(s.language, "de");
        let err = s.set("language", "german").unwrap_err();
        assert!(err.to_string().starts_with("language must be"));
        assert_eq!(
            s.set("colour", "red"),
            Err(SettingsError::UnknownKey("colour".into()))
        );
        assert!(s.set("name", "").is_err());
        // The name heads email subjects: a line break would split one.
        for bad in ["The\nLedger", "The\r\nLedger", "The\u{0}Ledger"] {
            assert!(s.set("name", bad).is_err(), "{bad:?}");
        }
        assert!(s.set("name", "The Ledger, Port Alder").is_ok());
    }

    #[test]
    fn policy_settings_validate_and_round_trip() {
        let mut s = PublicationSettings::default();
        for key in KEYS {
            let value = s.get(key).unwrap_or_default();
            assert!(
                s.set(key, &value).is_ok() || key == &"logo" || key == &"timezone",
                "{key}"
            );
        }
        s.set("meter_anonymous_limit", "4").unwrap();
        s.set("meter_window_days", "7").unwrap();
        s.set("access_memo", "registered").unwrap();
        assert_eq!(s.policy.anonymous_limit, 4);
        assert_eq!(s.policy.window_secs, 7 * 86_400);
        assert_eq!(s.default_level(ContentType::Memo), AccessLevel::Registered);
        for (k, v) in [
            ("meter_anonymous_limit", "-1"),
            ("meter_anonymous_limit", "many"),
            ("meter_window_days", "0"),
            ("access_news", "default"),
            ("access_news", "paid"),
        ] {
            assert!(s.set(k, v).is_err(), "{k}={v}");
        }
    }
}
