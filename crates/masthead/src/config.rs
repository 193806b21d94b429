//! Operator configuration: fixed at start, built from defaults, then an
//! optional `masthead.toml`, then `MASTHEAD_*` environment variables, then
//! command-line flags (clap folds the last two together).

use anyhow::{bail, Context};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// A secret value whose `Debug` and `Display` never show it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

/// The public origin of the site, without a trailing slash. Every absolute
/// URL the app writes starts with it; `Host` and `X-Forwarded-*` are never
/// consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(s: &str) -> anyhow::Result<BaseUrl> {
        let s = s.trim().trim_end_matches('/');
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .context("base URL must start with http:// or https://")?;
        if rest.is_empty()
            || rest.contains(['?', '#', ' ', '"', '<', '>', '\\'])
            || rest.contains('/') && !rest.split('/').skip(1).all(|p| !p.is_empty())
        {
            bail!("base URL {s:?} must be an origin with an optional path, such as https://news.example.com");
        }
        Ok(BaseUrl(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// An absolute URL for a site path that starts with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }

    /// The host part, for the Google News sitemap and logs.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map(|x| x.1).unwrap_or(&self.0);
        rest.split('/').next().unwrap_or(rest)
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    pub base_url: BaseUrl,
    /// A directory whose templates and static files override the built-in
    /// theme, file by file.
    pub theme_dir: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Publication settings fixed by the operator: shown as locked and
    /// never taken from the database.
    pub locked_settings: BTreeMap<String, String>,
    pub log_requests: bool,
    /// Connections in the database pool.
    pub db_connections: u32,
    /// `smtp://user:pass@host:587?tls=required` or `smtps://…`; `None`
    /// writes each message to `<data dir>/outbox` instead.
    pub smtp_url: Option<Secret>,
    /// The From address of account emails.
    pub mail_from: Option<String>,
    pub stripe: StripeConfig,
    pub newsletters: NewsletterConfig,
    /// Connection timeouts and caps (`crate::serve`).
    pub server: crate::serve::Limits,
    /// Searches a client address may make a minute; 0 is no limit (a
    /// benchmark's single client).
    pub searches_per_minute: u32,
    /// Imports run from the newsroom may fetch from loopback and private
    /// addresses (`[imports] allow_private_fetch`; off by default: the
    /// command line's `--allow-private-fetch` is the operator's own).
    pub import_allow_private_fetch: bool,
    /// The largest export the Import page takes (`[imports] max_upload_mb`,
    /// 2048 by default).
    pub import_max_bytes: u64,
    /// The rendered pages kept in memory (`[server] page_cache_mb`, 16 by
    /// default; 0 keeps none).
    pub page_cache_bytes: usize,
}

/// `[imports]` in `masthead.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileImports {
    pub allow_private_fetch: Option<bool>,
    pub max_upload_mb: Option<u64>,
}

/// `[server]` in `masthead.toml`: connection bounds, each optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    pub header_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_client: Option<usize>,
    pub searches_per_minute: Option<u32>,
    pub page_cache_mb: Option<u64>,
}

impl FileServer {
    fn limits(self) -> crate::serve::Limits {
        use std::time::Duration;
        let d = crate::serve::Limits::default();
        let secs =
            |v: Option<u64>, d: Duration| v.map_or(d, |s| Duration::from_secs(s.clamp(1, 3600)));
        crate::serve::Limits {
            header_timeout: secs(self.header_timeout_secs, d.header_timeout),
            idle_timeout: secs(self.idle_timeout_secs, d.idle_timeout),
            body_timeout: secs(self.body_timeout_secs, d.body_timeout),
            max_connections: self.max_connections.unwrap_or(d.max_connections).max(1),
            max_per_client: self
                .max_connections_per_client
                .unwrap_or(d.max_per_client)
                .max(1),
        }
    }
}

