//! A small client for Stripe's HTTP API: form-encoded requests, a pinned
//! `Stripe-Version`, an `Idempotency-Key` on every POST, errors read from
//! Stripe's error shape. Only what billing uses.

use crate::config::StripeConfig;
use anyhow::Context;
use masthead_core::billing::subscription::Status;
use serde_json::Value;
use std::time::Duration;

/// The API version every request pins. Create the webhook endpoint at the
/// same version (README).
pub const STRIPE_VERSION: &str = "2025-03-31.basil";

pub struct Stripe {
    http: reqwest::Client,
    base: String,
    key: crate::config::Secret,
}

/// A subscription as read from Stripe's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionFacts {
    pub id: String,
    pub customer: String,
    pub status: Status,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    /// `metadata.member_id`, set when Checkout created it.
    pub member_id: Option<i64>,
    /// The first item's Price: which of our plans this is.
    pub price_id: Option<String>,
    /// `metadata.article_id`: the article whose offer box led here.
    pub article_id: Option<i64>,
}

impl SubscriptionFacts {
    /// Reads the fields billing needs. Since API 2025-03-31 the current
    /// period lives on the items: the latest item end counts; the
    /// top-level field is read when an older object carries it.
    pub fn from_object(v: &Value) -> anyhow::Result<SubscriptionFacts> {
        let id = v["id"].as_str().context("subscription without id")?;
        let status = v["status"]
            .as_str()
            .and_then(Status::parse)
            .with_context(|| format!("subscription {id}: unknown status {}", v["status"]))?;
        let customer = match &v["customer"] {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        let item_end = v["items"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["current_period_end"].as_i64())
            .max();
        let current_period_end = item_end
            .or_else(|| v["current_period_end"].as_i64())
            .with_context(|| format!("subscription {id} has no current period end"))?;
        Ok(SubscriptionFacts {
            id: id.to_string(),
            customer,
            status,
            current_period_end,
            cancel_at_period_end: v["cancel_at_period_end"].as_bool().unwrap_or(false),
            member_id: v["metadata"]["member_id"]
                .as_str()
                .and_then(|s| s.parse().ok()),
            price_id: v["items"]["data"][0]["price"]["id"]
                .as_str()
                .map(String::from),
            article_id: v["metadata"]["article_id"]
                .as_str()
                .and_then(|s| s.parse().ok()),
        })
    }
}

/// `intent-digest`: the same for the same intent and parameters (FNV-1a
/// over the encoded pairs; a retry must find the key, not resist attack).
pub fn idempotency_key(intent: &str, params: &[(&str, String)]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in params {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([1]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{intent}-{h:016x}")
}

/// A page of a Stripe list.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub data: Vec<Value>,
    pub has_more: bool,
}

/// Stripe answered 429: too many requests; wait and ask again.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("Stripe asked us to slow down (429)")]
pub struct RateLimited {
    /// Seconds, when Stripe said.
    pub retry_after: Option<u64>,
}

impl Stripe {
    /// `None` when no secret key is configured.
    pub fn from_config(c: &StripeConfig) -> anyhow::Result<Option<Stripe>> {
        let Some(key) = c.secret_key.clone() else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(c.timeout_secs))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("building the Stripe HTTP client")?;
        Ok(Some(Stripe {
            http,
            base: c.api_base.trim_end_matches('/').to_string(),
            key,
        }))
    }

    async fn read(res: reqwest::Response, what: &str) -> anyhow::Result<Value> {
        let status = res.status();
        let body: Value = res.json().await.with_context(|| {
            format!("{what}: Stripe answered {status} with a body that is not JSON")
        })?;
        if !status.is_success() {
            let e = &body["error"];
            anyhow::bail!(
                "{what}: Stripe answered {status}: {} ({})",
                e["message"].as_str().unwrap_or("no message"),
                e["type"].as_str().unwrap_or("no type"),
            );
        }
        Ok(body)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.key.expose())
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await
            .with_context(|| format!("GET {path}: Stripe did not answer"))?;
        Self::read(res, &format!("GET {path}")).await
    }

