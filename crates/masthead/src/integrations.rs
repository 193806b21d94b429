//! Mail (SMTP) and Stripe credentials as the running app uses them. The
//! operator's configuration (`masthead.toml` or the environment) wins and
//! locks a value; otherwise administrators may set it in the newsroom,
//! where it is write-only (never shown again, never logged). A change
//! applies at once: the mailer, the Stripe client and the CSP (Checkout's
//! origin in `form-action`) are rebuilt, here and, through the settings
//! counter, in every other process within a second.

use crate::billing::stripe::Stripe;
use crate::config::{Config, Secret, StripeConfig};
use crate::mail::Mailer;
use axum::http::HeaderValue;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The credentials staff may set: (key, what the form calls it).
pub const KEYS: [(&str, &str); 3] = [
    (
        "smtp_url",
        "SMTP server (smtp://user:password@host:587 or smtps://…)",
    ),
    (
        "stripe_secret_key",
        "Stripe secret key (sk_… or a restricted rk_… key)",
    ),
    (
        "stripe_webhook_secret",
        "Stripe webhook signing secret (whsec_…)",
    ),
];

/// Checks a credential's shape before it is stored (nothing is sent
/// anywhere); the reason is shown to the administrator.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    let v = value.trim();
    let ok = match key {
        "smtp_url" => {
            crate::newsletters::smtp::Target::parse(v).is_ok()
                && lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(v).is_ok()
        }
        "stripe_secret_key" => {
            (v.starts_with("sk_") || v.starts_with("rk_"))
                && v.len() > 10
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        "stripe_webhook_secret" => {
            v.starts_with("whsec_")
                && v.len() > 10
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        _ => return Err("is not a known credential".into()),
    };
    if ok {
        Ok(())
    } else {
        Err(match key {
            "smtp_url" => "must look like smtp://user:password@host:587 or smtps://user:password@host".into(),
            "stripe_secret_key" => "must be a Stripe secret key (sk_live_…, sk_test_…) or restricted key (rk_…)".into(),
            _ => "must be a webhook signing secret (whsec_…), from the webhook endpoint in Stripe's Dashboard".into(),
        })
    }
}

/// What the app sends mail and talks to Stripe with right now.
pub struct Live {
    pub smtp_url: Option<Secret>,
    pub stripe_config: StripeConfig,
    pub stripe: Option<Arc<Stripe>>,
    pub mailer: Arc<Mailer>,
    pub csp: HeaderValue,
    pub admin_csp: HeaderValue,
    /// Keys fixed by the operator's configuration.
    pub locked: BTreeSet<&'static str>,
    /// Keys that have a value (from either place).
    pub set: BTreeSet<&'static str>,
}

/// The effective credentials: configuration first, then what staff stored.
pub fn build(config: &Config, stored: &BTreeMap<String, String>) -> anyhow::Result<Live> {
    let from_db = |k: &str| {
        stored
            .get(k)
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim()))
    };
    let mut locked = BTreeSet::new();
    let mut set = BTreeSet::new();
    let smtp_url = match &config.smtp_url {
        Some(s) => {
            locked.insert("smtp_url");
            Some(s.clone())
        }
        None => from_db("smtp_url"),
    };
    let mut stripe_config = config.stripe.clone();
    if stripe_config.secret_key.is_some() {
        locked.insert("stripe_secret_key");
    } else {
        stripe_config.secret_key = from_db("stripe_secret_key");
    }
    if !stripe_config.webhook_secrets.is_empty() {
        locked.insert("stripe_webhook_secret");
    } else if let Some(s) = from_db("stripe_webhook_secret") {
        stripe_config.webhook_secrets = vec![s];
    }
    if smtp_url.is_some() {
        set.insert("smtp_url");
    }
    if stripe_config.secret_key.is_some() {
        set.insert("stripe_secret_key");
    }
    if !stripe_config.webhook_secrets.is_empty() {
        set.insert("stripe_webhook_secret");
    }
    Ok(Live {
        mailer: Arc::new(Mailer::new(config, smtp_url.as_ref())?),
        stripe: Stripe::from_config(&stripe_config)?.map(Arc::new),
        csp: crate::http::csp(&stripe_config, false),
        admin_csp: crate::http::csp(&stripe_config, true),
        smtp_url,
        stripe_config,
        locked,
        set,
    })
}

/// The credentials change use case: sets (`Some`) or removes (`None`)
/// checked values and writes the audit entry `settings.integrations` (key
/// names only, never values) in one transaction, then puts them in effect.
pub async fn save(
    state: &crate::app::AppState,
    changes: &[(&str, Option<String>)],
    by: masthead_store::newsroom::Actor<'_>,
    now: i64,
) -> Result<(), crate::http::AppError> {
    use crate::http::AppError;
    let mut tx = state.db().begin().await?;
    let mut detail = Vec::new();
    for (key, value) in changes {
        masthead_store::settings::set_integration_secret(&mut tx, key, value.as_deref(), now)
            .await?;
        detail.push(format!(
            "{key} {}",
            if value.is_some() { "set" } else { "removed" }
        ));
    }
    masthead_store::newsroom::audit(
        &mut tx,
        &by.audit(
            "settings.integrations",
            "settings",
            "integrations",
            &detail.join("; "),
        ),
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    state
        .reload_integrations()
        .await
        .map_err(AppError::Internal)?;
    state.refresh_counters().await.map_err(AppError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_checked_for_shape() {
        assert!(validate("smtp_url", "smtp://user:pw@mail.example:587").is_ok());
        assert!(validate("smtp_url", "smtps://mail.example").is_ok());
        assert!(validate("smtp_url", "http://mail.example").is_err());
        assert!(validate("stripe_secret_key", "sk_test_51abcdefGHIJ").is_ok());
        assert!(
            validate("stripe_secret_key", "pk_test_51abcdefGHIJ").is_err(),
            "a publishable key is not a secret key"
        );
        assert!(validate("stripe_secret_key", "sk_test_ab cd").is_err());
        assert!(validate("stripe_webhook_secret", "whsec_abcdefghijk").is_ok());
        assert!(validate("stripe_webhook_secret", "sk_test_51abcdefGHIJ").is_err());
        assert!(validate("anything", "x").is_err());
    }
}