/// How newsletters are sent: parallel SMTP sessions, an optional rate
/// cap, recipients per claimed batch; the token of `POST /webhooks/bounces`
/// and an unsubscribe mailbox that someone reads (optional).
#[derive(Debug, Clone)]
pub struct NewsletterConfig {
    pub sessions: usize,
    /// Messages per second across all sessions; 0 is no cap.
    pub rate_per_second: u32,
    pub batch: i64,
    /// Seconds a claimed batch is held before another worker may take it
    /// (a crashed worker's batch is sent again after this).
    pub lease_secs: i64,
    pub bounce_token: Option<Secret>,
    pub unsubscribe_mailto: Option<String>,
    /// DKIM signing of newsletter emails, when the provider does not sign.
    pub dkim: Option<DkimSettings>,
}

/// `[newsletters.dkim]`: the selector and domain published in DNS, the
/// private key's file (RSA in PKCS#1 PEM, or Ed25519 as base64 of the
/// 32-byte seed) and its algorithm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimSettings {
    pub selector: String,
    pub domain: String,
    pub private_key_file: PathBuf,
    #[serde(default = "default_dkim_algorithm")]
    pub algorithm: String,
}

fn default_dkim_algorithm() -> String {
    "rsa".into()
}

impl Default for NewsletterConfig {
    fn default() -> Self {
        NewsletterConfig {
            sessions: 4,
            rate_per_second: 0,
            batch: 100,
            lease_secs: 300,
            bounce_token: None,
            unsubscribe_mailto: None,
            dkim: None,
        }
    }
}

/// `[newsletters]` in `masthead.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileNewsletters {
    pub sessions: Option<usize>,
    pub rate_per_second: Option<u32>,
    pub batch: Option<i64>,
    pub lease_secs: Option<i64>,
    pub bounce_token: Option<Secret>,
    pub unsubscribe_mailto: Option<String>,
    pub dkim: Option<DkimSettings>,
}

impl NewsletterConfig {
    fn from_file(file: Option<FileNewsletters>) -> anyhow::Result<NewsletterConfig> {
        let f = file.unwrap_or_default();
        let d = NewsletterConfig::default();
        non_empty(f.bounce_token.as_ref(), "[newsletters] bounce_token")?;
        Ok(NewsletterConfig {
            sessions: f.sessions.unwrap_or(d.sessions).clamp(1, 64),
            rate_per_second: f.rate_per_second.unwrap_or(d.rate_per_second),
            batch: f.batch.unwrap_or(d.batch).clamp(1, 1000),
            lease_secs: f.lease_secs.unwrap_or(d.lease_secs).clamp(1, 86_400),
            bounce_token: std::env::var("MASTHEAD_BOUNCE_TOKEN")
                .ok()
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .or(f.bounce_token),
            unsubscribe_mailto: f.unsubscribe_mailto,
            dkim: f.dkim,
        })
    }
}

/// Stripe, when configured: the secret API key, the webhook endpoint's
/// signing secrets (several while one is being rotated), and the API base
/// (Stripe's, or a stand-in in tests).
#[derive(Debug, Clone, Default)]
pub struct StripeConfig {
    pub secret_key: Option<Secret>,
    pub webhook_secrets: Vec<Secret>,
    pub api_base: String,
    /// Days a webhook event's payload (names, emails, addresses) is kept.
    pub keep_payload_days: i64,
    /// How long a call to Stripe may take before it counts as failed.
    pub timeout_secs: u64,
}

pub const STRIPE_API_BASE: &str = "https://api.stripe.com";
pub const STRIPE_TIMEOUT_SECS: u64 = 20;

impl StripeConfig {
    fn from_env(file: Option<FileStripe>) -> anyhow::Result<StripeConfig> {
        let file = file.unwrap_or_default();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let secrets = match env("MASTHEAD_STRIPE_WEBHOOK_SECRETS") {
            Some(v) => secret_list(&v, "MASTHEAD_STRIPE_WEBHOOK_SECRETS")?,
            None => {
                for s in &file.webhook_secrets {
                    non_empty(Some(s), "[stripe] webhook_secrets")?;
                }
                file.webhook_secrets
            }
        };
        non_empty(file.secret_key.as_ref(), "[stripe] secret_key")?;
        Ok(StripeConfig {
            secret_key: env("MASTHEAD_STRIPE_SECRET_KEY")
                .map(Secret::new)
                .or(file.secret_key),
            webhook_secrets: secrets,
            api_base: env("MASTHEAD_STRIPE_API_BASE")
                .or(file.api_base)
                .unwrap_or_else(|| STRIPE_API_BASE.to_string()),
            keep_payload_days: file
                .keep_payload_days
                .unwrap_or(crate::billing::PAYLOAD_DAYS)
                .max(0),
            timeout_secs: file.timeout_secs.unwrap_or(STRIPE_TIMEOUT_SECS).max(1),
        })
    }
}

