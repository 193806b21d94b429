//! Billing: Stripe. The subscription rule itself is pure and lives in
//! `masthead_core::billing::subscription`; here are the signature check,
//! the API client, Checkout and the webhook, which share `reconcile`.

pub mod account;
pub mod checkout;
pub mod signature;
pub mod stripe;
pub mod webhook;

use crate::app::AppState;
use masthead_core::billing::subscription::DEFAULT_GRACE_SECS;
use masthead_store::billing::{self as store, FetchedSubscription};

/// Fetches a subscription from Stripe and stores that snapshot (unless a
/// newer one is stored) with the grant it gives; with an event, marks the
/// event processed in the same transaction. Idempotent: the webhook and
/// the Checkout success page both call it. Returns false for a replayed
/// event.
pub async fn reconcile(
    state: &AppState,
    stripe: &stripe::Stripe,
    sub_id: &str,
    event: Option<(&str, &str)>,
    now: i64,
) -> anyhow::Result<bool> {
    // The fetch happens outside any transaction (on SQLite a transaction
    // held across a network call would block every writer).
    let fetched_at_ms = jiff::Timestamp::now().as_millisecond();
    let (facts, raw) = stripe.subscription(sub_id).await?;
    let db = state.db();
    let member_id = match facts.member_id {
        Some(m) => Some(m),
        None => store::find_member_by_customer(db, &facts.customer).await?,
    };
    let raw = raw.to_string();
    let mut tx = db.begin().await?;
    if let Some((id, kind)) = event {
        if !store::insert_event(&mut tx, id, kind, None, now).await? {
            return Ok(false);
        }
    }
    store::record_subscription(
        db,
        &mut tx,
        &FetchedSubscription {
            id: &facts.id,
            customer_id: &facts.customer,
            member_id,
            plan_id: None,
            status: facts.status,
            current_period_end: facts.current_period_end,
            cancel_at_period_end: facts.cancel_at_period_end,
            fetched_at_ms,
            raw: &raw,
        },
        DEFAULT_GRACE_SECS,
        now,
    )
    .await?;
    masthead_store::commit(tx).await?;
    state.sessions().clear();
    Ok(true)
}
