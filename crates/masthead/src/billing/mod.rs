//! Billing: Stripe. The subscription rule itself is pure and lives in
//! `masthead_core::billing::subscription`; here are the signature check,
//! the API client, Checkout and the webhook, which share `reconcile`.

pub mod account;
pub mod checkout;
mod serial;
pub mod signature;
pub mod stripe;
pub mod webhook;

use crate::app::AppState;
use masthead_core::billing::subscription::{Status, DEFAULT_GRACE_SECS};
use masthead_store::billing::{self as store, FetchedSubscription};
use masthead_store::members::{FunnelCounts, OutgoingEmail};
use masthead_store::offers::Plan;
pub use serial::Serial;

/// The webhook event a reconcile answers, marked processed with it.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    /// The event as received, kept `PAYLOAD_DAYS` and scrubbed with the
    /// account.
    pub payload: &'a str,
}

/// Fetches a subscription from Stripe and stores that snapshot (unless a
/// newer one is stored) with the grant it gives; with an event, marks the
/// event processed in the same transaction. A subscription that starts
/// queues the welcome email and counts in the funnel in that transaction
/// too; one that ends counts as a cancellation. Idempotent: the webhook,
/// the Checkout success page and the account page all call it. Returns
/// false for a replayed event.
pub async fn reconcile(
    state: &AppState,
    stripe: &stripe::Stripe,
    sub_id: &str,
    event: Option<Notice<'_>>,
    now: i64,
) -> anyhow::Result<bool> {
    // One reconcile per subscription at a time, from the moment its fetch
    // is stamped until its snapshot is stored, so a later stamp always
    // means a later state: in this process by a lock per subscription,
    // and across processes on PostgreSQL by an advisory lock held by the
    // transaction that stores it. On SQLite (one process) the write
    // transaction opens only after the fetch: held across a network call
    // it would block every writer.
    let _serial = state.billing_serial().lock(sub_id).await;
    let db = state.db();
    let early = match db.backend() {
        masthead_store::Backend::Postgres => {
            let mut tx = db.begin().await?;
            store::lock_subscription(db, &mut tx, sub_id).await?;
            Some(tx)
        }
        masthead_store::Backend::Sqlite => None,
    };
    let fetched_at_ms = state.clock().timestamp().as_millisecond();
    let (facts, raw) = stripe.subscription(sub_id).await?;
    let tx = match early {
        Some(tx) => tx,
        None => db.begin().await?,
    };
    let recorded = store_fetched(
        state,
        tx,
        &facts,
        &raw.to_string(),
        fetched_at_ms,
        event,
        Arrival::Live,
        now,
    )
    .await?;
    Ok(recorded.is_some())
}

/// How a subscription snapshot arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// From this site's Checkout, a webhook or the account page: one that
    /// starts welcomes the subscriber and counts in the funnel.
    Live,
    /// Carried over from the old platform: its subscriber was already
    /// paying, so no welcome email and no funnel count.
    Imported,
}

/// Stores a subscription listed from Stripe (fetched at `fetched_at_ms`,
/// stamped before the list was asked for) through the same path as a
/// webhook's, under the same per-subscription lock. `None`: a newer
/// snapshot was already stored.
pub async fn record_listed(
    state: &AppState,
    facts: &stripe::SubscriptionFacts,
    raw: &str,
    fetched_at_ms: i64,
    now: i64,
) -> anyhow::Result<store::Recorded> {
    let _serial = state.billing_serial().lock(&facts.id).await;
    let db = state.db();
    let mut tx = db.begin().await?;
    if db.backend() == masthead_store::Backend::Postgres {
        store::lock_subscription(db, &mut tx, &facts.id).await?;
    }
    let recorded = store_fetched(
        state,
        tx,
        facts,
        raw,
        fetched_at_ms,
        None,
        Arrival::Imported,
        now,
    )
    .await?;
    Ok(recorded.unwrap_or_default())
}