/// A comma-separated list of secrets (several while one is rotated). An
/// empty entry — a trailing comma — is refused: an empty HMAC key would make
/// anyone's signature valid.
pub fn secret_list(text: &str, name: &str) -> anyhow::Result<Vec<Secret>> {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            if s.is_empty() {
                bail!("{name} has an empty entry (a stray comma?); every secret must have a value");
            }
            Ok(Secret::new(s))
        })
        .collect()
}

/// A secret given in `masthead.toml` must have a value.
fn non_empty(secret: Option<&Secret>, name: &str) -> anyhow::Result<()> {
    if secret.is_some_and(|s| s.expose().trim().is_empty()) {
        bail!("{name} is empty; remove it or give it a value");
    }
    Ok(())
}

/// `[stripe]` in `masthead.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStripe {
    pub secret_key: Option<Secret>,
    #[serde(default)]
    pub webhook_secrets: Vec<Secret>,
    pub api_base: Option<String>,
    pub keep_payload_days: Option<i64>,
    pub timeout_secs: Option<u64>,
}

/// What `masthead.toml` may contain. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub base_url: Option<String>,
    pub theme_dir: Option<PathBuf>,
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    pub log_requests: Option<bool>,
    pub db_connections: Option<u32>,
    pub smtp_url: Option<Secret>,
    pub mail_from: Option<String>,
    pub stripe: Option<FileStripe>,
    pub newsletters: Option<FileNewsletters>,
    pub server: Option<FileServer>,
    pub imports: Option<FileImports>,
    /// `[publication]` table: locked publication settings.
    #[serde(default)]
    pub publication: BTreeMap<String, String>,
}

impl FileConfig {
    /// Reads the TOML file named by `--config`, or `./masthead.toml` when it
    /// exists and none was named.
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("masthead.toml"), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .with_context(|| format!("reading configuration file {}", path.display())),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(FileConfig::default())
            }
            Err(e) => Err(e).with_context(|| format!("opening {}", path.display())),
        }
    }
}

/// Inputs from flags and the environment (clap has already merged them).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub base_url: Option<String>,
    pub theme_dir: Option<PathBuf>,
}