    /// A POST with form parameters and an idempotency key: `intent` names
    /// what is being done (a retry of it reuses the key), and a digest of
    /// the parameters is appended, because Stripe refuses a key reused
    /// with other parameters (a reader who opens Checkout from a second
    /// article within the minute gets a session of their own).
    pub async fn post(
        &self,
        path: &str,
        params: &[(&str, String)],
        intent: &str,
    ) -> anyhow::Result<Value> {
        let key = idempotency_key(intent, params);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.key.expose())
            .header("Stripe-Version", STRIPE_VERSION)
            .header("Idempotency-Key", key)
            .form(params)
            .send()
            .await
            .with_context(|| format!("POST {path}: Stripe did not answer"))?;
        Self::read(res, &format!("POST {path}")).await
    }

    pub async fn delete(&self, path: &str, idempotency_key: &str) -> anyhow::Result<Value> {
        let res = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(self.key.expose())
            .header("Stripe-Version", STRIPE_VERSION)
            .header("Idempotency-Key", idempotency_key)
            .send()
            .await
            .with_context(|| format!("DELETE {path}: Stripe did not answer"))?;
        Self::read(res, &format!("DELETE {path}")).await
    }

    /// One page (100) of the account's subscriptions in every status,
    /// after `starting_after`; `RateLimited` when Stripe answers 429.
    pub async fn list_subscriptions(
        &self,
        starting_after: Option<&str>,
    ) -> anyhow::Result<ListPage> {
        let mut query = vec![("status", "all"), ("limit", "100")];
        if let Some(after) = starting_after {
            query.push(("starting_after", after));
        }
        let res = self
            .http
            .get(format!("{}/v1/subscriptions", self.base))
            .query(&query)
            .bearer_auth(self.key.expose())
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await
            .context("GET /v1/subscriptions: Stripe did not answer")?;
        if res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            return Err(RateLimited { retry_after }.into());
        }
        let v = Self::read(res, "GET /v1/subscriptions").await?;
        Ok(ListPage {
            data: v["data"].as_array().cloned().unwrap_or_default(),
            has_more: v["has_more"].as_bool().unwrap_or(false),
        })
    }

    pub async fn subscription(&self, id: &str) -> anyhow::Result<(SubscriptionFacts, Value)> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            anyhow::bail!("not a subscription id: {id:?}");
        }
        let v = self.get(&format!("/v1/subscriptions/{id}")).await?;
        Ok((SubscriptionFacts::from_object(&v)?, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_follow_the_intent_and_its_parameters() {
        let a = [
            ("customer", "cus_1".to_string()),
            ("mode", "subscription".to_string()),
        ];
        let b = [
            ("customer", "cus_1".to_string()),
            ("mode", "payment".to_string()),
        ];
        let k = idempotency_key("checkout-1", &a);
        assert_eq!(k, idempotency_key("checkout-1", &a), "a retry reuses it");
        assert!(k.starts_with("checkout-1-"));
        assert_ne!(
            k,
            idempotency_key("checkout-1", &b),
            "other parameters, other key"
        );
        assert_ne!(k, idempotency_key("checkout-2", &a));
        // Pairs are delimited: moving a character across a boundary changes the key.
        let c = [("ab", "c".to_string())];
        let d = [("a", "bc".to_string())];
        assert_ne!(idempotency_key("x", &c), idempotency_key("x", &d));
    }

    #[test]
    fn the_period_end_comes_from_the_items_since_basil() {
        let v = serde_json::json!({
            "id": "sub_1", "object": "subscription", "status": "active",
            "customer": "cus_1", "cancel_at_period_end": true,
            "metadata": {"member_id": "42"},
            "items": {"object": "list", "data": [
                {"id": "si_1", "current_period_end": 1_800_000_000, "price": {"id": "price_9", "object": "price"}},
                {"id": "si_2", "current_period_end": 1_800_000_100}
            ]}
        });
        let f = SubscriptionFacts::from_object(&v).unwrap();
        assert_eq!(f.current_period_end, 1_800_000_100);
        assert_eq!(f.member_id, Some(42));
        assert_eq!(f.price_id.as_deref(), Some("price_9"));
        assert!(f.cancel_at_period_end);
        let old = serde_json::json!({"id": "sub_2", "status": "past_due", "customer": {"id": "cus_2"},
            "current_period_end": 5, "items": {"data": []}});
        let f = SubscriptionFacts::from_object(&old).unwrap();
        assert_eq!(
            (f.current_period_end, f.customer.as_str(), f.status),
            (5, "cus_2", Status::PastDue)
        );
        assert!(SubscriptionFacts::from_object(
            &serde_json::json!({"id": "sub_3", "status": "weird"})
        )
        .is_err());
        assert!(SubscriptionFacts::from_object(
            &serde_json::json!({"id": "sub_4", "status": "active"})
        )
        .is_err());
    }
}
