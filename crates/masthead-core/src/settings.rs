//! Publication settings: the values staff change at run time, validated.

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
}

impl Default for PublicationSettings {
    fn default() -> Self {
        PublicationSettings {
            name: "Masthead".to_string(),
            description: "An independent publication".to_string(),
            language: "en".to_string(),
            timezone: "UTC".to_string(),
            logo: String::new(),
        }
    }
}

/// Every key a publication setting can have, in display order.
pub const KEYS: &[&str] = &["name", "description", "language", "timezone", "logo"];

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
            other => return Err(SettingsError::UnknownKey(other.to_string())),
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        match key {
            "name" => Some(&self.name),
            "description" => Some(&self.description),
            "language" => Some(&self.language),
            "timezone" => Some(&self.timezone),
            "logo" => Some(&self.logo),
            _ => None,
        }
    }
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
    }
}
