//! The account page's billing actions: the Billing Portal, cancelling at
//! the period end and resuming. Each goes to Stripe, then records the
//! subscription through `reconcile`.

use crate::access::reader::Viewer;
use crate::app::AppState;
use crate::http::forms::CsrfForm;
use crate::http::see_other;
use crate::http::{AppError, AppResult};
use crate::http::{Carries, Route};
use crate::members::check_csrf;
use axum::extract::State;
use axum::routing::post;
use axum::Form as PostForm;

pub fn routes() -> Vec<Route> {
    use Carries::NoText;
    vec![
        Route::new("/account/billing/portal", post(portal), NoText).private(),
        Route::new("/account/billing/cancel", post(cancel), NoText).private(),
        Route::new("/account/billing/resume", post(resume), NoText).private(),
    ]
}

fn failed(e: anyhow::Error) -> AppError {
    AppError::Internal(e.context("talking to Stripe"))
}

/// The signed-in member, their subscription (id, customer) and Stripe.
async fn context(
    state: &AppState,
    viewer: &Viewer,
    csrf: &str,
) -> Result<Option<(std::sync::Arc<super::stripe::Stripe>, String, String)>, AppError> {
    check_csrf(viewer, csrf)?;
    let (Some(stripe), Some(member)) = (state.stripe(), viewer.member()) else {
        return Ok(None);
    };
    Ok(
        masthead_store::billing::find_member_subscription(state.db(), member.id)
            .await?
            .map(|s| (stripe, s.id, s.customer_id)),
    )
}

async fn portal(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    let Some((stripe, _, customer)) = context(&state, &viewer, &f.csrf).await? else {
        return Ok(see_other("/account"));
    };
    let minute = state.now() / 60;
    let v = stripe
        .post(
            "/v1/billing_portal/sessions",
            &[
                ("customer", customer.clone()),
                ("return_url", state.config().base_url.join("/account")),
            ],
            &format!("portal-{customer}-{minute}"),
        )
        .await
        .map_err(failed)?;
    let url = v["url"]
        .as_str()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a portal session without a url")))?;
    Ok(see_other(url))
}

async fn set_cancel(state: &AppState, viewer: &Viewer, csrf: &str, cancel: bool) -> AppResult {
    let Some((stripe, id, _)) = context(state, viewer, csrf).await? else {
        return Ok(see_other("/account"));
    };
    let minute = state.now() / 60;
    stripe
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[("cancel_at_period_end", cancel.to_string())],
            &format!("cancel-{id}-{cancel}-{minute}"),
        )
        .await
        .map_err(failed)?;
    super::reconcile(state, &stripe, &id, None, state.now())
        .await
        .map_err(failed)?;
    Ok(see_other(if cancel {
        "/account?done=canceled"
    } else {
        "/account?done=resumed"
    }))
}

async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    set_cancel(&state, &viewer, &f.csrf, true).await
}

async fn resume(
    State(state): State<AppState>,
    viewer: Viewer,
    PostForm(f): PostForm<CsrfForm>,
) -> AppResult {
    set_cancel(&state, &viewer, &f.csrf, false).await
}

/// Before an account is deleted: a live subscription is cancelled at
/// Stripe at once (so nobody is charged for an account that is gone).
/// Returns whether one was cancelled.
pub async fn cancel_before_deletion(state: &AppState, member_id: i64) -> anyhow::Result<bool> {
    let Some(stripe) = state.stripe() else {
        return Ok(false);
    };
    if !masthead_store::billing::has_live_subscription(state.db(), member_id).await? {
        return Ok(false);
    }
    let Some(id) = masthead_store::billing::find_member_subscription(state.db(), member_id)
        .await?
        .map(|s| s.id)
    else {
        return Ok(false);
    };
    stripe
        .delete(&format!("/v1/subscriptions/{id}"), &format!("delete-{id}"))
        .await?;
    super::reconcile(state, &stripe, &id, None, state.now()).await?;
    Ok(true)
}
