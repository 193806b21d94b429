//! Paying subscribers keep paying: after a member import has linked
//! Stripe customers to members, the account's subscriptions are listed
//! from Stripe a page (100) at a time, in every status, and each one whose
//! customer was imported is stored through the webhook's own
//! snapshot-and-grant path (`billing::record_listed`) — so entitlement,
//! plan and renewal date are right on day one and renewals keep arriving
//! by webhook — but as imported: no welcome email, no funnel count. A
//! price the plans table does not know becomes an archived plan (not
//! offered); one Masthead cannot express (weekly, every three months,
//! metered) still grants access and is listed in the report. A 429 is
//! waited out and the same page asked again. No transaction is open
//! across a call to Stripe.

use super::Report;
use crate::app::AppState;
use crate::billing::stripe::{ListPage, RateLimited, Stripe, SubscriptionFacts};
use masthead_core::billing::{Currency, Interval, Money};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Attempts at one page while Stripe rate-limits.
const ATTEMPTS: u32 = 8;

/// A Stripe Price as a plan here, or why it cannot be one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceFit {
    Plan {
        interval: Interval,
        price: Money,
        name: String,
    },
    /// Access is still granted; the newsroom is told.
    Inexpressible(String),
}

/// Whether a Price (Stripe's object) is a plan Masthead can express: a
/// licensed, fixed price billed every month or every year.
pub fn price_fit(price: &Value) -> PriceFit {
    let r = &price["recurring"];
    let every = r["interval_count"].as_i64().unwrap_or(1);
    let interval = match (r["interval"].as_str(), every) {
        (Some("month"), 1) => Interval::Month,
        (Some("year"), 1) => Interval::Year,
        (Some(i), n) if n > 1 => return PriceFit::Inexpressible(format!("billed every {n} {i}s")),
        (Some(i), _) => return PriceFit::Inexpressible(format!("billed every {i}")),
        (None, _) => return PriceFit::Inexpressible("not a recurring price".into()),
    };
    if r["usage_type"].as_str() == Some("metered") {
        return PriceFit::Inexpressible("metered usage".into());
    }
    let Some(amount) = price["unit_amount"].as_i64() else {
        return PriceFit::Inexpressible("no fixed amount (tiered or custom)".into());
    };
    let Ok(currency) = Currency::parse(price["currency"].as_str().unwrap_or("")) else {
        return PriceFit::Inexpressible(format!("currency {}", price["currency"]));
    };
    let Ok(money) = Money::new(amount, currency) else {
        return PriceFit::Inexpressible(format!("amount {amount}"));
    };
    let name = price["nickname"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(
            || format!("Imported {} plan", interval.as_str()),
            |n| n.chars().take(100).collect(),
        );
    PriceFit::Plan {
        interval,
        price: money,
        name,
    }
}

/// One page, waiting out rate limits.
async fn page(stripe: &Stripe, after: Option<&str>) -> anyhow::Result<ListPage> {
    let mut attempt = 0;
    loop {
        match stripe.list_subscriptions(after).await {
            Err(e) if attempt + 1 < ATTEMPTS => match e.downcast_ref::<RateLimited>() {
                Some(r) => {
                    let wait = r.retry_after.map_or_else(
                        || Duration::from_millis(250 << attempt).min(Duration::from_secs(8)),
                        |s| Duration::from_secs(s.min(30)),
                    );
                    tracing::info!(?wait, "Stripe is rate limiting the carry-over; waiting");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

/// The plan for a price, made (archived) when it is new and expressible;
/// `Err` with the reason when it is not.
async fn plan_for(state: &AppState, price: &Value) -> anyhow::Result<Result<i64, String>> {
    let db = state.db();
    let id = price["id"].as_str().unwrap_or_default();
    if let Some(plan) = masthead_store::billing::find_plan_by_price(db, id).await? {
        return Ok(Ok(plan));
    }
    match price_fit(price) {
        PriceFit::Inexpressible(why) => Ok(Err(why)),
        PriceFit::Plan {
            interval,
            price: money,
            name,
        } => {
            let slug: String = format!("imported-{id}")
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .take(80)
                .collect();
            let now = state.now();
            let plan = masthead_store::offers::NewPlan {
                slug: &slug,
                name: &name,
                interval,
                price: money,
                trial_days: None,
                includes: &[],
                position: 1000,
            };
            let plan_id = masthead_store::offers::upsert_plan(db, &plan, None, now).await?;
            masthead_store::offers::set_plan_price_id(db, plan_id, id).await?;
            masthead_store::offers::set_plan_active(db, &slug, false, None, now).await?;
            Ok(Ok(plan_id))
        }
    }
}

/// Carries over the subscriptions of `customers` (see the module docs).
pub async fn carry_over(
    state: &AppState,
    customers: &HashSet<String>,
    report: &mut Report,
) -> anyhow::Result<()> {
    if customers.is_empty() {
        return Ok(());
    }
    let Some(stripe) = state.stripe() else {
        report.partly(
            "subscriptions",
            "",
            "",
            format!(
                "Stripe is not configured here: the subscriptions of {} members with a Stripe customer were not carried over (configure [stripe] and run the import again)",
                customers.len()
            ),
        );
        return Ok(());
    };
    let mut after: Option<String> = None;
    let mut plans: HashMap<String, Result<i64, String>> = HashMap::new();
    loop {
        // Stamped before the list is asked for: a webhook fetched later
        // always wins.
        let fetched_at_ms = state.clock().timestamp().as_millisecond();
        let list = page(&stripe, after.as_deref()).await?;
        for v in &list.data {
            let customer = match &v["customer"] {
                Value::String(s) => s.as_str(),
                c => c["id"].as_str().unwrap_or_default(),
            };
            if !customers.contains(customer) {
                continue;
            }
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let facts = match SubscriptionFacts::from_object(v) {
                Ok(f) => f,
                Err(e) => {
                    report.skip("subscription", &id, customer, e.to_string());
                    continue;
                }
            };
            let price = &v["items"]["data"][0]["price"];
            if let Some(price_id) = price["id"].as_str() {
                if !plans.contains_key(price_id) {
                    let fit = plan_for(state, price).await?;
                    if let Err(why) = &fit {
                        report.partly(
                            "subscription",
                            &id,
                            customer,
                            format!("price {price_id} ({why}) has no plan here: access granted, renewals follow Stripe"),
                        );
                    }
                    plans.insert(price_id.to_string(), fit);
                }
            }
            let now = state.now();
            let recorded =
                crate::billing::record_listed(state, &facts, &v.to_string(), fetched_at_ms, now)
                    .await?;
            if recorded.applied {
                report.subscriptions += 1;
            }
        }
        match (
            list.has_more,
            list.data.last().and_then(|v| v["id"].as_str()),
        ) {
            (true, Some(last)) => after = Some(last.to_string()),
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prices_masthead_can_and_cannot_express() {
        let monthly = json!({"id": "price_1", "currency": "usd", "unit_amount": 1400,
            "nickname": "Digital", "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}});
        match price_fit(&monthly) {
            PriceFit::Plan {
                interval,
                price,
                name,
            } => {
                assert_eq!(interval, Interval::Month);
                assert_eq!(price.minor(), 1400);
                assert_eq!(name, "Digital");
            }
            other => panic!("{other:?}"),
        }
        let fit = |v: Value| match price_fit(&v) {
            PriceFit::Inexpressible(why) => why,
            PriceFit::Plan { .. } => "plan".into(),
        };
        assert_eq!(
            fit(json!({"currency": "eur", "unit_amount": 500, "recurring": {"interval": "week"}})),
            "billed every week"
        );
        assert_eq!(
            fit(
                json!({"currency": "eur", "unit_amount": 500, "recurring": {"interval": "month", "interval_count": 3}})
            ),
            "billed every 3 months"
        );
        assert_eq!(
            fit(
                json!({"currency": "eur", "recurring": {"interval": "month", "usage_type": "metered"}})
            ),
            "metered usage"
        );
        assert_eq!(
            fit(json!({"currency": "eur", "recurring": {"interval": "year"}})),
            "no fixed amount (tiered or custom)"
        );
        assert_eq!(
            fit(json!({"currency": "eur", "unit_amount": 5})),
            "not a recurring price"
        );
        assert_eq!(
            fit(json!({"currency": "eur", "unit_amount": 9900, "recurring": {"interval": "year"}})),
            "plan"
        );
    }
}