impl Config {
    pub fn build(file: FileConfig, over: Overrides) -> anyhow::Result<Config> {
        let data_dir = over
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("masthead-data"));
        let database_url = match over.database_url.or(file.database_url) {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("masthead.db").display()),
        };
        let listen_text = over
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen: SocketAddr = listen_text.parse().with_context(|| {
            format!("listen address {listen_text:?} must look like 127.0.0.1:8080")
        })?;
        let base_url = match over.base_url.or(file.base_url) {
            Some(u) => BaseUrl::parse(&u)?,
            None => BaseUrl::parse(&format!("http://{listen}"))?,
        };
        let mut locked = file.publication;
        for (key, value) in std::env::vars() {
            if let Some(k) = key.strip_prefix("MASTHEAD_PUBLICATION_") {
                locked.insert(k.to_ascii_lowercase(), value);
            }
        }
        for key in locked.keys() {
            if !masthead_core::settings::KEYS.contains(&key.as_str()) {
                bail!(
                    "unknown publication setting {key:?}; known: {}",
                    masthead_core::settings::KEYS.join(", ")
                );
            }
        }
        non_empty(file.smtp_url.as_ref(), "smtp_url")?;
        Ok(Config {
            data_dir,
            database_url,
            listen,
            base_url,
            theme_dir: over.theme_dir.or(file.theme_dir),
            trusted_proxies: file.trusted_proxies,
            locked_settings: locked,
            log_requests: file.log_requests.unwrap_or(true),
            db_connections: file.db_connections.unwrap_or(8),
            smtp_url: std::env::var("MASTHEAD_SMTP_URL")
                .ok()
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .or(file.smtp_url),
            mail_from: std::env::var("MASTHEAD_MAIL_FROM")
                .ok()
                .filter(|s| !s.is_empty())
                .or(file.mail_from),
            stripe: StripeConfig::from_env(file.stripe)?,
            newsletters: NewsletterConfig::from_file(file.newsletters)?,
            searches_per_minute: file
                .server
                .as_ref()
                .and_then(|s| s.searches_per_minute)
                .unwrap_or(60),
            page_cache_bytes: file
                .server
                .as_ref()
                .and_then(|s| s.page_cache_mb)
                .map_or(crate::cache::DEFAULT_BUDGET, |mb| {
                    usize::try_from(mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
                }),
            server: file.server.unwrap_or_default().limits(),
            import_allow_private_fetch: file
                .imports
                .as_ref()
                .and_then(|i| i.allow_private_fetch)
                .unwrap_or(false),
            import_max_bytes: file
                .imports
                .as_ref()
                .and_then(|i| i.max_upload_mb)
                .map_or(crate::newsroom::imports::MAX_EXPORT_BYTES, |mb| {
                    mb.saturating_mul(1024 * 1024)
                }),
        })
    }

    /// A configuration for tests and tools: everything under `data_dir`.
    pub fn for_data_dir(data_dir: &Path, database_url: &str) -> Config {
        Config {
            data_dir: data_dir.to_path_buf(),
            database_url: database_url.to_string(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            base_url: BaseUrl("http://127.0.0.1".to_string()),
            theme_dir: None,
            trusted_proxies: Vec::new(),
            locked_settings: BTreeMap::new(),
            log_requests: false,
            db_connections: 8,
            smtp_url: None,
            mail_from: None,
            stripe: StripeConfig {
                api_base: STRIPE_API_BASE.to_string(),
                keep_payload_days: crate::billing::PAYLOAD_DAYS,
                timeout_secs: STRIPE_TIMEOUT_SECS,
                ..Default::default()
            },
            newsletters: NewsletterConfig::default(),
            server: crate::serve::Limits::default(),
            searches_per_minute: 60,
            import_allow_private_fetch: false,
            import_max_bytes: crate::newsroom::imports::MAX_EXPORT_BYTES,
            page_cache_bytes: crate::cache::DEFAULT_BUDGET,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_origins_without_trailing_slash() {
        let b = BaseUrl::parse("https://news.example.com/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.join("/a"), "https://news.example.com/a");
        assert!(b.is_https());
        assert_eq!(b.host(), "news.example.com");
        assert!(BaseUrl::parse("http://127.0.0.1:8080/news").is_ok());
        for bad in [
            "news.example.com",
            "ftp://x",
            "https://",
            "https://x/?a",
            "https://x//y",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_secrets_are_refused_wherever_secrets_are_listed() {
        assert!(secret_list("whsec_new,", "X").is_err(), "trailing comma");
        assert!(secret_list("whsec_new, ,whsec_old", "X").is_err());
        assert!(secret_list(",", "X").is_err());
        let two = secret_list("whsec_new, whsec_old", "X").unwrap_or_default();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].expose(), "whsec_old");
        for text in [
            "[stripe]\nwebhook_secrets = [\"whsec_a\", \"\"]\n",
            "[stripe]\nsecret_key = \"\"\n",
            "[newsletters]\nbounce_token = \" \"\n",
            "smtp_url = \"\"\n",
        ] {
            let file: FileConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
            assert!(Config::build(file, Overrides::default()).is_err(), "{text}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("sk_live_123");
        assert_eq!(format!("{s:?}"), "Secret(**redacted**)");
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/m\"\n[publication]\nname = \"The Ledger\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = Config::build(
            file,
            Overrides {
                listen: Some("127.0.0.1:9100".into()),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:9100");
        assert_eq!(c.database_url, "sqlite:///srv/m/masthead.db");
        assert_eq!(
            c.locked_settings.get("name").map(String::as_str),
            Some("The Ledger")
        );
        assert!(
            toml::from_str::<FileConfig>("listn = 1").is_err(),
            "typos are errors"
        );
    }
}
