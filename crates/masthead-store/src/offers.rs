//! Plans and newsletters: what the offer box lists. Read here; billing and
//! newsletters add their management.

use crate::settings::{bump_counter, CONTENT};
use crate::{Db, Result, StoreError};
use masthead_core::billing::{Currency, Interval, Money};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub interval: Interval,
    pub price: Money,
    pub trial_days: Option<u32>,
    pub includes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewPlan<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub interval: Interval,
    pub price: Money,
    pub trial_days: Option<u32>,
    pub includes: &'a [String],
    pub position: i64,
}

/// Creates a plan, or updates its name and lines. A changed price,
/// currency or interval is refused: that is a new plan.
pub async fn upsert_plan(
    db: &Db,
    p: &NewPlan<'_>,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let includes = serde_json::to_string(p.includes).unwrap_or_else(|_| "[]".into());
    let existing = sqlx::query("SELECT id, interval, amount, currency FROM plans WHERE slug = $1")
        .bind(p.slug)
        .fetch_optional(&mut *tx)
        .await?;
    let id = match existing {
        Some(row) => {
            let interval: String = row.try_get("interval")?;
            let amount: i64 = row.try_get("amount")?;
            let currency: String = row.try_get("currency")?;
            if interval != p.interval.as_str()
                || amount != p.price.minor()
                || currency != p.price.currency().code()
            {
                return Err(StoreError::Conflict(format!(
                    "plan {:?} has a different price; a new price is a new plan",
                    p.slug
                )));
            }
            let id: i64 = row.try_get("id")?;
            sqlx::query(
                "UPDATE plans SET name = $2, trial_days = $3, includes = $4, position = $5, updated_at = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(p.name)
            .bind(p.trial_days.map(i64::from))
            .bind(&includes)
            .bind(p.position)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            id
        }
        None => {
            let row = sqlx::query(
                "INSERT INTO plans (slug, name, interval, amount, currency, active, trial_days, includes, position, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(p.slug)
            .bind(p.name)
            .bind(p.interval.as_str())
            .bind(p.price.minor())
            .bind(p.price.currency().code())
            .bind(p.trial_days.map(i64::from))
            .bind(&includes)
            .bind(p.position)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            row.try_get("id")?
        }
    };
    bump_counter(&mut tx, CONTENT).await?;
    if let Some(a) = audit {
        crate::newsroom::audit(&mut tx, a, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

fn plan_from(r: &sqlx::any::AnyRow) -> Result<Plan> {
    let currency: String = r.try_get("currency")?;
    let currency = Currency::parse(&currency).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let amount: i64 = r.try_get("amount")?;
    let interval: String = r.try_get("interval")?;
    let includes: String = r.try_get("includes")?;
    let trial: Option<i64> = r.try_get("trial_days")?;
    Ok(Plan {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        interval: Interval::parse(&interval)
            .ok_or_else(|| StoreError::Corrupt(format!("plan interval {interval:?}")))?,
        price: Money::new(amount, currency).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        trial_days: trial.and_then(|t| u32::try_from(t).ok()),
        includes: serde_json::from_str(&includes).unwrap_or_default(),
    })
}

const PLAN_COLUMNS: &str = "id, slug, name, interval, amount, currency, trial_days, includes";

/// Active plans in display order.
pub async fn list_active_plans(db: &Db) -> Result<Vec<Plan>> {
    let rows = sqlx::query(&format!(
        "SELECT {PLAN_COLUMNS} FROM plans WHERE active = 1 ORDER BY position, id"
    ))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(plan_from).collect()
}

/// One plan by id, active or not.
pub async fn find_plan(db: &Db, id: i64) -> Result<Option<Plan>> {
    let row = sqlx::query(&format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(plan_from).transpose()
}

/// A plan as the newsroom manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    pub plan: Plan,
    pub active: bool,
    pub stripe_price_id: Option<String>,
    /// Subscriptions ever recorded on it.
    pub subscriptions: i64,
}

/// Every plan, active or not, in display order.
pub async fn list_plans(db: &Db) -> Result<Vec<PlanRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {PLAN_COLUMNS}, active, stripe_price_id, \
         (SELECT COUNT(*) FROM subscriptions s WHERE s.plan_id = plans.id) AS subs \
         FROM plans ORDER BY position, id"
    ))
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PlanRecord {
                plan: plan_from(r)?,
                active: r.try_get::<i64, _>("active")? != 0,
                stripe_price_id: r.try_get("stripe_price_id")?,
                subscriptions: r.try_get("subs")?,
            })
        })
        .collect()
}