/// The rest of a reconcile, in `tx`: the event marked processed (`None`
/// when it was already), the snapshot and its grant, and for a live
/// arrival the funnel counts and the welcome email.
#[allow(clippy::too_many_arguments)]
async fn store_fetched(
    state: &AppState,
    mut tx: masthead_store::Tx,
    facts: &stripe::SubscriptionFacts,
    raw: &str,
    fetched_at_ms: i64,
    event: Option<Notice<'_>>,
    arrival: Arrival,
    now: i64,
) -> anyhow::Result<Option<store::Recorded>> {
    let db = state.db();
    let member_id = match facts.member_id {
        Some(m) => Some(m),
        None => store::find_member_by_customer(db, &facts.customer).await?,
    };
    let plan_id = match &facts.price_id {
        Some(p) => store::find_plan_by_price(db, p).await?,
        None => None,
    };
    if let Some(e) = event {
        let event = store::Event {
            id: e.id,
            kind: e.kind,
            payload: Some(e.payload),
            customer_id: Some(&facts.customer),
        };
        if !store::insert_event(&mut tx, &event, now).await? {
            return Ok(None);
        }
    }
    let recorded = store::record_subscription(
        db,
        &mut tx,
        &FetchedSubscription {
            id: &facts.id,
            customer_id: &facts.customer,
            member_id,
            plan_id,
            status: facts.status,
            current_period_end: facts.current_period_end,
            cancel_at_period_end: facts.cancel_at_period_end,
            fetched_at_ms,
            raw,
        },
        DEFAULT_GRACE_SECS,
        now,
    )
    .await?;
    let live = arrival == Arrival::Live;
    if live && (recorded.started || recorded.ended) {
        let counts = FunnelCounts {
            subscriptions: i64::from(recorded.started),
            cancellations: i64::from(recorded.ended),
            ..FunnelCounts::default()
        };
        let hour = now - now.rem_euclid(3600);
        let article = facts.article_id.unwrap_or(0);
        masthead_store::members::add_funnel_counts_in(&mut tx, article, hour, &counts).await?;
    }
    if live && recorded.started {
        // Read through the pool: neither row changes here.
        let member = match recorded.member_id {
            Some(m) => masthead_store::members::find_member(db, m).await?,
            None => None,
        };
        if let Some((m, _)) = member {
            let plan = match plan_id {
                Some(p) => masthead_store::offers::find_plan(db, p).await?,
                None => None,
            };
            let mail = welcome_email(state, &m.email, plan.as_ref(), facts)?;
            masthead_store::members::queue_email(&mut tx, &mail, now).await?;
        }
    }
    masthead_store::commit(tx).await?;
    Ok(Some(recorded))
}

/// Payloads of webhook events are kept this many days by default.
pub const PAYLOAD_DAYS: i64 = 90;

/// Forgets webhook payloads older than the configured number of days (run
/// hourly by the server). Returns how many were scrubbed.
pub async fn scrub_old_payloads(state: &AppState) -> anyhow::Result<u64> {
    let days = state.config().stripe.keep_payload_days;
    let before = state.now() - days * 86_400;
    let n = store::scrub_event_payloads(state.db(), before).await?;
    if n > 0 {
        tracing::info!(scrubbed = n, days, "forgot old Stripe webhook payloads");
    }
    Ok(n)
}

fn welcome_email(
    state: &AppState,
    to: &str,
    plan: Option<&Plan>,
    facts: &stripe::SubscriptionFacts,
) -> anyhow::Result<OutgoingEmail> {
    let name = state.settings().get().publication.name.clone();
    let account = state.config().base_url.join("/account");
    let plan = plan.map(|p| {
        format!(
            "{}, {} a {}",
            p.name,
            p.price.display(),
            p.interval.as_str()
        )
    });
    let when = crate::site::view::time(
        state,
        jiff::Timestamp::from_second(facts.current_period_end).unwrap_or_default(),
    )
    .display;
    let trial = facts.status == Status::Trialing;
    let ctx = minijinja::context! { name, account, plan, when, trial };
    crate::mail::account_email(state, "subscriber_welcome", to, ctx)
}