/// Offers a plan again or stops offering it (readers already on it keep
/// their subscription). False when there is no such plan.
pub async fn set_plan_active(
    db: &Db,
    slug: &str,
    active: bool,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let r = sqlx::query("UPDATE plans SET active = $1, updated_at = $2 WHERE slug = $3")
        .bind(i64::from(active))
        .bind(now)
        .bind(slug)
        .execute(&mut *tx)
        .await?;
    bump_counter(&mut tx, CONTENT).await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(a) = audit {
        crate::newsroom::audit(&mut tx, a, now).await?;
    }
    tx.commit().await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Newsletter {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// `members` or `subscribers`.
    pub audience: String,
    pub on_signup: bool,
}

#[derive(Debug, Clone)]
pub struct NewNewsletter<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub sender_name: &'a str,
    pub sender_email: &'a str,
    pub reply_to: &'a str,
    pub audience: &'a str,
    pub on_signup: bool,
    pub position: i64,
}

pub async fn upsert_newsletter(
    db: &Db,
    n: &NewNewsletter<'_>,
    audit: Option<&crate::newsroom::Audit<'_>>,
    now: i64,
) -> Result<i64> {
    if !matches!(n.audience, "members" | "subscribers") {
        return Err(StoreError::Conflict(format!(
            "audience must be members or subscribers, got {:?}",
            n.audience
        )));
    }
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO newsletters (slug, name, description, sender_name, sender_email, reply_to, audience, \
         on_signup, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (slug) DO UPDATE SET name = excluded.name, description = excluded.description, \
         sender_name = excluded.sender_name, sender_email = excluded.sender_email, reply_to = excluded.reply_to, \
         audience = excluded.audience, on_signup = excluded.on_signup, position = excluded.position, \
         updated_at = excluded.updated_at RETURNING id",
    )
    .bind(n.slug)
    .bind(n.name)
    .bind(n.description)
    .bind(n.sender_name)
    .bind(n.sender_email)
    .bind(n.reply_to)
    .bind(n.audience)
    .bind(i64::from(n.on_signup))
    .bind(n.position)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    bump_counter(&mut tx, CONTENT).await?;
    if let Some(a) = audit {
        crate::newsroom::audit(&mut tx, a, now).await?;
    }
    tx.commit().await?;
    Ok(row.try_get("id")?)
}

pub async fn list_newsletters(db: &Db) -> Result<Vec<Newsletter>> {
    let rows = sqlx::query(
        "SELECT id, slug, name, description, audience, on_signup FROM newsletters ORDER BY position, id",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            let on: i64 = r.try_get("on_signup")?;
            Ok(Newsletter {
                id: r.try_get("id")?,
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                audience: r.try_get("audience")?,
                on_signup: on != 0,
            })
        })
        .collect()
}

/// The Stripe Price a plan maps to, once created.
pub async fn find_plan_price_id(db: &Db, plan_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT stripe_price_id FROM plans WHERE id = $1")
        .bind(plan_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.and_then(|r| r.try_get("stripe_price_id").ok().flatten()))
}

pub async fn set_plan_price_id(db: &Db, plan_id: i64, price_id: &str) -> Result<()> {
    sqlx::query("UPDATE plans SET stripe_price_id = $1 WHERE id = $2 AND stripe_price_id IS NULL")
        .bind(price_id)
        .bind(plan_id)
        .execute(db.writer())
        .await?;
    Ok(())
}
